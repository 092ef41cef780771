package call

import (
	"context"
	"errors"
	"image"
	"slices"
	"strings"
	"testing"
	"time"

	roommedia "github.com/roomd/roomd/media"
	"github.com/roomd/roomd/media/call/provider"
	"github.com/roomd/roomd/media/capture"
	"github.com/roomd/roomd/media/display"
	"github.com/roomd/roomd/room"
)

// fakeProvider is a meeting provider with no server and no network: each
// Join announces itself on joins and then does what the test tells it.
type fakeProvider struct {
	joins chan *fakeJoin
}

// fakeJoin is one Join of the fake provider, driven by the test.
type fakeJoin struct {
	s  Session
	do chan func(context.Context, Session) (end bool, lost string, err error)
}

func (p *fakeProvider) Join(ctx context.Context, s Session) (string, error) {
	j := &fakeJoin{s: s, do: make(chan func(context.Context, Session) (bool, string, error))}
	select {
	case p.joins <- j:
	case <-ctx.Done():
		return "", nil
	}
	for {
		select {
		case <-ctx.Done():
			return "", nil
		case f := <-j.do:
			if end, lost, err := f(ctx, s); end {
				return lost, err
			}
		}
	}
}

// run runs f inside the provider's Join, as a real provider's code would.
func (j *fakeJoin) run(t *testing.T, f func(context.Context, Session)) {
	t.Helper()
	done := make(chan struct{})
	op := func(ctx context.Context, s Session) (bool, string, error) {
		f(ctx, s)
		close(done)
		return false, "", nil
	}
	select {
	case j.do <- op:
	case <-time.After(5 * time.Second):
		t.Fatal("the fake session has ended")
	}
	<-done
}

// connect waits for the room's media and says it flows.
func (j *fakeJoin) connect(t *testing.T) {
	t.Helper()
	j.run(t, func(ctx context.Context, s Session) {
		if err := s.WaitMedia(ctx); err != nil {
			t.Errorf("media: %v", err)
		}
		s.Connected()
	})
}

// end ends the session with lost or err.
func (j *fakeJoin) end(t *testing.T, lost string, err error) {
	t.Helper()
	select {
	case j.do <- func(context.Context, Session) (bool, string, error) { return true, lost, err }:
	case <-time.After(5 * time.Second):
		t.Fatal("the fake session has ended")
	}
}

type fakeRig struct {
	room     *room.Room
	engine   *Engine
	comp     *display.Compositor
	provider *fakeProvider
}

