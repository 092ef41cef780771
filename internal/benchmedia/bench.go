// Package benchmedia measures roomd against the browser-kiosk way of joining
// a meeting: the real roomd binary on the simulated board and headless
// Chromium each join a Janus VideoRoom on this machine, send 720p30 and
// receive one 720p30 participant, one after the other in one run.
//
// # Cameras
//
// Each subject runs with each camera of Options.Cameras, all playing the
// same content: raw pictures (a Y4M), JPEG pictures (the Y4M turned into
// MJPEG by ffmpeg; roomd decodes it with libjpeg-turbo, Chromium reads the
// same file as its fake camera and decodes it itself) and, for roomd in
// H.264 calls, an H.264 stream (ffmpeg's libx264, constrained baseline)
// that roomd sends as it is. Chromium cannot take H.264 from a camera, so
// that column is compared with Chromium on the MJPEG camera.
//
// # Like with like
//
// Chromium's page is loaded before each join and joins on a call, as roomd
// joins on a console command; it subscribes to the peer as soon as it is
// in the room, alongside publishing, as roomd does; its microphone has no
// echo cancellation, noise suppression or gain control, which roomd does
// not do either (PipeWire does it on the device). roomd runs with camera
// privacy off and its microphone unmuted, so that it sends its camera and
// not the privacy slate. libvpx's VP8 denoiser, which libwebrtc turns on
// for cameras and roomd leaves off, cannot be switched in either, so its
// cost is measured apart with ffmpeg's libvpx (Denoiser).
//
// # What is measured
//
// For each participant under test ("subject"): join command → first remote
// frame decoded (median of several joins; the process is already running),
// CPU seconds per minute of call for its whole process tree (utime+stime
// from /proc/PID/stat over a window), peak PSS of the tree (smaps_rollup
// sampled every 0.5 s from the last join to the end of the window), and the
// video it sends and receives: from its own stats, and as the other
// participant decodes it.
//
// The other participant ("peer") is a second headless Chromium publishing
// the raw camera's Y4M (ffmpeg's testsrc2) in the same codec and bitrate; its cost
// is reported for context only. Janus runs from internal/janustest in a
// room per codec capped at Options.RoomBitrate, not the demo's 128 kbit/s.
//
// cmd/bench-media is the command; `make bench-media` runs it and records
// the table in docs/benchmarks.md.
//
// # SIP: roomd against baresip as the calling endpoint
//
// RunSIP (cmd/bench-sip, `make bench-sip`) compares the same 720p30 H.264
// SIP call made by the real roomd binary and by Debian's baresip
// (internal/siptest) to one auto-answering baresip, alternately: dial →
// first far-end frame decoded (median of several calls; roomd's
// FramesDecoded, baresip's snapshot module), CPU per minute of each
// caller's process tree over windows of measured calls taken in turns
// (ABAB), and peak PSS from the dial to the end of each window, with the
// same TreeCPU, TreeMemory and PeakSampler as the browser comparison.
package benchmedia

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/roomd/roomd/internal/browsertest"
	"github.com/roomd/roomd/internal/janustest"
)

// Options configure a run; zero fields take the defaults in brackets.
type Options struct {
	Window time.Duration // CPU window per subject [60 s]
	// Settle is the time in the measured call before the window opens, for
	// congestion control to reach the bitrate cap [10 s].
	Settle time.Duration
	Joins  int      // timed joins per subject, the last one stays for the window [5]
	Codecs []string // "vp8", "h264" [vp8, h264]
	// Cameras are the cameras each subject runs with [y4m, mjpeg, h264]:
	// roomd with every one (the H.264 camera in H.264 calls only), and
	// Chromium with every one but the H.264 camera, which it cannot read.
	// Only the raw camera's roomd runs with every one of Screens; the
	// others show the first.
	Cameras []Camera
	// DenoiserFrames is how many pictures each of the VP8 denoiser's
	// encodes takes [1800; negative: not measured].
	DenoiserFrames int
	Width          int // [1280]
	Height         int // [720]
	FPS            int // [30]
	Bitrate        int // every sender's video cap, bit/s [2.5 Mbit/s]
	RoomBitrate    int // the Janus room's cap, bit/s [3 Mbit/s]
	// Roomd is a roomd binary; empty builds cmd/roomd with `go build`.
	Roomd string
	// ExtraEnv is added to the environment roomd.service gives roomd, for
	// experiments; the report says so.
	ExtraEnv []string
	// LogDir, if set, keeps each roomd's log there.
	LogDir string
	// Screens are how roomd shows what it receives [framebuffer, none]:
	// ScreenFramebuffer composes the screen into an XRGB8888 framebuffer
	// file in memory, the device's own display path with a file in place
	// of /dev/fb0; ScreenRecord composes it into a Y4M recording sent to
	// /dev/null (a path the device never takes); ScreenNone decodes but
	// composes nothing, as --sim does by default.
	Screens []Screen
	Log     io.Writer // progress [os.Stderr]
	// MaxOtherLoad is how much CPU other processes may use during a window,
	// per minute, before the window is measured again, at most Retries
	// times [10 s, 2; negative Retries for none].
	MaxOtherLoad time.Duration
	Retries      int
}

