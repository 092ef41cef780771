// Package ua is roomd's SIP signalling layer: a user agent built on
// github.com/emiago/sipgo that listens on UDP, TCP and TLS, registers to a
// registrar with digest authentication, places and answers calls, and keeps
// their dialogs (hold/resume, session timers, INFO) until one side hangs
// up.
//
// It knows nothing of media: SDP travels as opaque bytes between the
// dialog and a Negotiator the caller gives each call (media/sip/sdp
// implements it), so this package only moves offers and answers and
// reports what the far end asked for.
//
// # Lifecycle
//
// New checks the configuration and opens the listeners; Run serves them and
// keeps the registration until its context ends, then unregisters; Close
// releases the sockets. Dial places a call; an inbound INVITE that the
// Policy lets through reaches Config.OnIncoming as an IncomingCall the room
// accepts or declines.
//
// # Failures
//
// Every final failure of a call is a *CallError with the SIP status, a
// user-facing reason, and one of this package's sentinel errors
// (ErrNotFound, ErrBusy ...), which Classify maps onto the provider
// failure classes of media/call/provider.
//
// # Secrets
//
// The account password is a Secret: it prints as "[redacted]" with every
// fmt verb and is only revealed to compute a digest response.
package ua