// newFakeRig is a room whose engine knows only the fake provider, under
// the name "janus", so that Janus links reach it.
func newFakeRig(t *testing.T) *fakeRig {
	t.Helper()
	g := &fakeRig{comp: display.NewCompositor(64, 36), provider: &fakeProvider{joins: make(chan *fakeJoin)}}
	mic, camera := &roommedia.Gate{}, &roommedia.Gate{}
	var r *room.Room
	eng, err := New(Config{
		Sources: Sources{
			Video: func() (capture.VideoSource, error) {
				return capture.NewPattern(capture.PatternOptions{Width: 160, Height: 90, FPS: 5})
			},
			Audio: func() (capture.AudioSource, error) { return capture.NewTone(capture.ToneOptions{}) },
		},
		Mic: mic, Camera: camera, Compositor: g.comp,
		RetryMin: 10 * time.Millisecond, RetryMax: 40 * time.Millisecond,
		Providers: Providers{"janus": g.provider},
	}, func(rep room.Report) { r.Report(rep) })
	if err != nil {
		t.Fatal(err)
	}
	r = room.New(room.Options{Devices: room.Devices{Calls: eng, Mic: mic, Camera: camera}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	<-r.Ready()
	t.Cleanup(func() { cancel(); <-done; eng.Wait() })
	g.room, g.engine = r, eng
	return g
}

func (g *fakeRig) join(t *testing.T, m room.Meeting) {
	t.Helper()
	if m.URI == "" {
		m.URI = "janus+wss://sfu.example.org/janus?room=1234"
	}
	if err := g.room.Do(context.Background(), room.Command{From: room.Source{Kind: room.FromPanel}, Do: room.Join{Meeting: m}}); err != nil {
		t.Fatal(err)
	}
}

// nextJoin waits for the engine to join (again).
func (g *fakeRig) nextJoin(t *testing.T) *fakeJoin {
	t.Helper()
	select {
	case j := <-g.provider.joins:
		return j
	case <-time.After(5 * time.Second):
		s := g.room.Snapshot()
		t.Fatalf("the engine did not join; call %v (%s)", s.Call, s.CallReason)
		return nil
	}
}

// noJoin checks the engine does not join again for a while: several times
// its longest backoff.
func (g *fakeRig) noJoin(t *testing.T) {
	t.Helper()
	select {
	case <-g.provider.joins:
		t.Fatal("the engine joined again after the call failed")
	case <-time.After(300 * time.Millisecond):
	}
}

// The provider's failure classes reach the room as the reasons people
// read; the ones rejoining cannot help fail the call for good, the others
// are retried. The errors carry the provider's own words and only their
// class, as a real provider's do.
func TestFakeProviderFailureReasons(t *testing.T) {
	fakeErr := func(class error) error { return provider.Classify(errors.New("fake: the server said no"), class) }
	for _, tc := range []struct {
		name   string
		joined bool // the room was in the call before the error
		err    error
		state  room.CallState
		reason string
	}{
		{"unreachable at first", false, fakeErr(ErrUnreachable), room.Failed, "meeting server unreachable"},
		{"refused", false, fakeErr(ErrRefused), room.Failed, "meeting server refused the room"},
		{"bad passcode", false, fakeErr(ErrBadPasscode), room.Failed, "wrong meeting passcode"},
		{"not found", false, fakeErr(ErrNotFound), room.Failed, "meeting room not found"},
		{"full", false, fakeErr(ErrFull), room.Reconnecting, "meeting room is full"},
		{"unclassified", false, errors.New("fake: something odd"), room.Reconnecting, "fake: something odd"},
		{"unreachable in the call", true, fakeErr(ErrUnreachable), room.Reconnecting, "meeting server unreachable"},
		{"bad passcode in the call", true, fakeErr(ErrBadPasscode), room.Failed, "wrong meeting passcode"},
		{"refused in the call", true, fakeErr(ErrRefused), room.Failed, "meeting server refused the room"},
		{"wrapped by the provider", false, fmtWrap(fakeErr(ErrNotFound)), room.Failed, "meeting room not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newFakeRig(t)
			w := g.room.Watch(context.Background())
			g.join(t, room.Meeting{ID: "m1", Passcode: "1234"})
			j := g.nextJoin(t)
			if j.s.Passcode() != "1234" || j.s.Target().Room != 1234 {
				t.Errorf("session passcode %q, room %d", j.s.Passcode(), j.s.Target().Room)
			}
			if tc.joined {
				j.connect(t)
				waitCall(t, g.room, room.InCall, 5*time.Second)
			}
			j.end(t, "", tc.err)
			got := waitState(t, w, tc.state)
			if got.CallReason != tc.reason {
				t.Errorf("reason %q, want %q", got.CallReason, tc.reason)
			}
			if tc.state == room.Failed {
				g.noJoin(t)
				return
			}
			// Retried: the engine joins again, and the room gets back in.
			j = g.nextJoin(t)
			j.connect(t)
			if s := waitCall(t, g.room, room.InCall, 5*time.Second); s.CallReason != "" {
				t.Errorf("back in the call with reason %q", s.CallReason)
			}
		})
	}
}

// fmtWrap wraps err as a provider adding context would.
func fmtWrap(err error) error { return errors.Join(errors.New("fake: while joining"), err) }

// waitState waits for the room's call to reach want, through its watch, so
// a state that passes quickly (Reconnecting) is not missed.
func waitState(t *testing.T, w <-chan room.Update, want room.CallState) room.State {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case u := <-w:
			if u.State.Call == want {
				return u.State
			}
		case <-deadline:
			t.Fatalf("the call never reached %v", want)
		}
	}
}

