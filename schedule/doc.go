// Package schedule turns the room's calendar into what the room should do:
// which meetings to list, which to offer for one-touch join, and which to
// join and leave by itself.
//
// # Calendars
//
// [ParseICS] reads an iCalendar (RFC 5545) feed, as Microsoft 365/Exchange,
// Google Calendar and Nextcloud publish it, with go-ical; a [Calendar]
// expands it over any window into [Occurrence]s with rrule-go: RRULE,
// RDATE, EXDATE, RECURRENCE-ID overrides, cancelled series and instances,
// TZID zones (IANA names, Windows names, or the feed's VTIMEZONE), floating
// times and all-day dates in the room's zone. Feeds come from outside the
// room, so parsing is bounded: oversized lines, deep nesting, rules that
// repeat more often than daily or never match, and floods of events or
// instances are cut, never followed.
//
// # Links
//
// [FindDial] finds what the room dials for an event, from its URL,
// LOCATION, DESCRIPTION and Outlook's HTML body (X-ALT-DESC), with the
// organisation's dial rules (Config.DialRules, [Runner.SetDialRules]):
// package meetinglink/invite reads the invitations of Zoom, Webex, Teams
// (CVI), Meet (interop gateways) and Jitsi. roomd's own forms are
// janus+wss:// (and janus+ws://), whip+https:// and, recognised but not yet
// joinable, livekit+wss://; SIP meetings are sip: and sips: links. A PIN,
// token or passcode is split into the meeting's passcode and never shown or
// logged. A meeting the room cannot dial is listed with the reason.
//
// # Join policy
//
// [Plan] is the pure decision of what the room does at a given time; a
// [Runner] runs it on a clock, reports [room.ScheduleReported] to the room
// and sends [room.Join] and [room.Leave] from [room.FromSchedule]. It never
// joins anything that is not on the calendar, never interrupts a call it did
// not start, and does nothing automatically until the clock is trusted
// ([ClockTrust]).
//
// # Offline
//
// The Runner refreshes the feed with conditional requests, a jittered
// interval and exponential backoff, keeps the last good schedule in its
// state directory (mode 0600: links carry passcodes) and goes on joining
// from it while the feed is unreachable, reporting since when it is stale.
//
// # Fleet
//
// An enrolled room's fleet configuration may add a calendar
// ([Runner.SetFleetCalendar]) or a feed the Runner fetches like its own
// ([Runner.SetFleetFeed]), and set the room's time zone ([Runner.SetZone]),
// all while it runs.
//
// docs/schedule.md describes the configuration and behaviour.
package schedule
