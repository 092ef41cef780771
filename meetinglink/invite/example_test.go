package invite_test

import (
	"fmt"

	"github.com/roomd/roomd/meetinglink/invite"
)

func ExampleExtract() {
	ev := invite.Event{
		Location: "https://example.zoom.us/j/81234567890?pwd=abc",
		Description: "Meeting ID: 812 3456 7890\nPasscode: 314159\n\n" +
			"Join by SIP\n81234567890@zoomcrc.com\n",
	}
	d := invite.Extract(ev, invite.DialRules{})
	fmt.Println(d.Link.URI, d.Service, d.From)
	fmt.Println("DTMF after connecting carries the passcode:", d.Link.DialDTMF() == "314159#")

	teams := invite.Event{Description: "https://teams.microsoft.com/l/meetup-join/x\nMeeting ID: 312 456 789 012"}
	fmt.Println(invite.Extract(teams, invite.DialRules{}).Why)

	rules := invite.DialRules{Zoom: invite.Rule{Dial: "{meeting}.{passcode}@zoomcrc.com"}}
	noSIP := invite.Event{Location: "https://example.zoom.us/j/81234567890", Description: "Passcode: 314159"}
	d = invite.Extract(noSIP, rules)
	fmt.Println(d.Link.URI, d.From)
	// Output:
	// sips:81234567890@zoomcrc.com zoom sip
	// DTMF after connecting carries the passcode: true
	// a Microsoft Teams meeting without a video conferencing device block (Video Conference ID); the organiser's tenant has no Cloud Video Interop
	// sips:81234567890@zoomcrc.com;passcode-via=user dial-rule
}
