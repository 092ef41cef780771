package apply

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/roomd/roomd/internal/testtool"
	"github.com/roomd/roomd/meetinglink/invite"
	"github.com/roomd/roomd/provisioning"
	"github.com/roomd/roomd/room"
	"github.com/roomd/roomd/schedule"
)

// zoomInvite is a calendar with one Zoom meeting whose invitation has no
// SIP address: the room can join it only by a Zoom connector dial rule.
const zoomInvite = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//roomd//test//EN\r\n" +
	"BEGIN:VEVENT\r\nUID:zoom\r\nSUMMARY:Design review\r\n" +
	"DTSTART:20261207T100000Z\r\nDTEND:20261207T110000Z\r\n" +
	"LOCATION:https://example.zoom.us/j/81234567890?pwd=x\r\n" +
	"DESCRIPTION:Meeting ID: 812 3456 7890\\nPasscode: 314159\r\n" +
	"DTSTAMP:20261201T000000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"

// The bundle's meeting.dial_rules reach the schedule: the calendar's
// Zoom meeting becomes joinable by the fleet's connector rule; a bundle
// without rules returns to the configuration file's; rules that do not
// validate fail the bundle (so the client rolls it back) and change
// nothing.
func TestApplierDialRules(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	rm := room.New(room.Options{})
	roomDone := make(chan struct{})
	go func() { rm.Run(ctx); close(roomDone) }()
	<-rm.Ready()
	local := invite.DialRules{Zoom: invite.Rule{Dial: "{meeting}@zoom.local.example"}}
	runner, err := schedule.New(schedule.Options{Room: rm, Config: schedule.Config{RoomZone: "UTC", DialRules: local},
		Clock: clockwork.NewFakeClockAt(time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)),
		Trust: schedule.ClockTrustFunc(func(time.Time) bool { return true })})
	if err != nil {
		t.Fatal(err)
	}
	if err := runner.SetFleetCalendar([]byte(zoomInvite)); err != nil {
		t.Fatal(err)
	}
	runDone := make(chan error, 1)
	go func() { runDone <- runner.Run(ctx) }()
	t.Cleanup(func() {
		runner.Close()
		if err := <-runDone; err != nil {
			t.Errorf("Run: %v", err)
		}
		cancel()
		<-roomDone
	})
	listed := func(what, uri string) {
		t.Helper()
		deadline := time.Now().Add(3 * time.Second)
		for {
			ms := rm.Snapshot().NextMeetings
			if len(ms) == 1 && ms[0].URI == uri {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: the room lists %+v, want one meeting at %q", what, ms, uri)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	listed("the configuration's rule", "sips:81234567890@zoom.local.example")

	var logs testtool.LockedBuffer
	a := New(Targets{Schedule: runner}, logOf(&logs))
	fleet := &invite.DialRules{Zoom: invite.Rule{Dial: "{meeting}@zoomcrc.com"}}
	if err := a.Apply(context.Background(), provisioning.Config{Meeting: provisioning.MeetingConfig{DialRules: fleet}}); err != nil {
		t.Fatal(err)
	}
	listed("the fleet's rule", "sips:81234567890@zoomcrc.com")

	bad := &invite.DialRules{Zoom: invite.Rule{Dial: "{passcode}@zoomcrc.com"}}
	err = a.Apply(context.Background(), provisioning.Config{Meeting: provisioning.MeetingConfig{DialRules: bad}})
	if err == nil || !strings.Contains(err.Error(), "dial_rules.zoom") {
		t.Fatalf("rules that do not validate: %v", err)
	}
	listed("refused rules change nothing", "sips:81234567890@zoomcrc.com")

	if err := a.Apply(context.Background(), provisioning.Config{}); err != nil {
		t.Fatal(err)
	}
	listed("back to the configuration's rule", "sips:81234567890@zoom.local.example")

	// A room without a schedule takes the bundle and says why the rules
	// do nothing.
	none := New(Targets{}, logOf(&logs))
	if err := none.Apply(context.Background(), provisioning.Config{Meeting: provisioning.MeetingConfig{DialRules: fleet}}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "dial rules have nothing to apply to") {
		t.Error("dial rules for a room without a schedule, and the log does not say so")
	}
	if strings.Contains(logs.String(), "314159") {
		t.Error("the passcode reached the log")
	}
}
