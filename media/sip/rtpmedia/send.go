package rtpmedia

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
)

// sendState is what the sending side keeps between writes; sendMu guards it.
type sendState struct {
	codec   Codec
	clock   uint32
	ts      uint32 // timestamp of the latest packet
	started bool   // a packet went out, ts is set
	video   rtp.Payloader
	mode0   bool // H.264 packetization-mode 0: one NAL unit per packet
	audio   *audioEncoder
	dtmf    bool // a telephone-event is being sent: audio holds its packets
	// oversize counts mode-0 NAL units larger than the MTU, sent whole
	// (the network fragments them) because mode 0 cannot split them.
	oversize uint64
}

func (s *Stream) setupSend(c Codec) error {
	st := sendState{codec: c, clock: c.clockRate(), ts: rand.Uint32()}
	switch {
	case s.kind == Video && c.is(CodecH264):
		st.video = &codecs.H264Payloader{}
		st.mode0 = c.PacketizationMode == 0
	case s.kind == Video && c.is(CodecVP8):
		st.video = &codecs.VP8Payloader{EnablePictureID: true}
	case s.kind == Audio:
		a, err := newAudioEncoder(c)
		if err != nil {
			return err
		}
		st.audio = a
	default:
		return fmt.Errorf("%w (%s %s)", ErrUnsupportedCodec, s.kind, c.Name)
	}
	s.sendMu.Lock()
	s.send = st
	s.sendMu.Unlock()
	return nil
}

// WriteVideo sends one encoded frame (an H.264 access unit in Annex B, a
// VP8 frame) that began d after the previous one.
func (s *Stream) WriteVideo(frame []byte, d time.Duration) error {
	if !s.started.Load() {
		return ErrNotStarted
	}
	if s.kind != Video {
		return fmt.Errorf("rtpmedia: WriteVideo on an %s stream; write video to the video stream", s.kind)
	}
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	s.advance(d)
	var payloads [][]byte
	if s.send.mode0 {
		payloads = s.singleNALs(frame)
	} else {
		payloads = s.send.video.Payload(uint16(s.opts.MTU), frame)
	}
	for i, p := range payloads {
		if err := s.writePayload(p, i == len(payloads)-1, s.send.codec.PT); err != nil {
			return err
		}
	}
	s.st.frameSent()
	return nil
}

// advance moves the timestamp on by d; the first packet keeps the random
// start.
func (s *Stream) advance(d time.Duration) {
	if !s.send.started {
		s.send.started = true
		return
	}
	s.send.ts += uint32(d.Seconds()*float64(s.send.clock) + 0.5)
}

// writePayload sends one packet at the current timestamp; the caller
// holds sendMu.
func (s *Stream) writePayload(payload []byte, marker bool, pt uint8) error {
	if s.paused.Load() {
		return nil // on hold: the sequence goes on where it stopped
	}
	p := &rtp.Packet{Header: rtp.Header{Version: 2, Marker: marker, PayloadType: pt, SequenceNumber: s.seq, Timestamp: s.send.ts, SSRC: s.ssrc}, Payload: payload}
	s.seq++
	return s.writeRTP(p)
}

// singleNALs splits an Annex B access unit into one payload per NAL unit
// (packetization-mode 0), leaving out access unit delimiters and filler.
func (s *Stream) singleNALs(au []byte) [][]byte {
	var out [][]byte
	for _, nal := range splitAnnexB(au) {
		if len(nal) == 0 || nal[0]&0x1f == 9 || nal[0]&0x1f == 12 { // delimiters, filler
			continue
		}
		if len(nal) > s.opts.MTU {
			s.send.oversize++
		}
		out = append(out, nal)
	}
	return out
}

// splitAnnexB returns the NAL units of an Annex B byte stream.
func splitAnnexB(b []byte) [][]byte {
	var nals [][]byte
	start := -1
	for i := 0; i+2 < len(b); i++ {
		if b[i] != 0 || b[i+1] != 0 || b[i+2] != 1 {
			continue
		}
		if start >= 0 {
			end := i
			if end > start && b[end-1] == 0 {
				end-- // a four-byte start code
			}
			nals = append(nals, b[start:end])
		}
		start = i + 3
		i += 2
	}
	if start >= 0 && start < len(b) {
		nals = append(nals, b[start:])
	} else if start < 0 && len(b) > 0 {
		nals = append(nals, b) // no start code: one bare NAL unit
	}
	return nals
}

// WriteAudio sends the room's audio, 48 kHz mono PCM in any chunk size;
// the stream encodes it into 20 ms packets.
func (s *Stream) WriteAudio(pcm []int16) error {
	if !s.started.Load() {
		return ErrNotStarted
	}
	if s.kind != Audio {
		return fmt.Errorf("rtpmedia: WriteAudio on a %s stream; write audio to the audio stream", s.kind)
	}
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	a := s.send.audio
	a.pending = append(a.pending, pcm...)
	for len(a.pending) >= frameSamples48 {
		payload, err := a.encode(a.pending[:frameSamples48])
		a.pending = append(a.pending[:0], a.pending[frameSamples48:]...)
		if err != nil {
			return err
		}
		s.advance(packetTime)
		if s.send.dtmf {
			continue // the digit's packets stand in for the audio
		}
		if err := s.writePayload(payload, false, s.send.codec.PT); err != nil {
			return err
		}
	}
	return nil
}
