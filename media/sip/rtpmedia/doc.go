// Package rtpmedia carries one SIP call's media: plain RTP and RTCP over
// UDP, optionally SRTP keyed by SDES or by a DTLS handshake on the RTP
// socket (DTLS-SRTP, with rtcp-mux), as SDP offer/answer negotiated it
// (media/sip/sdp). A SIP call is not a PeerConnection: no ICE, no
// transport-wide feedback, often no RTCP feedback at all, so this package
// does for itself what pion's interceptors do on the WebRTC path.
//
// # Streams
//
// [Listen] binds one media's sockets (an even RTP port chosen by the OS and
// RTP+1 for RTCP) so their ports can go into the SDP; [Stream.Start] then
// sends to the negotiated remote address ([Remote], from [RemoteFrom]) and
// receives. The
// stream is symmetric (RFC 4961): it latches onto the address the far end
// actually sends from, once a packet from there parses (and, with SRTP,
// authenticates), which is what gets media through a NAT.
//
// # Sending
//
// [Stream.WriteVideo] packetizes encoded frames (H.264 packetization-mode 1
// with STAP-A and FU-A, mode 0 one NAL unit per packet, VP8);
// [Stream.WriteAudio] takes the room's 48 kHz mono PCM and encodes it (Opus,
// or G.711 PCMU/PCMA after resampling to 8 kHz); [Stream.SendDTMF] sends
// RFC 4733 telephone-events. SSRC and the first sequence number are random.
//
// # Receiving
//
// Packets go through a small reorder buffer (pion's samplebuilder) to the
// decoder (media/codec), and pictures and 48 kHz PCM to Handlers.OnVideo and
// Handlers.OnAudio. No packets for Options.Timeout calls OnMediaStopped
// (the call shows 'reconnecting', then fails); the next packet calls
// OnMediaResumed.
//
// # RTCP and rate control
//
// Every Options.RTCPInterval the stream sends a sender or receiver report
// with SDES. Incoming PLI and FIR call OnKeyFrameRequest; when the decoder
// needs a key frame the stream sends PLI or FIR if the far end negotiated
// them, else calls OnNeedKeyFrame so signalling can send a SIP INFO
// picture_fast_update. TMMBR (answered with TMMBN) and REMB cap the send
// bitrate, and the loss reported in receiver reports drives a [RateController]
// (GCC's loss-based rule, but cutting under the throughput that got through
// so that it settles under a bottleneck), whose target reaches the encoder
// through OnBitrate. [Stream.Stats] gives the figures in media/transport's shape,
// which media/call reports to the room.
//
// # Files
//
// remote.go the negotiated input and negotiated.go its making from
// media/sip/sdp; stream.go sockets, SRTP and the stream's life; dtls.go
// DTLS-SRTP keying; media.go a call's streams as one sink for media/call;
// send.go packetizing; audio.go Opus and G.711 with resampling; dtmf.go
// telephone-events; receive.go depacketizing, decoding and the RTP
// timeout; rtcp.go reports and feedback; tmmbr.go TMMBR/TMMBN;
// ratecontrol.go the loss-based controller; stats.go figures.
package rtpmedia
