// Package playout plays the meeting's audio: a mixer takes each remote
// participant's decoded PCM (48 kHz mono), keeps a short jitter buffer per
// participant, mixes them, applies the room's speaker volume, and feeds the
// speaker: a miniaudio (ALSA/PulseAudio) playback device on the appliance,
// or a drain that plays into nothing and counts on the simulated board.
//
// The mixer is the room's volume control (it satisfies room.Level), so the
// volume the room reports is the gain really applied.
package playout

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// SampleRate is the playout rate.
const SampleRate = 48000

const (
	prebuffer = SampleRate * 40 / 1000  // a source starts playing with 40 ms queued
	maxQueue  = SampleRate * 300 / 1000 // more than 300 ms queued: drop the oldest
)

// Mixer mixes participants' audio. It is safe for concurrent use.
type Mixer struct {
	mu      sync.Mutex
	sources map[string]*source
	level   int
	gain    int32 // Q15 fixed point
	played  atomic.Uint64
	pushed  atomic.Uint64
	dropped atomic.Uint64
	under   atomic.Uint64
}

type source struct {
	q       []int16
	playing bool
}

// NewMixer makes a mixer at volume 50.
func NewMixer() *Mixer {
	m := &Mixer{sources: map[string]*source{}}
	m.SetLevel(50)
	return m
}

// SetLevel sets the speaker volume 0..100; the gain follows a square law,
// which sounds even across the range.
func (m *Mixer) SetLevel(v int) error {
	if v < 0 || v > 100 {
		return fmt.Errorf("playout: volume %d is not in 0..100", v)
	}
	m.mu.Lock()
	m.level, m.gain = v, int32(v*v*32768/10000)
	m.mu.Unlock()
	return nil
}

// Level returns the speaker volume.
func (m *Mixer) Level() (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.level, nil
}

// Push queues a participant's decoded samples.
func (m *Mixer) Push(id string, pcm []int16) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.sources[id]
	if s == nil {
		s = &source{}
		m.sources[id] = s
	}
	s.q = append(s.q, pcm...)
	m.pushed.Add(uint64(len(pcm)))
	if over := len(s.q) - maxQueue; over > 0 {
		// The far end runs fast or we stalled: drop the oldest, keep latency low.
		s.q = append(s.q[:0], s.q[over:]...)
		m.dropped.Add(uint64(over))
	}
}

// Remove forgets a participant who left.
func (m *Mixer) Remove(id string) {
	m.mu.Lock()
	delete(m.sources, id)
	m.mu.Unlock()
}

// Read fills out with the next mixed samples (silence where nobody talks).
func (m *Mixer) Read(out []int16) {
	acc := make([]int32, len(out))
	m.mu.Lock()
	gain := m.gain
	for _, s := range m.sources {
		if !s.playing {
			if len(s.q) < prebuffer {
				continue
			}
			s.playing = true
		}
		n := min(len(out), len(s.q))
		for i := 0; i < n; i++ {
			acc[i] += int32(s.q[i])
		}
		s.q = append(s.q[:0], s.q[n:]...)
		if n < len(out) {
			// Ran dry: wait for a new prebuffer rather than stutter.
			s.playing = false
			m.under.Add(1)
		}
	}
	m.mu.Unlock()
	for i, v := range acc {
		v = v * gain >> 15
		out[i] = int16(max(-32768, min(32767, v)))
	}
	m.played.Add(uint64(len(out)))
}

// Stats are the mixer's counters.
type Stats struct {
	Received, Played, Dropped, Underruns uint64
}

// Stats returns the counters so far.
func (m *Mixer) Stats() Stats {
	return Stats{Received: m.pushed.Load(), Played: m.played.Load(), Dropped: m.dropped.Load(), Underruns: m.under.Load()}
}

// Drain plays into nothing at real time until ctx ends: the simulated
// board's speaker. What it plays is counted in Stats.
func Drain(ctx context.Context, m *Mixer) {
	buf := make([]int16, SampleRate/50)
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			m.Read(buf)
		}
	}
}