func (o *Options) defaults() {
	if o.Window == 0 {
		o.Window = time.Minute
	}
	if o.Settle == 0 {
		o.Settle = 10 * time.Second
	}
	if o.Joins == 0 {
		o.Joins = 5
	}
	if len(o.Codecs) == 0 {
		o.Codecs = []string{"vp8", "h264"}
	}
	if len(o.Cameras) == 0 {
		o.Cameras = []Camera{CameraRaw, CameraMJPEG, CameraH264}
	}
	if o.DenoiserFrames == 0 {
		o.DenoiserFrames = 1800
	}
	if o.Width == 0 || o.Height == 0 {
		o.Width, o.Height = 1280, 720
	}
	if o.FPS == 0 {
		o.FPS = 30
	}
	if o.Bitrate == 0 {
		o.Bitrate = 2_500_000
	}
	if o.RoomBitrate == 0 {
		o.RoomBitrate = 3_000_000
	}
	if o.Log == nil {
		o.Log = os.Stderr
	}
	if o.MaxOtherLoad == 0 {
		o.MaxOtherLoad = 10 * time.Second
	}
	if o.Retries == 0 {
		o.Retries = 2
	}
	if len(o.Screens) == 0 {
		o.Screens = []Screen{ScreenFramebuffer, ScreenNone}
	}
}

// Screen is how roomd shows the video it receives during the benchmark.
type Screen string

// Screens.
const (
	ScreenFramebuffer Screen = "framebuffer"
	ScreenRecord      Screen = "record"
	ScreenNone        Screen = "none"
)

func (o *Options) validate() error {
	var errs []error
	for _, c := range o.Codecs {
		if c != "vp8" && c != "h264" {
			errs = append(errs, fmt.Errorf("benchmedia: codec %q: use vp8 or h264", c))
		}
	}
	for _, c := range o.Cameras {
		if c != CameraRaw && c != CameraMJPEG && c != CameraH264 {
			errs = append(errs, fmt.Errorf("benchmedia: camera %q: use y4m, mjpeg or h264", c))
		}
	}
	if o.Joins < 1 {
		errs = append(errs, errors.New("benchmedia: at least one join"))
	}
	if o.Window < time.Second {
		errs = append(errs, errors.New("benchmedia: the window must be at least 1 s"))
	}
	for _, sc := range o.Screens {
		if sc != ScreenFramebuffer && sc != ScreenRecord && sc != ScreenNone {
			errs = append(errs, fmt.Errorf("benchmedia: roomd screen %q: use framebuffer, record or none", sc))
		}
	}
	if o.RoomBitrate < o.Bitrate {
		errs = append(errs, fmt.Errorf("benchmedia: the room cap (%d bit/s) is below the senders' bitrate (%d bit/s)", o.RoomBitrate, o.Bitrate))
	}
	return errors.Join(errs...)
}

// Names shown in the meeting.
const (
	peerName    = "peer"
	roomdName   = "roomd-bench"
	browserName = "chromium-bench"
	roomPIN     = "2468"
)

// subject is a participant under measurement.
type subject interface {
	name() string
	display() string
	pid() int // root of its process tree
	// join issues the join; the first remote frame comes after.
	join(ctx context.Context) error
	// framesDecoded is how many frames of the peer it has decoded.
	framesDecoded(ctx context.Context) (uint64, error)
	leave(ctx context.Context) error
	counters(ctx context.Context) (counters, error)
}

