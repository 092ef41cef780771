// Package invite finds what a meeting room dials from a calendar
// invitation: the LOCATION, DESCRIPTION, URL and the HTML body Outlook
// sends (X-ALT-DESC) of an event, as Zoom, Webex, Microsoft Teams (with
// a Cloud Video Interop block), Google Meet (with an interop gateway),
// Jitsi and roomd itself write them.
//
// # Priority
//
// As room-system calendar parsers do: a link roomd joins directly
// (janus+, whip+) first; then the service's own SIP address written in
// the invitation (123456789@zoomcrc.com, 123456789@site.webex.com, a
// sip: link); then gateway and IVR forms that need DTMF (a Teams CVI
// address and its Video Conference ID) and meeting IDs turned into
// addresses by the organisation's [DialRules]. An invitation with
// nothing dialable gets a reason for the panel's "cannot join from this
// room".
//
// # Passcodes
//
// A passcode found in the invitation (Passcode:, Password:, PIN:, or
// the passcode in Zoom's meeting.passcode@zoomcrc.com) goes to
// [meetinglink.Link.Secret], never into the link that is shown; the
// link then defaults to sips:. The calendar keeps it where it keeps
// every meeting's passcode.
//
// # Bounds
//
// Invitations come from outside the room: each field is read up to
// [MaxText] bytes, HTML in one linear pass ([Text]), and every pattern is
// a regexp (linear time). docs/schedule.md describes the forms.
package invite
