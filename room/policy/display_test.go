package policy

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/roomd/roomd/internal/testtool"
	"github.com/roomd/roomd/room"
)

// instantCalls connects at once and ends at once.
type instantCalls struct{ rm *room.Room }

func (e *instantCalls) Start(_ context.Context, seq uint64, _ room.Meeting) {
	go e.rm.Report(room.CallReported{Seq: seq, State: room.InCall})
}
func (e *instantCalls) End(seq uint64) { go e.rm.Report(room.CallReported{Seq: seq, State: room.Idle}) }

func TestBusy(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    room.State
		want bool
	}{
		{"idle", room.State{}, false},
		{"joining", room.State{Call: room.Joining}, true},
		{"in call", room.State{Call: room.InCall}, true},
		{"reconnecting", room.State{Call: room.Reconnecting}, true},
		{"failed", room.State{Call: room.Failed}, false},
		{"join offered", room.State{JoinOffer: room.Meeting{ID: "m"}}, true},
		{"occupied", room.State{Env: room.Environment{HaveOccupancy: true, Occupied: true}}, true},
		{"no occupancy sensor", room.State{Env: room.Environment{Occupied: true}}, false},
		{"empty room", room.State{Env: room.Environment{HaveOccupancy: true}}, false},
	} {
		if got := Busy(tc.s); got != tc.want {
			t.Errorf("%s: Busy = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestTouched(t *testing.T) {
	base := room.State{Volume: 50, DisplayPower: true}
	for _, tc := range []struct {
		name string
		edit func(*room.State)
		want bool
	}{
		{"nothing", func(*room.State) {}, false},
		{"mute", func(s *room.State) { s.MicMute = true }, true},
		{"volume", func(s *room.State) { s.Volume = 30 }, true},
		{"privacy", func(s *room.State) { s.CameraPrivacy = true }, true},
		{"preset", func(s *room.State) { s.CameraPreset = 2 }, true},
		{"call", func(s *room.State) { s.Call = room.Joining }, true},
		{"display off", func(s *room.State) { s.DisplayPower = false }, false},
		{"schedule only", func(s *room.State) { s.NextMeetings = []room.Meeting{{ID: "x"}} }, false},
	} {
		s := base
		tc.edit(&s)
		if got := Touched(base, s); got != tc.want {
			t.Errorf("%s: Touched = %v, want %v", tc.name, got, tc.want)
		}
	}
	if !Touched(room.State{}, room.State{DisplayPower: true}) {
		t.Error("display switched on is not a touch")
	}
}

// The display sleeps after the fleet's idle time and wakes when the room is
// used; camera privacy goes on at start-up and after each call.
func TestPolicy(t *testing.T) {
	eng := &instantCalls{}
	rm := room.New(room.Options{Devices: room.Devices{Calls: eng}, Settings: &room.Settings{Name: "R", DefaultVolume: 50, VolumeStep: 5, Presets: 4}})
	eng.rm = rm
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	roomDone := make(chan struct{})
	go func() { defer close(roomDone); rm.Run(ctx) }()
	<-rm.Ready()
	panel := func(a room.Action) {
		t.Helper()
		if err := rm.Do(ctx, room.Command{From: room.Source{Kind: room.FromPanel}, Do: a}); err != nil {
			t.Fatal(err)
		}
	}
	wait := func(what string, ok func(room.State) bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !ok(rm.Snapshot()); time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s: %+v", what, rm.Snapshot())
			}
		}
	}
	panel(room.SetDisplayPower{On: true})
	wait("display on", func(s room.State) bool { return s.DisplayPower })

	clk := clockwork.NewFakeClock()
	var logs testtool.LockedBuffer
	p := New(rm, clk, slog.New(slog.NewTextHandler(&logs, nil)))
	if _, known := p.Settings(); known {
		t.Fatal("settings known before Set")
	}
	p.Set(Settings{DisplaySleep: 10 * time.Minute, PrivacyDefault: true})
	done := make(chan struct{})
	go func() { defer close(done); p.Run(ctx) }()
	defer func() { cancel(); <-done; <-roomDone }()
	wait("privacy on at start-up", func(s room.State) bool { return s.CameraPrivacy })

	// settle waits until the policy waits on its clock again: it has
	// done whatever the last change asked of it.
	settle := func() {
		t.Helper()
		bctx, bcancel := context.WithTimeout(ctx, 10*time.Second)
		defer bcancel()
		if err := clk.BlockUntilContext(bctx, 1); err != nil {
			t.Fatal(err)
		}
	}
	advance := func(d time.Duration) {
		t.Helper()
		settle()
		clk.Advance(d)
	}
	advance(9 * time.Minute)
	settle()
	if !rm.Snapshot().DisplayPower {
		t.Fatal("display off before the idle time")
	}
	advance(time.Minute + time.Second)
	wait("display asleep", func(s room.State) bool { return !s.DisplayPower })

	// Someone in the room: the display wakes.
	panel(room.SetVolume{Level: 30})
	wait("display awake", func(s room.State) bool { return s.DisplayPower })

	// A call: no sleep during it however long; privacy back on after it.
	panel(room.SetCameraPrivacy{On: false})
	panel(room.Join{Meeting: room.Meeting{URI: "janus+wss://sfu.example/janus?room=1"}})
	wait("in call", func(s room.State) bool { return s.Call == room.InCall && !s.CameraPrivacy })
	advance(2 * time.Hour)
	settle()
	if s := rm.Snapshot(); !s.DisplayPower || s.CameraPrivacy {
		t.Fatalf("during the call: display %v, privacy %v", s.DisplayPower, s.CameraPrivacy)
	}
	panel(room.Leave{})
	wait("privacy on after the call", func(s room.State) bool { return s.Call == room.Idle && s.CameraPrivacy })

	// The fleet turns the sleep off: the display stays on.
	p.Set(Settings{})
	advance(24 * time.Hour)
	settle()
	if !rm.Snapshot().DisplayPower {
		t.Fatal("display slept with sleep off")
	}
	for _, want := range []string{"display off after idle", "display on: the room is in use", "camera privacy on at start-up", "camera privacy on after the call"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("the log does not say %q:\n%s", want, logs.String())
		}
	}
}

// Without Set, the policy does nothing: the settings in force are unknown
// until the fleet's bundle is applied (or rolled back).
func TestPolicyWaitsForSettings(t *testing.T) {
	rm := room.New(room.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	roomDone := make(chan struct{})
	go func() { defer close(roomDone); rm.Run(ctx) }()
	<-rm.Ready()
	clk := clockwork.NewFakeClock()
	p := New(rm, clk, nil)
	done := make(chan struct{})
	go func() { defer close(done); p.Run(ctx) }()
	defer func() { cancel(); <-done; <-roomDone }()
	bctx, bcancel := context.WithTimeout(ctx, 10*time.Second)
	defer bcancel()
	if err := clk.BlockUntilContext(bctx, 1); err != nil {
		t.Fatal(err)
	}
	clk.Advance(48 * time.Hour)
	if err := clk.BlockUntilContext(bctx, 1); err != nil {
		t.Fatal(err)
	}
	if s := rm.Snapshot(); s.CameraPrivacy {
		t.Fatal("privacy default carried out before the settings were known")
	}
}