// counters are a subject's running totals at one moment.
type counters struct {
	at         time.Time
	sentFrames uint64
	sentSize   Size
	recvFrames uint64
	recvSize   Size // zero when the subject does not report it
	encoder    string
}

// Run runs the benchmark: for each codec, roomd then Chromium.
func Run(ctx context.Context, o Options) (*Report, error) {
	o.defaults()
	if err := o.validate(); err != nil {
		return nil, err
	}
	rep := &Report{Started: time.Now(), Options: o}
	su, err := newSetup(ctx, o.Log, "bench-media", o.Roomd)
	if err != nil {
		return nil, err
	}
	defer su.h.close()
	h, env, logf := su.h, su.unit, su.logf
	rep.Env = su.env

	var y4m string
	if err := h.run(func() error {
		y4m = browsertest.MakeY4M(h, o.Width, o.Height, o.FPS, 5)
		return nil
	}); err != nil {
		return nil, err
	}
	if len(o.ExtraEnv) > 0 {
		env = append(env, o.ExtraEnv...)
	}
	rep.Env.RoomdEnv = env
	su.unit = env
	if l, err := os.ReadFile("/proc/loadavg"); err == nil {
		rep.LoadBefore = strings.Join(strings.Fields(string(l))[:3], " ")
		logf("load average before the run: %s (other work on the machine skews the figures)", rep.LoadBefore)
	}

	var rooms []janustest.Room
	for i, c := range o.Codecs {
		rooms = append(rooms, janustest.Room{ID: uint64(100 + i), Description: "bench " + c, PIN: roomPIN,
			Publishers: 6, Bitrate: o.RoomBitrate, VideoCodec: c})
	}
	before, err := childrenNamed(os.Getpid(), "janus")
	if err != nil {
		return nil, err
	}
	var janus *janustest.Server
	if err := h.run(func() error {
		janus = janustest.Start(h, &janustest.Options{Rooms: rooms})
		return nil
	}); err != nil {
		return nil, err
	}
	janusPID, err := newChild(before, "janus")
	if err != nil {
		return nil, err
	}
	cams, err := cameraFiles(ctx, h.TempDir(), y4m, o)
	if err != nil {
		return nil, err
	}
	peer, peerPID, err := startChromium(h, y4m)
	if err != nil {
		return nil, err
	}
	ph := phase{o: o, janus: janus, janusPID: janusPID, peer: peer, peerPID: peerPID, logf: logf}

	for i, c := range o.Codecs {
		ph.room = rooms[i].ID
		logf("%s: peer joins room %d", c, ph.room)
		if err := ph.peerJoin(ctx, c); err != nil {
			return nil, err
		}
		res := CodecResult{Codec: c}
		for _, cam := range o.Cameras {
			if cam == CameraH264 && c != "h264" {
				continue // passthrough needs an H.264 call
			}
			screens := o.Screens
			if cam != CameraRaw {
				screens = screens[:1]
			}
			for _, sc := range screens {
				m, err := ph.measureRoomd(ctx, su, c, cam, cams[cam], sc)
				if err != nil {
					return nil, err
				}
				res.Roomd = append(res.Roomd, m)
			}
			if cam == CameraH264 {
				continue
			}
			m, err := ph.measureBrowser(ctx, c, cams[cam])
			if err != nil {
				return nil, err
			}
			m.Camera = cam
			res.Browsers = append(res.Browsers, m)
		}
		rep.Results = append(rep.Results, res)
		if err := peer.Leave(); err != nil {
			return nil, fmt.Errorf("benchmedia: peer leave: %w", err)
		}
	}
	if o.DenoiserFrames > 0 && slices.Contains(o.Codecs, "vp8") {
		logf("VP8 denoiser: %d pictures with ffmpeg's libvpx, off and on, 3 times each", o.DenoiserFrames)
		rep.Denoiser = measureDenoiser(ctx, y4m, o, o.DenoiserFrames, 3)
	}
	if l, err := os.ReadFile("/proc/loadavg"); err == nil {
		rep.LoadAfter = strings.Join(strings.Fields(string(l))[:3], " ")
	}
	return rep, nil
}

