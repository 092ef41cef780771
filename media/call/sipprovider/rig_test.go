package sipprovider

import (
	"context"
	"image"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/roomd/roomd/internal/siptest"
	roommedia "github.com/roomd/roomd/media"
	"github.com/roomd/roomd/media/call"
	"github.com/roomd/roomd/media/capture"
	"github.com/roomd/roomd/media/display"
	"github.com/roomd/roomd/media/playout"
	"github.com/roomd/roomd/media/sip/ua"
	"github.com/roomd/roomd/room"
)

// rig is a room's call engine with the SIP provider, on the simulated
// camera and microphone, and what it reported.
type rig struct {
	ua     *ua.UA
	prov   *Provider
	engine *call.Engine
	comp   *display.Compositor
	mixer  *playout.Mixer
	// mic and camera are the room's gates: closed is muted and privacy.
	mic, camera *roommedia.Gate

	mu      sync.Mutex
	reports []room.CallReported
	changed chan struct{}
	ringing chan room.IncomingCallReported
	gone    chan room.IncomingCallGone
	regs    chan room.SIPRegistrationReported
}

func newRig(t *testing.T, cfg Config, uc ua.Config) *rig {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	log := slog.New(slog.NewTextHandler(t.Output(), nil))
	uc.Logger = log
	g := &rig{comp: display.NewCompositor(640, 360), mixer: playout.NewMixer(), mic: &roommedia.Gate{}, camera: &roommedia.Gate{}, changed: make(chan struct{}, 1), ringing: make(chan room.IncomingCallReported, 4), gone: make(chan room.IncomingCallGone, 4), regs: make(chan room.SIPRegistrationReported, 16)}
	aor := ""
	if uc.Account != nil {
		aor = uc.Account.AOR
	}
	cfg.Inbound = NewInbound(g.report, aor)
	uc.OnIncoming, uc.OnRegistration = cfg.Inbound.Ring, cfg.Inbound.Registration
	if uc.Listen == nil {
		uc.Listen = []ua.Listen{{Transport: ua.UDP, Addr: "127.0.0.1:0"}, {Transport: ua.TCP, Addr: "127.0.0.1:0"}}
	}
	if uc.User == "" {
		uc.User = "room"
	}
	u, err := ua.New(uc)
	if err != nil {
		t.Fatal(err)
	}
	uaDone := make(chan struct{})
	go func() { u.Run(ctx); close(uaDone) }()
	cfg.UA = u
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	g.ua, g.prov = u, p
	eng, err := call.New(call.Config{
		Display: "roomd-test",
		Sources: call.Sources{
			Video: func() (capture.VideoSource, error) {
				return capture.NewPattern(capture.PatternOptions{Width: 640, Height: 360, FPS: 15})
			},
			Audio: func() (capture.AudioSource, error) { return capture.NewTone(capture.ToneOptions{}) },
		},
		Mic: g.mic, Camera: g.camera, Compositor: g.comp, Playout: g.mixer,
		RetryMin: 200 * time.Millisecond, RetryMax: time.Second,
		Logger:    log,
		Providers: call.Providers{Name: p},
	}, g.report)
	if err != nil {
		t.Fatal(err)
	}
	g.engine = eng
	t.Cleanup(func() {
		eng.End(1)
		eng.Wait()
		cancel()
		<-uaDone
		u.Close()
	})
	return g
}

func (g *rig) report(r room.Report) {
	switch x := r.(type) {
	case room.IncomingCallReported:
		g.ringing <- x
	case room.IncomingCallGone:
		g.gone <- x
	case room.SIPRegistrationReported:
		select {
		case g.regs <- x:
		default:
		}
	}
	cr, ok := r.(room.CallReported)
	if !ok {
		return
	}
	g.mu.Lock()
	g.reports = append(g.reports, cr)
	g.mu.Unlock()
	select {
	case g.changed <- struct{}{}:
	default:
	}
}

// wait waits for the engine to report state and returns the report.
func (g *rig) wait(t *testing.T, state room.CallState, d time.Duration) room.CallReported {
	t.Helper()
	deadline := time.After(d)
	for {
		g.mu.Lock()
		for _, r := range g.reports {
			if r.State == state {
				g.mu.Unlock()
				return r
			}
		}
		all := append([]room.CallReported(nil), g.reports...)
		g.mu.Unlock()
		select {
		case <-g.changed:
		case <-deadline:
			t.Fatalf("the call never reached %v within %v; reports: %+v", state, d, all)
		}
	}
}

// join starts call 1 to uri.
func (g *rig) join(uri string) {
	g.engine.Start(context.Background(), 1, room.Meeting{ID: "sip-test", URI: uri})
}

// eventually polls cond until it holds or d passes.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// checkPattern says whether img is roomd's simulated camera: its frame
// counter reads back.
func checkPattern(img image.Image) error {
	_, err := capture.ReadPatternCounter(img)
	return err
}

// answer waits for a call to ring the room and answers it as the room's
// AcceptIncoming does: a join of the caller with Meeting.Incoming.
func (g *rig) answer(t *testing.T) room.IncomingCallReported {
	t.Helper()
	select {
	case ic := <-g.ringing:
		g.engine.Start(context.Background(), 1, room.Meeting{ID: room.IncomingMeetingPrefix + ic.ID, URI: ic.From, Incoming: ic.ID, Title: ic.Display})
		return ic
	case <-time.After(10 * time.Second):
		t.Fatal("no call rang the room")
	}
	return room.IncomingCallReported{}
}

// seesBars says whether the room's screen shows baresip's fakevideo
// bars, alone.
func (g *rig) seesBars() bool {
	img, _ := g.comp.Compose()
	return len(g.comp.Participants()) == 1 && siptest.CheckBars(img) == nil
}

// seesPattern says whether the room's screen shows a roomd's simulated
// camera: its frame counter reads back from the composed screen.
func (g *rig) seesPattern() bool {
	img, _ := g.comp.Compose()
	return len(g.comp.Participants()) == 1 && checkPattern(img) == nil
}
