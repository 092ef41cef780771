// Package janus joins a Janus VideoRoom (Janus 1.x, multistream) over its
// WebSocket API, subprotocol janus-protocol, with pion/webrtc peer
// connections that the media engine makes.
//
// # Flow
//
// Join dials the server, creates a Janus session, attaches a handle to
// janus.plugin.videoroom and joins the room as a publisher with the room PIN
// and the room's display name. Publish sends the engine's offer in a
// configure request and applies Janus' answer. For every other publisher,
// those present at join time and those announced later, the session attaches
// a handle of its own, joins it as a subscriber to that feed, lets the engine
// prepare a fresh PeerConnection (Options.OnRemote, where OnTrack is set),
// answers Janus' offer and starts the subscription. A publisher that leaves
// or unpublishes ends its Remote with ErrFeedGone. Leave leaves the room,
// detaches every handle and destroys the session.
//
// # ICE
//
// Candidates are trickled: the offer or answer goes out at once and each
// local candidate follows in a trickle request as pion finds it, then
// "completed". Waiting for gathering to complete would add the whole
// gathering time (seconds with a slow STUN server) to every join and every
// subscription; Janus itself gathers before it answers (half-trickle), so
// its SDP already carries its candidates. The session therefore owns each
// PeerConnection's OnICECandidate handler.
//
// # Failures
//
// Errors the room shows match, with errors.Is: ErrUnauthorized (wrong PIN,
// VideoRoom error 433), ErrRoomNotFound (426), ErrRoomFull (432),
// ErrUnreachable (dial failure or no answer) and ErrSessionGone (connection
// dropped, session expired, server restarted). A live session reports its
// end on Done; Err then says whether it was lost, in which case the engine
// joins again.
//
// # Concurrency
//
// One reader goroutine per connection hands transaction replies to their
// callers and asynchronous events to one event loop; the loop never waits on
// the server, so replies always get through. Each subscription runs its own
// goroutine. Everything stops on Leave, Close or loss of the connection, and
// Done is closed only when all of it has stopped and every subscription's
// PeerConnection is closed.
package janus