// A session lost after the room was in the call (the connection dropped)
// is joined again with backoff, as often as it drops, and the room says why
// in between.
func TestFakeProviderRejoinsAfterDrop(t *testing.T) {
	g := newFakeRig(t)
	w := g.room.Watch(context.Background())
	g.join(t, room.Meeting{ID: "m1"})
	j := g.nextJoin(t)
	j.connect(t)
	waitState(t, w, room.InCall)
	for i, drop := range []struct {
		lost   string
		err    error
		reason string
	}{
		{"media connection disconnected", nil, "media connection disconnected"},
		{"", errors.New("fake: session lost; join again"), "fake: session lost; join again"},
		{"", nil, "connection to the meeting lost"},
	} {
		j.end(t, drop.lost, drop.err)
		s := waitState(t, w, room.Reconnecting)
		if s.CallReason != drop.reason {
			t.Errorf("drop %d: reason %q, want %q", i, s.CallReason, drop.reason)
		}
		j = g.nextJoin(t)
		j.connect(t)
		waitState(t, w, room.InCall)
	}
	// Leaving ends the session and the room goes idle; nobody rejoins.
	if err := g.room.Do(context.Background(), room.Command{From: room.Source{Kind: room.FromPanel}, Do: room.Leave{}}); err != nil {
		t.Fatal(err)
	}
	waitState(t, w, room.Idle)
	g.noJoin(t)
}

// Participants come and go during a session: status and the screen follow,
// and a participant who leaves twice (their feed and the session ending)
// is taken out once.
func TestFakeProviderParticipantChurn(t *testing.T) {
	g := newFakeRig(t)
	g.join(t, room.Meeting{ID: "m1"})
	j := g.nextJoin(t)
	j.connect(t)
	waitCall(t, g.room, room.InCall, 5*time.Second)
	left := map[string]func(){}
	arrive := func(ids ...string) {
		j.run(t, func(_ context.Context, s Session) {
			for _, id := range ids {
				left[id] = s.Participant(id)
				g.comp.Update(id, image.NewRGBA(image.Rect(0, 0, 16, 9)))
			}
		})
	}
	leave := func(id string) { j.run(t, func(context.Context, Session) { left[id]() }) }
	check := func(want ...string) {
		t.Helper()
		got := g.engine.Stats().Participants
		if !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
			t.Errorf("participants %v, want %v", got, want)
		}
		tiles := slices.Sorted(slices.Values(g.comp.Participants()))
		if w := slices.Sorted(slices.Values(want)); !slices.Equal(tiles, w) && !(len(tiles) == 0 && len(w) == 0) {
			t.Errorf("screen shows %v, want %v", tiles, w)
		}
	}
	arrive("alice#1", "bob#2")
	check("alice#1", "bob#2")
	leave("alice#1")
	check("bob#2")
	arrive("carol#3", "alice#4")
	check("bob#2", "carol#3", "alice#4")
	leave("bob#2")
	leave("bob#2") // again, as a feed's end and the session's end both say it
	check("carol#3", "alice#4")
	leave("carol#3")
	leave("alice#4")
	check()
	// The session drops; after the rejoin the meeting's participants
	// arrive again.
	j.end(t, "media connection disconnected", nil)
	j = g.nextJoin(t)
	j.connect(t)
	arrive("alice#4")
	check("alice#4")
}

// An engine joins only with the providers its caller registered: a link
// for any other fails at once as one no provider can join.
func TestEngineJoinsOnlyWithRegisteredProviders(t *testing.T) {
	g := newFakeRig(t)
	g.join(t, room.Meeting{ID: "m1", URI: "whip+https://m.example.com/whip?whep=https%3A%2F%2Fm.example.com%2Fwhep"})
	s := waitCall(t, g.room, room.Failed, 5*time.Second)
	if !strings.Contains(s.CallReason, "no meeting provider") || !strings.Contains(s.CallReason, "whip") {
		t.Errorf("reason %q, want no provider for whip", s.CallReason)
	}
	g.noJoin(t)
}
