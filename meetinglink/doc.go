// Package meetinglink is roomd's one grammar for meeting links: the
// calendar, the call engine and every control surface (serial console,
// control socket, panel) read links with it, so that a link is joinable,
// refused or shown the same way wherever it comes from.
//
// # Forms
//
// docs/schedule.md is the reference; in short:
//
//	janus+wss://host[:port][/path]?room=<number>[&pin=<pin>]    Janus VideoRoom over its WebSocket API
//	janus+ws://host[:port][/path]?room=<number>[&pin=<pin>]     the same without TLS
//	whip+https://host/path?whep=<url-encoded WHEP URL>[&token=<bearer>]   WHIP to publish, WHEP to receive
//	whip+http://<loopback>/path?whep=<...>                      the same on the room's own loopback only
//	livekit+wss://host?room=<name>&token=<jwt>                  recognised, not supported yet
//	sip:[user@]host[:port][;transport=udp|tcp|tls][;dtmf=<digits>][;passcode-via=dtmf|user]   SIP video call
//	sips:…                                                       the same over TLS
//	https://teams.microsoft.com/…, zoom.us, meet.google.com, webex.com, meet.jit.si   recognised, not joinable
//	http(s)://anything else                                      a web page, not a meeting link
//
// # Secrets
//
// A link's secret (a Janus pin=, a WHIP or LiveKit token=) is moved out of
// the link into [Link.Secret]; [Link.URI] keeps only the parameters the
// provider needs, so it can be shown in status, events and logs. A link
// with a user name or password before its host is refused with
// [ErrCredentials] and its error never repeats the link.
//
// A SIP link never carries its passcode: sip:user:password@host and a
// ;pin= (;passcode=, ;pwd=, …) parameter are refused. The passcode of a
// SIP meeting is the meeting's passcode, kept apart, and [SIPLink] builds
// the link with it in [Link.Secret]; [Link.DialUser] and [Link.DialDTMF]
// say what the SIP signalling sends.
//
// # Providers
//
// Each provider's URL schemes are read by a [Scheme]; a [Registry] built
// from schemes parses links. [Standard] builds the registry of roomd's
// providers and [Parse] uses it. Registries are immutable once built.
package meetinglink
