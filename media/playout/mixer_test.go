package playout

import (
	"context"
	"errors"
	"testing"
	"time"
)

func fill(n int, v int16) []int16 {
	s := make([]int16, n)
	for i := range s {
		s[i] = v
	}
	return s
}

func TestMixesWithVolumeAndClipping(t *testing.T) {
	m := NewMixer()
	m.SetLevel(100)
	m.Push("a", fill(prebuffer, 1000))
	m.Push("b", fill(prebuffer, 2000))
	out := make([]int16, 480)
	m.Read(out)
	if out[0] != 3000 || out[479] != 3000 {
		t.Fatalf("mix at full volume = %d, want 3000", out[0])
	}
	m.SetLevel(50) // square law: a quarter of the amplitude
	m.Read(out)
	if out[0] != 750 {
		t.Fatalf("mix at volume 50 = %d, want 750", out[0])
	}
	m.SetLevel(0)
	m.Read(out)
	if out[0] != 0 {
		t.Fatalf("volume 0 plays %d", out[0])
	}
	m.SetLevel(100)
	m.Remove("a")
	m.Remove("b")
	m.Push("a", fill(prebuffer, 30000))
	m.Push("b", fill(prebuffer, 30000))
	m.Read(out)
	if out[0] != 32767 {
		t.Fatalf("loud mix = %d, want clipped to 32767", out[0])
	}
	if v, _ := m.Level(); v != 100 {
		t.Fatalf("level %d", v)
	}
	if err := m.SetLevel(101); err == nil {
		t.Fatal("volume 101 accepted")
	}
}

func TestPrebufferUnderrunAndOverflow(t *testing.T) {
	m := NewMixer()
	m.SetLevel(100)
	out := make([]int16, 480)
	m.Push("a", fill(prebuffer/2, 100))
	m.Read(out)
	if out[0] != 0 {
		t.Fatal("played before the prebuffer filled")
	}
	m.Push("a", fill(prebuffer, 100))
	m.Read(out)
	if out[0] != 100 {
		t.Fatal("did not start after the prebuffer filled")
	}
	// Drain it dry: an underrun is counted and the source waits again.
	for range 10 {
		m.Read(out)
	}
	if m.Stats().Underruns != 1 {
		t.Fatalf("underruns %d, want 1", m.Stats().Underruns)
	}
	m.Push("a", fill(maxQueue+480, 7))
	if m.Stats().Dropped != 480 {
		t.Fatalf("dropped %d, want 480", m.Stats().Dropped)
	}
	m.Remove("a")
	m.Read(out)
	if out[0] != 0 {
		t.Fatal("a removed participant still plays")
	}
}

func TestDrainPlaysAtRealTime(t *testing.T) {
	m := NewMixer()
	ctx, cancel := context.WithTimeout(context.Background(), 210*time.Millisecond)
	defer cancel()
	Drain(ctx, m)
	if p := m.Stats().Played; p < SampleRate/10 || p > SampleRate/3 {
		t.Fatalf("played %d samples in 0.2 s", p)
	}
}

// This machine has no sound card: opening the speaker fails clearly.
func TestNoSpeakerIsAClearError(t *testing.T) {
	s, err := OpenSpeaker("", NewMixer())
	if err == nil {
		s.Close()
		t.Fatal("opened a speaker on a machine without sound")
	}
	if !errors.Is(err, ErrNoSpeaker) {
		t.Fatalf("err = %v, want ErrNoSpeaker", err)
	}
	t.Log(err)
}
