package rtpmedia

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pion/rtp"
)

// DTMF timing: RFC 4733 §2.5.1.2 suggests a packet every 50 ms and the
// end packet three times.
const (
	dtmfPacketEvery = 50 * time.Millisecond
	dtmfEndRepeats  = 3
	dtmfVolume      = 10 // -10 dBm0
	// DTMFTone and DTMFGap are the defaults for SendDTMF.
	DTMFTone = 160 * time.Millisecond
	DTMFGap  = 80 * time.Millisecond
)

// ErrNoDTMF means the far end negotiated no telephone-event.
var ErrNoDTMF = errors.New("rtpmedia: the far end takes no RFC 4733 telephone-events; send the digits with SIP INFO instead")

// dtmfEvent is the RFC 4733 event code of a digit.
func dtmfEvent(d rune) (byte, bool) {
	switch {
	case d >= '0' && d <= '9':
		return byte(d - '0'), true
	case d == '*':
		return 10, true
	case d == '#':
		return 11, true
	case d >= 'A' && d <= 'D':
		return byte(d-'A') + 12, true
	case d >= 'a' && d <= 'd':
		return byte(d-'a') + 12, true
	}
	return 0, false
}

// dtmfDigit is the digit of an RFC 4733 event code 0-15.
func dtmfDigit(ev byte) (rune, bool) {
	const digits = "0123456789*#ABCD"
	if int(ev) >= len(digits) {
		return 0, false
	}
	return rune(digits[ev]), true
}

// dtmfIn follows the far end's telephone-events: each event (one RTP
// timestamp) is reported once, at its first end packet.
type dtmfIn struct {
	reported bool
	ts       uint32 // the last reported event's timestamp
}

// telephoneEvent reads an RFC 4733 payload and calls OnDTMF when an
// event ends; repeated end packets, and events other than 0-9 * # A-D,
// are not reported.
func (s *Stream) telephoneEvent(p *rtp.Packet) {
	b := p.Payload
	if len(b) < 4 || b[1]&0x80 == 0 || s.h.OnDTMF == nil {
		return
	}
	if s.rxDTMF.reported && s.rxDTMF.ts == p.Timestamp {
		return
	}
	s.rxDTMF.reported, s.rxDTMF.ts = true, p.Timestamp
	d, ok := dtmfDigit(b[0])
	if !ok {
		return
	}
	clock := s.remote.DTMFClockRate
	if clock == 0 {
		clock = 8000
	}
	dur := time.Duration(binary.BigEndian.Uint16(b[2:4])) * time.Second / time.Duration(clock)
	s.h.OnDTMF(d, dur)
}

// ValidDTMF says whether digits has only 0-9, *, # and A-D.
func ValidDTMF(digits string) bool {
	for _, d := range digits {
		if _, ok := dtmfEvent(d); !ok {
			return false
		}
	}
	return true
}

// SendDTMF sends digits as RFC 4733 telephone-events on the audio stream,
// each a tone long with gap between them (0: DTMFTone, DTMFGap); audio
// pauses while a digit sounds. It returns when the last digit ended, or
// with ctx's error (the digit being sent still gets its end packets).
func (s *Stream) SendDTMF(ctx context.Context, digits string, tone, gap time.Duration) error {
	if !s.started.Load() {
		return ErrNotStarted
	}
	if s.kind != Audio || s.remote.DTMF == 0 {
		return ErrNoDTMF
	}
	if !ValidDTMF(digits) {
		return fmt.Errorf("rtpmedia: DTMF digits %q: only 0-9, *, # and A-D can be sent", digits)
	}
	if tone <= 0 {
		tone = DTMFTone
	}
	if gap <= 0 {
		gap = DTMFGap
	}
	for i, d := range strings.ToUpper(digits) {
		if i > 0 {
			if err := sleep(ctx, gap); err != nil {
				return err
			}
		}
		ev, _ := dtmfEvent(d)
		if err := s.sendEvent(ctx, ev, tone); err != nil {
			return err
		}
	}
	return nil
}

// sendEvent sends one event: a packet every 50 ms with the duration so far
// (the first one marked), then the end packet three times.
func (s *Stream) sendEvent(ctx context.Context, ev byte, tone time.Duration) error {
	clock := s.remote.DTMFClockRate
	if clock == 0 {
		clock = 8000
	}
	ticks := func(d time.Duration) uint16 { return uint16(min(d.Seconds()*float64(clock), 0xffff)) }
	s.sendMu.Lock()
	s.advance(packetTime)
	start := s.send.ts
	s.send.dtmf = true
	s.sendMu.Unlock()
	send := func(dur uint16, end, marker bool) error {
		p := make([]byte, 4)
		p[0] = ev
		p[1] = dtmfVolume
		if end {
			p[1] |= 0x80
		}
		binary.BigEndian.PutUint16(p[2:], dur)
		s.sendMu.Lock()
		defer s.sendMu.Unlock()
		ts := s.send.ts
		s.send.ts = start
		err := s.writePayload(p, marker, s.remote.DTMF)
		s.send.ts = ts
		return err
	}
	var err error
	elapsed := time.Duration(0)
	for first := true; elapsed < tone && err == nil; first = false {
		// Each update says how long the digit has sounded by its next
		// update (RFC 4733 forbids a zero duration).
		step := min(dtmfPacketEvery, tone-elapsed)
		if err = send(ticks(elapsed+step), false, first); err != nil {
			break
		}
		err = sleep(ctx, step)
		elapsed += step
	}
	for range dtmfEndRepeats {
		if e := send(ticks(tone), true, false); e != nil && err == nil {
			err = e
		}
	}
	s.sendMu.Lock()
	s.send.dtmf = false
	// Audio goes on after the digit, never before its end.
	if end := start + uint32(ticks(tone)); int32(end-s.send.ts) > 0 {
		s.send.ts = end
	}
	s.sendMu.Unlock()
	return err
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