// measureRoomd runs a fresh roomd with camera cam (its file at path) and
// screen sc in the phase's room.
func (ph *phase) measureRoomd(ctx context.Context, su *setup, codec string, cam Camera, path string, sc Screen) (Measured, error) {
	o, h := ph.o, su.h
	cfg := roomdConfig{Name: roomdName, Video: roomdVideo(cam, path), Width: o.Width, Height: o.Height,
		FPS: o.FPS, Codec: codec, MaxBitrate: o.Bitrate, UnmutePolicy: "anyone"}
	switch sc {
	case ScreenRecord:
		cfg.Record = os.DevNull
	case ScreenFramebuffer:
		cfg.Framebuffer = memoryFile(h, "fb")
	}
	rp, err := startRoomd(ctx, su.bin, h.TempDir(), cfg, su.unit)
	if err != nil {
		return Measured{}, err
	}
	s := &roomdSubject{p: rp, peer: peerName, screen: sc, camera: cam,
		link: fmt.Sprintf("janus+%s?room=%d", ph.janus.URL, ph.room), pin: roomPIN}
	m, err := Measured{}, s.prepare(ctx)
	if err == nil {
		m, err = ph.measure(ctx, s)
	}
	if err != nil {
		err = fmt.Errorf("%w\n%s", err, rp.explain())
	}
	rp.stop()
	if o.LogDir != "" {
		name := filepath.Join(o.LogDir, fmt.Sprintf("roomd-%s-%s-%s.log", codec, cam, sc))
		if werr := os.WriteFile(name, []byte(rp.log.String()), 0o644); werr != nil {
			ph.logf("keeping roomd's log: %v", werr)
		}
	}
	m.Screen, m.Camera = sc, cam
	return m, err
}

// measureBrowser runs a fresh Chromium whose camera plays the file at
// camera in the phase's room. The page is loaded before each join, which
// then starts from a call, as roomd's does; it subscribes as roomd does
// (alongside publishing), and its microphone has no echo cancellation,
// noise suppression or gain control, which roomd does not do either.
func (ph *phase) measureBrowser(ctx context.Context, codec, camera string) (Measured, error) {
	o := ph.o
	bh, err := newHarness(o.Log)
	if err != nil {
		return Measured{}, err
	}
	defer bh.close()
	b, pid, err := startChromium(bh, camera)
	if err != nil {
		return Measured{}, err
	}
	s := &browserSubject{b: b, proc: pid, peer: peerName, room: browsertest.Join{
		WebSocket: ph.janus.URL, Room: ph.room, PIN: roomPIN, Display: browserName,
		Width: o.Width, Height: o.Height, FPS: o.FPS, Codec: codec, Bitrate: o.Bitrate,
		RawAudio: true, SubscribeEarly: true}}
	if err := s.open(ctx); err != nil {
		return Measured{}, err
	}
	return ph.measure(ctx, s)
}

// setup is what each benchmark starts from.
type setup struct {
	h    *harness
	bin  string      // the roomd binary
	env  Environment // the machine and the versions
	unit []string    // the environment roomd.service gives roomd
	logf func(format string, args ...any)
}

// newSetup makes a harness, builds roomd unless bin names one, and reads
// the machine's description and roomd.service's environment. prog
// prefixes the progress lines written to log. The caller closes su.h.
func newSetup(ctx context.Context, log io.Writer, prog, bin string) (su *setup, err error) {
	h, err := newHarness(log)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			h.close()
		}
	}()
	logf := func(format string, args ...any) { fmt.Fprintf(log, prog+": "+format+"\n", args...) }
	if bin == "" {
		logf("building roomd")
		if bin, err = BuildRoomd(ctx, h.dir); err != nil {
			return nil, err
		}
	}
	unit, err := unitEnvironment()
	if err != nil {
		return nil, err
	}
	return &setup{h: h, bin: bin, env: environment(ctx, bin), unit: unit, logf: logf}, nil
}

// phase runs one subject's measurement in a room where the peer publishes.
type phase struct {
	o        Options
	janus    *janustest.Server
	janusPID int
	peer     *browsertest.Browser
	peerPID  int
	room     uint64
	logf     func(string, ...any)
}

