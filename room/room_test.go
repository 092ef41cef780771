package room

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"
)

// fakeToggle is a device whose writes can be made to fail.
type fakeToggle struct {
	mu      sync.Mutex
	on      bool
	failSet error // Set fails (state unchanged)
	failGet error
	sets    int
}

func (f *fakeToggle) Set(on bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sets++
	if f.failSet != nil {
		return f.failSet
	}
	f.on = on
	return nil
}

func (f *fakeToggle) Get() (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.on, f.failGet
}

func (f *fakeToggle) state() bool { f.mu.Lock(); defer f.mu.Unlock(); return f.on }
func (f *fakeToggle) fail(err error) {
	f.mu.Lock()
	f.failSet = err
	f.mu.Unlock()
}
func (f *fakeToggle) setBehindBack(on bool) { f.mu.Lock(); f.on = on; f.mu.Unlock() }

type memStore struct {
	mu    sync.Mutex
	p     Persisted
	ok    bool
	saves int
}

func (m *memStore) Load(p *Persisted) Loaded {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ok {
		*p = m.p
	}
	return Loaded{Found: m.ok}
}
func (m *memStore) Save(p Persisted) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.p, m.ok = p, true
	m.saves++
	return nil
}

type rig struct {
	r       *Room
	mic     *fakeToggle
	led     *fakeToggle
	callLED *fakeToggle
	store   *memStore
	cancel  context.CancelFunc
	done    chan error
}

func start(t *testing.T, store *memStore, mic *fakeToggle) *rig {
	t.Helper()
	if mic == nil {
		mic = &fakeToggle{}
	}
	g := &rig{mic: mic, led: &fakeToggle{}, callLED: &fakeToggle{}, store: store, done: make(chan error, 1)}
	opts := Options{Devices: Devices{Mic: mic, MuteLED: g.led, CallLED: g.callLED}, PollInterval: 10 * time.Millisecond,
		Hardware: []Device{{Name: "mute_led", Kind: "led", State: "loaded"}}}
	if store != nil {
		opts.Store = store
	}
	g.r = New(opts)
	ctx, cancel := context.WithCancel(context.Background())
	g.cancel = cancel
	go func() { g.done <- g.r.Run(ctx) }()
	<-g.r.Ready()
	t.Cleanup(g.stop)
	return g
}

