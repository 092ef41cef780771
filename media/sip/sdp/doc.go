// Package sdp is the SIP provider's media negotiation: SDP offer/answer
// (RFC 3264) between roomd's capabilities and a far end's, producing what
// the media layer needs to run the call (a [Negotiated]: per stream the
// far end's address, codecs with their parameters, telephone-events,
// direction, SRTP keys or DTLS role, ICE credentials).
//
// github.com/pion/sdp/v3 parses and writes the text; this package decides.
// It knows nothing of SIP dialogs: media/sip/ua moves the bodies.
//
// # Offer and answer
//
// A [Session] is one call's negotiation state. [Session.Offer] writes an
// offer (one audio and, with a video port, one video m-line);
// [Session.Answered] takes the far end's answer to it. [Session.Answer]
// answers the far end's offer (an initial INVITE or a re-INVITE). Each
// returns a [Negotiated] or an error that says why the call cannot go on:
// errors.Is(err, [ErrNotAcceptable]) for "no common codec or encryption"
// (SIP 488), [ErrMalformed] for a description that does not parse (400).
// Re-offers keep the m-line layout and payload types of the last
// negotiation, as RFC 3264 §8 requires; the o= version increases whenever
// the body changes, so hold (sendonly, inactive) and resume are re-offers.
//
// # Codecs
//
// Video: H.264 Constrained Baseline (profile-level-id 42e01f,
// packetization-mode 1 and 0, max-fs and max-mbps from [VideoLimits]) and
// VP8. Audio: Opus, PCMU, PCMA (and G.722 when the caller lists it: roomd
// has no G.722 codec yet), and RFC 4733 telephone-event at 8 kHz (and
// 48 kHz beside Opus). An answer lists the common codecs in
// roomd's order of preference; the first is what roomd sends. The far end's
// H.264 level, max-fs, max-mbps and max-br become [Stream.SendLimit], the
// largest picture and frame rate the encoder may send.
//
// # Encryption
//
// The [Policy] decides what roomd offers and accepts (docs/sip-media.md
// explains the choices): SDES keys (RFC 4568, media/sip/srtpkey) in
// RTP/SAVP(F), or in RTP/AVP when the policy is "preferred"; DTLS-SRTP in
// UDP/TLS/RTP/SAVPF when the caller has a certificate ([DTLS]). Key
// material travels in the SDP body, so a body must never be logged as it
// is: [Redact] it first.
//
// # Bounds
//
// A far end's description is refused before parsing when it exceeds
// [MaxSize] bytes or [MaxMediaLines] m-lines, so a hostile INVITE costs
// bounded work.
package sdp