// peerJoin puts the peer in the room and waits until its video flows.
func (ph *phase) peerJoin(ctx context.Context, codec string) error {
	jctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	o := ph.o
	if err := ph.peer.Join(jctx, browsertest.Join{WebSocket: ph.janus.URL, Room: ph.room, PIN: roomPIN, Display: peerName,
		Width: o.Width, Height: o.Height, FPS: o.FPS, Codec: codec, Bitrate: o.Bitrate}); err != nil {
		return fmt.Errorf("benchmedia: peer: %w", err)
	}
	for {
		out, err := ph.peer.Outbound()
		if err != nil {
			return fmt.Errorf("benchmedia: peer: %w", err)
		}
		if out.FramesSent > 0 {
			return sleep(ctx, 2*time.Second) // let its encoder get going
		}
		if err := sleep(jctx, 50*time.Millisecond); err != nil {
			return fmt.Errorf("benchmedia: peer sends no video: %w (log: %v)", err, ph.peer.Log())
		}
	}
}

// waitAlone waits until Janus has nobody but the peer in the room, so every
// join starts from the same place.
func (ph *phase) waitAlone(ctx context.Context) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		ps, err := ph.janus.Participants(ph.room)
		if err != nil {
			return err
		}
		if len(ps) == 1 && ps[0].Display == peerName {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("benchmedia: Janus room %d still has %+v 10 s after the leave", ph.room, ps)
		}
		if err := sleep(ctx, 50*time.Millisecond); err != nil {
			return err
		}
	}
}

// firstFrameTimeout bounds one join; a join slower than slowJoin has its
// log shown when the subject keeps one.
const (
	firstFrameTimeout = 30 * time.Second
	slowJoin          = 5 * time.Second
)

func (ph *phase) measure(ctx context.Context, s subject) (Measured, error) {
	o := ph.o
	m := Measured{Name: s.name()}
	if err := ph.waitAlone(ctx); err != nil {
		return m, err
	}
	var err error
	if m.IdleBefore, err = TreeMemory(s.pid()); err != nil {
		return m, fmt.Errorf("%s: %w", s.name(), err)
	}
	var sampler *PeakSampler
	defer func() {
		if sampler != nil {
			sampler.Stop()
		}
	}()
	for i := range o.Joins {
		last := i == o.Joins-1
		if last {
			sampler = StartPeakSampler(s.pid(), 500*time.Millisecond)
		}
		start := time.Now()
		if err := s.join(ctx); err != nil {
			return m, fmt.Errorf("%s join %d: %w", s.name(), i+1, err)
		}
		for {
			n, err := s.framesDecoded(ctx)
			if err != nil {
				return m, fmt.Errorf("%s join %d: %w", s.name(), i+1, err)
			}
			if n > 0 {
				break
			}
			if time.Since(start) > firstFrameTimeout {
				return m, fmt.Errorf("benchmedia: %s join %d: no frame of the peer decoded within %v", s.name(), i+1, firstFrameTimeout)
			}
			if err := sleep(ctx, 10*time.Millisecond); err != nil {
				return m, err
			}
		}
		m.Joins = append(m.Joins, time.Since(start))
		ph.logf("%s join %d: first remote frame after %v", s.name(), i+1, m.Joins[i].Round(time.Millisecond))
		if jl, ok := s.(interface{ joinLog() string }); ok && m.Joins[i] > slowJoin {
			ph.logf("%s join %d was slow; its log:\n%s", s.name(), i+1, jl.joinLog())
		}
		if last {
			break
		}
		if err := s.leave(ctx); err != nil {
			return m, err
		}
		if err := ph.waitAlone(ctx); err != nil {
			return m, err
		}
		if err := sleep(ctx, time.Second); err != nil {
			return m, err
		}
	}

	ph.logf("%s: in the call; settling %v, then a %v window", s.name(), o.Settle, o.Window)
	if err := sleep(ctx, o.Settle); err != nil {
		return m, err
	}
	// A window in which other work took much of the machine is measured
	// again: on a shared machine the subject would be starved of CPU.
	for try := 0; ; try++ {
		w0, err := ph.snapshot(ctx, s)
		if err != nil {
			return m, err
		}
		if err := sleep(ctx, o.Window); err != nil {
			return m, err
		}
		w1, err := ph.snapshot(ctx, s)
		if err != nil {
			return m, err
		}
		w1.fill(&m, w0)
		if m.OtherPerMinute() <= o.MaxOtherLoad || try >= o.Retries {
			break
		}
		ph.logf("%s: other work used %.1f CPU-s per minute during the window; measuring it again", s.name(), m.OtherPerMinute().Seconds())
		m.Repeats++
	}
	peak, samples, err := sampler.Stop()
	sampler = nil
	if err != nil {
		return m, err
	}
	m.Peak, m.Samples = peak, samples
	ph.logf("%s: %.1f CPU-s per minute, peak PSS %.0f MiB", s.name(), m.CPUPerMinute.Seconds(), mib(m.Peak.PSS))

	if err := s.leave(ctx); err != nil {
		return m, err
	}
	if err := ph.waitAlone(ctx); err != nil {
		return m, err
	}
	// What a left call leaves behind: memory a long-running room never gets back.
	if err := sleep(ctx, idleAfterLeave); err != nil {
		return m, err
	}
	if m.IdleAfter, err = TreeMemory(s.pid()); err != nil {
		return m, fmt.Errorf("%s: %w", s.name(), err)
	}
	return m, nil
}

