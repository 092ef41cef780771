// Package whip sends the room's media to a WHIP endpoint (RFC 9725) and
// receives a meeting's media from a WHEP endpoint (draft-ietf-wish-whep),
// with pion/webrtc PeerConnections that the media engine makes.
//
// # Flow
//
// Publish makes a PeerConnection with Options.NewPeerConnection, lets
// Options.AddTracks add the tracks to send, and POSTs the offer
// (Content-Type application/sdp, "Authorization: Bearer <token>" when a
// token is set). The server answers 201 Created with the SDP answer and a
// Location, the session's resource, which is resolved against the URL that
// answered. Receive does the same against a WHEP endpoint with one
// receive-only video and one receive-only audio transceiver, and hands each
// remote track to Options.OnTrack. Leave DELETEs the resource and closes
// the PeerConnection; Close hangs up without telling the server.
//
// # ICE
//
// Candidates are not trickled: the offer goes out once ICE gathering is
// complete (or Options.GatherTimeout has passed) and carries every
// candidate. Trickle ICE (PATCH with application/trickle-ice-sdpfrag) is
// optional for WHIP servers, and those without it answer 405 or 422; a
// complete offer works with all of them, and pion gathers host candidates
// in milliseconds, so the cost is only felt with a slow STUN or TURN
// server, bounded by GatherTimeout. Servers answer with their candidates in
// the SDP. STUN and TURN servers named in the 201 answer's Link headers
// come too late for such an offer; Session.ICEServers returns them, and
// Options.AskICEServers fetches them beforehand with OPTIONS (RFC 9725
// allows it) so that the offer's candidates use them.
//
// # Failures
//
// Errors the room shows match, with errors.Is: ErrUnauthorized (401 or
// 403: wrong or missing token), ErrNotFound (404: no such endpoint, or a
// WHEP stream nobody publishes), ErrUnreachable (connection refused,
// timeouts, TLS failures) and ErrSessionGone (a live session's media failed
// or the server hung up). Other answers are an *HTTPError with the status,
// the server's text and any Retry-After. Errors never show a URL's query or
// the token.
//
// # Concurrency
//
// A Session starts no goroutines of its own: it owns its PeerConnection's
// OnConnectionStateChange handler (Options.OnConnectionStateChange sees the
// changes too) and ends when the PeerConnection fails or closes. Connected
// is closed when the PeerConnection first connects; Done when the session
// has ended and the PeerConnection is closed. Methods are safe for
// concurrent use.
package whip
