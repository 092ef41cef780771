package call

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/roomd/roomd/media/capture"
	"github.com/roomd/roomd/room"
)

// toneProvider is the fake provider that can also send tones and decline
// ringing calls.
type toneProvider struct {
	*fakeProvider
	tones, declined chan string
}

func (p toneProvider) SendDTMF(_ context.Context, digits string) error { p.tones <- digits; return nil }
func (p toneProvider) Decline(id string)                               { p.declined <- id }

func controlEngine(t *testing.T, p Provider) *Engine {
	t.Helper()
	eng, err := New(Config{
		Sources: Sources{
			Video: func() (capture.VideoSource, error) {
				return capture.NewPattern(capture.PatternOptions{Width: 160, Height: 90, FPS: 5})
			},
			Audio: func() (capture.AudioSource, error) { return capture.NewTone(capture.ToneOptions{}) },
		},
		Providers: Providers{"janus": p},
	}, func(room.Report) {})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.End(1); eng.Wait() })
	return eng
}

// The engine's room.CallControl: tones go to the provider running the
// call, if it can send them; declines go to every provider that rings.
func TestCallControl(t *testing.T) {
	fp := &fakeProvider{joins: make(chan *fakeJoin, 1)}
	p := toneProvider{fakeProvider: fp, tones: make(chan string, 1), declined: make(chan string, 1)}
	eng := controlEngine(t, p)
	if err := eng.SendDTMF(1, "1"); !errors.Is(err, room.ErrNotInCall) {
		t.Errorf("tones with no call: %v, want ErrNotInCall", err)
	}
	eng.Start(context.Background(), 1, room.Meeting{URI: "janus+wss://sfu.example.org/janus?room=1234"})
	select {
	case <-fp.joins:
	case <-time.After(5 * time.Second):
		t.Fatal("the engine did not join")
	}
	if err := eng.SendDTMF(1, "12#"); err != nil {
		t.Fatal(err)
	}
	select {
	case d := <-p.tones:
		if d != "12#" {
			t.Errorf("provider got tones %q, want 12#", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the tones never reached the provider")
	}
	eng.Decline("3")
	if id := <-p.declined; id != "3" {
		t.Errorf("declined %q, want 3", id)
	}

	plain := controlEngine(t, &fakeProvider{joins: make(chan *fakeJoin, 1)})
	plain.Start(context.Background(), 1, room.Meeting{URI: "janus+wss://sfu.example.org/janus?room=1234"})
	if err := plain.SendDTMF(1, "1"); !errors.Is(err, room.ErrNoTones) {
		t.Errorf("tones through a provider that cannot send them: %v, want ErrNoTones", err)
	}
}