func (g *rig) stop() {
	g.cancel()
	<-g.done
	g.done <- nil // let a second stop return
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestAlive(t *testing.T) {
	g := start(t, nil, nil)
	if err := g.r.Alive(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestLEDShowsMicAtStartup(t *testing.T) {
	// Saved as muted before the restart: the mic is muted again and the LED lit
	// before Ready.
	g := start(t, &memStore{p: Persisted{Settings: DefaultSettings(), MicMute: true}, ok: true}, nil)
	if !g.mic.state() || !g.led.state() || !g.r.Snapshot().MicMute {
		t.Fatalf("after start: mic %v led %v state %v, want all muted", g.mic.state(), g.led.state(), g.r.Snapshot().MicMute)
	}
}

func TestLEDShowsMicThatIsAlreadyMuted(t *testing.T) {
	// Nothing saved, but the mic cannot be opened (muted, writes fail): the
	// LED must show muted, not the wished-for state.
	mic := &fakeToggle{on: true, failSet: errors.New("mixer busy")}
	g := start(t, nil, mic)
	s := g.r.Snapshot()
	if !s.MicMute || !g.led.state() || s.MicFault == "" {
		t.Fatalf("mute %v led %v fault %q, want muted, lit, fault set", s.MicMute, g.led.state(), s.MicFault)
	}
}

func TestLEDFollowsMuteAndSurvivesMicError(t *testing.T) {
	g := start(t, nil, nil)
	ctx := context.Background()
	if err := g.r.Do(ctx, Command{From: button, Do: ToggleMicMute{}}); err != nil {
		t.Fatal(err)
	}
	if !g.mic.state() || !g.led.state() {
		t.Fatalf("after mute: mic %v led %v", g.mic.state(), g.led.state())
	}
	// The mic driver now fails to unmute: the command reports it and the LED
	// keeps showing the mic's real (muted) state.
	g.mic.fail(errors.New("usb reset"))
	err := g.r.Do(ctx, Command{From: button, Do: ToggleMicMute{}})
	if !errors.Is(err, ErrDevice) {
		t.Fatalf("err = %v, want ErrDevice", err)
	}
	if !g.mic.state() || !g.led.state() || !g.r.Snapshot().MicMute {
		t.Fatalf("after failed unmute: mic %v led %v state %v, want all muted", g.mic.state(), g.led.state(), g.r.Snapshot().MicMute)
	}
}

// A device error says it is one (ErrDevice) and keeps the driver's own
// error in the chain, so callers can branch on either.
func TestDeviceErrorKeepsTheDriversError(t *testing.T) {
	errReset := errors.New("usb reset")
	g := start(t, nil, nil)
	g.mic.fail(errReset)
	err := g.r.Do(context.Background(), Command{From: button, Do: ToggleMicMute{}})
	if !errors.Is(err, ErrDevice) || !errors.Is(err, errReset) {
		t.Fatalf("err = %v: ErrDevice %v, driver error %v; want both reachable", err, errors.Is(err, ErrDevice), errors.Is(err, errReset))
	}
}

func TestLEDRecoversAfterDriverError(t *testing.T) {
	g := start(t, nil, nil)
	g.led.fail(errors.New("gpio: EIO"))
	if err := g.r.Do(context.Background(), Command{From: serial, Do: SetMicMute{Mute: true}}); err != nil {
		t.Fatal(err)
	}
	if g.led.state() {
		t.Fatal("a failing LED cannot be lit")
	}
	eventually(t, "LED fault in hardware status", func() bool { return g.r.Snapshot().Hardware[0].State == "failed" })
	g.led.fail(nil)
	eventually(t, "LED lit after the driver recovers", g.led.state)
	eventually(t, "LED healthy again", func() bool { return g.r.Snapshot().Hardware[0].State == "loaded" })
}

func TestMicChangedBehindOurBack(t *testing.T) {
	g := start(t, nil, nil)
	g.mic.setBehindBack(true) // e.g. the mixer changed by another program
	eventually(t, "state and LED follow the real mic", func() bool { return g.r.Snapshot().MicMute && g.led.state() })
}

func TestWatchSnapshotThenChanges(t *testing.T) {
	g := start(t, nil, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := g.r.Watch(ctx)
	first := <-w
	if !first.Initial || first.State.MicMute {
		t.Fatalf("first update = %+v, want initial unmuted snapshot", first)
	}
	if err := g.r.Do(ctx, Command{From: panel, Do: SetVolume{Level: 70}}); err != nil {
		t.Fatal(err)
	}
	u := <-w
	if u.Initial || u.State.Volume != 70 {
		t.Fatalf("second update = %+v, want volume 70", u)
	}
	// A refused command reaches watchers as an event and changes nothing.
	if err := g.r.Do(ctx, Command{From: remote, Do: SetCameraPrivacy{On: false}}); err != nil {
		t.Fatalf("privacy off when already off from remote: %v", err)
	}
	g.r.Do(ctx, Command{From: remote, Do: SetMicMute{Mute: true}})
	u = <-w
	if !u.State.MicMute {
		t.Fatalf("update after mute = %+v", u)
	}
	if err := g.r.Do(ctx, Command{From: remote, Do: SetMicMute{}}); !errors.Is(err, ErrNotAllowed) {
		t.Fatalf("remote unmute err = %v", err)
	}
	u = <-w
	if len(u.Events) != 1 || u.Events[0].Name != "CommandRefused" || !u.State.MicMute {
		t.Fatalf("refusal update = %+v", u)
	}
}

func TestSlowWatcherGetsResync(t *testing.T) {
	g := start(t, nil, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := g.r.Watch(ctx)
	<-w
	for i := 0; i < maxQueued+10; i++ {
		g.r.Do(ctx, Command{From: panel, Do: SetVolume{Level: i % 100}})
	}
	var last Update
	sawResync := false
	for u := range w {
		last = u
		sawResync = sawResync || u.Resync
		if u.State.Volume == (maxQueued+9)%100 {
			break
		}
	}
	if !sawResync || last.State.Volume != (maxQueued+9)%100 {
		t.Fatalf("resync %v last volume %d", sawResync, last.State.Volume)
	}
}

func TestJoinWithoutEngineFailsWithReason(t *testing.T) {
	g := start(t, nil, nil)
	if err := g.r.Do(context.Background(), Command{From: panel, Do: Join{Meeting: meet}}); err != nil {
		t.Fatal(err)
	}
	s := g.r.Snapshot()
	if s.Call != Failed || s.CallReason != ErrNoEngine.Error() {
		t.Fatalf("call %v reason %q", s.Call, s.CallReason)
	}
}

type fakeEngine struct {
	r     *Room
	mu    sync.Mutex
	ended []uint64
}

func (e *fakeEngine) Start(_ context.Context, seq uint64, _ Meeting) {
	go e.r.Report(CallReported{Seq: seq, State: InCall})
}
func (e *fakeEngine) End(seq uint64) {
	e.mu.Lock()
	e.ended = append(e.ended, seq)
	e.mu.Unlock()
	go e.r.Report(CallReported{Seq: seq, State: Idle})
}

func TestCallLEDAndEngine(t *testing.T) {
	eng := &fakeEngine{}
	led, callLED := &fakeToggle{}, &fakeToggle{}
	r := New(Options{Devices: Devices{Calls: eng, MuteLED: led, CallLED: callLED}})
	eng.r = r
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	<-r.Ready()
	if err := r.Do(ctx, Command{From: panel, Do: Join{Meeting: meet}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "in call with call LED lit", func() bool { return r.Snapshot().Call == InCall && callLED.state() })
	if err := r.Do(ctx, Command{From: panel, Do: Leave{}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "idle with call LED off", func() bool { return r.Snapshot().Call == Idle && !callLED.state() })
	cancel()
	<-done
}

// Watchers hear of a change in what a participant sends even when nothing
// else in the call's figures moved.
func TestWatchersSeeReceivedVideo(t *testing.T) {
	eng := &fakeEngine{}
	r := New(Options{Devices: Devices{Calls: eng}})
	eng.r = r
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	<-r.Ready()
	if err := r.Do(ctx, Command{From: panel, Do: Join{Meeting: meet}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "in call", func() bool { return r.Snapshot().Call == InCall })
	seq := r.Snapshot().CallSeq
	media := func(w, h int) CallMedia {
		return CallMedia{Participants: 1, RecvBitrate: 900_000,
			Received: []ReceivedVideo{{Participant: "alice#11", Width: w, Height: h, FPS: 25, Bitrate: 900_000}}}
	}
	r.Report(MediaReported{Seq: seq, Media: media(1280, 720)})
	eventually(t, "received video in the room's state", func() bool { return r.Snapshot().Media.Equal(media(1280, 720)) })
	w := r.Watch(ctx)
	<-w
	r.Report(MediaReported{Seq: seq, Media: media(640, 360)})
	select {
	case u := <-w:
		if got := u.State.Media.Received; len(got) != 1 || got[0].Width != 640 || got[0].Height != 360 {
			t.Fatalf("update carries %+v, want alice at 640x360", got)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("no update when only a participant's picture size changed")
	}
}

func TestPersistsSettingsAndPrivacy(t *testing.T) {
	st := &memStore{}
	g := start(t, st, nil)
	ctx := context.Background()
	s := g.r.Snapshot().Settings
	s.Name = "Fjord"
	if err := g.r.Do(ctx, Command{From: panel, Do: ChangeSettings{Settings: s}}); err != nil {
		t.Fatal(err)
	}
	if err := g.r.Do(ctx, Command{From: remote, Do: SetCameraPrivacy{On: true}}); err != nil {
		t.Fatal(err)
	}
	st.mu.Lock()
	p := st.p
	st.mu.Unlock()
	if p.Settings.Name != "Fjord" || !p.CameraPrivacy {
		t.Fatalf("persisted %+v", p)
	}
	g.stop()
	g2 := start(t, st, nil)
	if s := g2.r.Snapshot(); s.Settings.Name != "Fjord" || !s.CameraPrivacy {
		t.Fatalf("after restart: %+v", s)
	}
}

func TestRunStopsCleanly(t *testing.T) {
	before := runtime.NumGoroutine()
	for range 5 {
		g := start(t, nil, nil)
		ctx, cancel := context.WithCancel(context.Background())
		w := g.r.Watch(ctx)
		<-w
		g.stop()
		for range w { // closes when the room stops
		}
		cancel()
		if err := g.r.Alive(context.Background()); !errors.Is(err, ErrStopped) {
			t.Fatalf("Alive after stop: %v, want ErrStopped", err)
		}
		if err := g.r.Do(context.Background(), Command{From: panel, Do: Leave{}}); !errors.Is(err, ErrStopped) {
			t.Fatalf("Do after stop: %v, want ErrStopped", err)
		}
	}
	eventually(t, "goroutines to end", func() bool { return runtime.NumGoroutine() <= before })
}

// micAtStart is a call engine that records whether the microphones were
// muted when each call started.
type micAtStart struct {
	mic    Toggle
	mu     sync.Mutex
	starts []bool
}

func (e *micAtStart) Start(_ context.Context, _ uint64, _ Meeting) {
	m, _ := e.mic.Get()
	e.mu.Lock()
	e.starts = append(e.starts, m)
	e.mu.Unlock()
}
func (e *micAtStart) End(uint64) {}

func (e *micAtStart) started() []bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]bool(nil), e.starts...)
}

// A paired tablet joining a meeting of its choosing never gets the room's
// open microphone: the microphones are muted before the engine starts, and
// if they cannot be muted the call is not started at all (issue 12 row 4).
func TestJoinFromOutsideTheRoomNeverSendsAnOpenMic(t *testing.T) {
	run := func(t *testing.T, mic *fakeToggle) (*Room, *micAtStart) {
		eng := &micAtStart{mic: mic}
		return runRoom(t, eng, mic), eng
	}
	t.Run("mutes first", func(t *testing.T) {
		r, eng := run(t, &fakeToggle{})
		if err := r.Do(context.Background(), Command{From: remote, Do: Join{Meeting: meet}}); err != nil {
			t.Fatal(err)
		}
		s := r.Snapshot()
		if got := eng.started(); len(got) != 1 || !got[0] || !s.MicMute || !s.CameraPrivacy || s.Call != Joining {
			t.Fatalf("engine saw mic muted %v; room: mute %v privacy %v call %v", got, s.MicMute, s.CameraPrivacy, s.Call)
		}
		// Only the room may open it again.
		if err := r.Do(context.Background(), Command{From: remote, Do: SetMicMute{}}); !errors.Is(err, ErrNotAllowed) {
			t.Fatalf("remote unmute during its call: %v", err)
		}
		if err := r.Do(context.Background(), Command{From: panel, Do: SetMicMute{}}); err != nil || r.Snapshot().MicMute {
			t.Fatalf("kiosk unmute during the call: %v, muted %v", err, r.Snapshot().MicMute)
		}
	})
	t.Run("mic that will not mute fails the join", func(t *testing.T) {
		r, eng := run(t, &fakeToggle{failSet: errors.New("codec register write failed")})
		err := r.Do(context.Background(), Command{From: remote, Do: Join{Meeting: meet}})
		if !errors.Is(err, ErrDevice) {
			t.Fatalf("err = %v, want the device error", err)
		}
		s := r.Snapshot()
		if got := eng.started(); len(got) != 0 || s.Call != Failed || s.CallReason == "" {
			t.Fatalf("engine started %d calls; call %v reason %q", len(got), s.Call, s.CallReason)
		}
	})
}