// idleAfterLeave is how long after the last leave the idle memory is read.
const idleAfterLeave = 3 * time.Second

// window is everything read at one edge of the measurement window.
type window struct {
	at                   time.Time
	cpu, janus, peer, pc time.Duration // pc: the whole machine
	codec                time.Duration // roomd's codec threads; 0 for the browser
	c                    counters
	far                  browsertest.Feed // the subject as the peer receives it
}

func (ph *phase) snapshot(ctx context.Context, s subject) (window, error) {
	var w window
	var err error
	w.at = time.Now()
	if w.cpu, err = TreeCPU(s.pid()); err != nil {
		return w, fmt.Errorf("%s: %w", s.name(), err)
	}
	if _, ok := s.(*roomdSubject); ok {
		if w.codec, err = ThreadsCPU(s.pid(), codecThreadPrefix); err != nil {
			return w, fmt.Errorf("%s: %w", s.name(), err)
		}
	}
	if w.janus, err = TreeCPU(ph.janusPID); err != nil {
		l := ph.janus.Log()
		return w, fmt.Errorf("janus: %w; the end of its log:\n%s", err, l[max(0, len(l)-8<<10):])
	}
	if w.peer, err = TreeCPU(ph.peerPID); err != nil {
		return w, fmt.Errorf("peer: %w", err)
	}
	if w.pc, err = machineBusy(); err != nil {
		return w, err
	}
	if w.c, err = s.counters(ctx); err != nil {
		return w, err
	}
	fs, err := ph.peer.Feeds()
	if err != nil {
		return w, fmt.Errorf("benchmedia: peer stats: %w", err)
	}
	f, ok := feedOf(fs, s.display())
	if !ok {
		return w, fmt.Errorf("benchmedia: the peer does not receive %s", s.display())
	}
	w.far = f
	return w, nil
}

// fill computes the window's figures from its two edges.
func (w1 window) fill(m *Measured, w0 window) {
	el := w1.at.Sub(w0.at)
	perMin := func(d time.Duration) time.Duration {
		return time.Duration(float64(d) * float64(time.Minute) / float64(el))
	}
	rate := func(a, b uint64) float64 { return float64(b-a) / el.Seconds() }
	ctr := func(a, b uint64) float64 { return float64(b-a) / w1.c.at.Sub(w0.c.at).Seconds() }
	m.Window = el
	m.CPUPerMinute = perMin(w1.cpu - w0.cpu)
	m.CodecPerMinute = perMin(w1.codec - w0.codec)
	m.JanusPerMinute = perMin(w1.janus - w0.janus)
	m.PeerPerMinute = perMin(w1.peer - w0.peer)
	m.MachinePerMinute = perMin(w1.pc - w0.pc)
	m.Sent = Flow{Size: w1.c.sentSize, FPS: ctr(w0.c.sentFrames, w1.c.sentFrames)}
	m.Received = Flow{Size: w1.c.recvSize, FPS: ctr(w0.c.recvFrames, w1.c.recvFrames)}
	m.AtPeer = Flow{Size: Size{w1.far.FrameWidth, w1.far.FrameHeight},
		FPS:     rate(uint64(w0.far.FramesDecoded), uint64(w1.far.FramesDecoded)),
		Bitrate: int(rate(uint64(w0.far.VideoBytes), uint64(w1.far.VideoBytes)) * 8)}
	m.Encoder = w1.c.encoder
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// median of ds; the mean of the middle two for an even count.
func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
