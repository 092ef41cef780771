package benchmedia

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/roomd/roomd/internal/siptest"
)

// SIPOptions configure RunSIP; zero fields take the defaults in brackets.
type SIPOptions struct {
	// Calls is how many timed calls each caller makes for the setup time,
	// alternating roomd and baresip [5].
	Calls int
	// Rounds is how many measured calls each caller makes, alternating
	// roomd and baresip (ABAB) [2].
	Rounds int
	Window time.Duration // CPU window of each measured call [30 s]
	Settle time.Duration // time in a measured call before its window [5 s]
	Width  int           // [1280]
	Height int           // [720]
	FPS    int           // [30]
	// Bitrate is every sender's video bitrate, bit/s [2.5 Mbit/s].
	Bitrate int
	// Roomd is a roomd binary; empty builds cmd/roomd with `go build`.
	Roomd string
	// Screen is how roomd shows the far end's video [none: decoded, not
	// drawn, as baresip's fakevideo display does].
	Screen Screen
	Log    io.Writer // progress [os.Stderr]
	// LogDir, if set, keeps roomd's and the baresips' logs there.
	LogDir string
	// Retries is how many times a measured call in which either side's
	// video fell under 90 % of FPS (the machine starved it) is made again
	// [2; negative for none]; the call whose video fared best is kept.
	Retries int
	// Nice, when not 0, is the nice value roomd and both baresips run
	// at: below 0 keeps other work on a shared machine from starving
	// them (it needs root or CAP_SYS_NICE).
	Nice int
}

func (o *SIPOptions) defaults() {
	if o.Calls == 0 {
		o.Calls = 5
	}
	if o.Rounds == 0 {
		o.Rounds = 2
	}
	if o.Window == 0 {
		o.Window = 30 * time.Second
	}
	if o.Settle == 0 {
		o.Settle = 5 * time.Second
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
	if o.Screen == "" {
		o.Screen = ScreenNone
	}
	if o.Retries == 0 {
		o.Retries = 2
	}
	if o.Log == nil {
		o.Log = os.Stderr
	}
}

func (o *SIPOptions) validate() error {
	var errs []error
	if o.Calls < 1 || o.Rounds < 1 {
		errs = append(errs, errors.New("benchmedia: at least one timed call and one round per caller"))
	}
	if o.Window < time.Second {
		errs = append(errs, errors.New("benchmedia: the window must be at least 1 s"))
	}
	if o.Screen != ScreenFramebuffer && o.Screen != ScreenNone {
		errs = append(errs, fmt.Errorf("benchmedia: roomd screen %q: use framebuffer or none", o.Screen))
	}
	return errors.Join(errs...)
}

// SIPReport is one SIP run's figures.
type SIPReport struct {
	Started time.Time
	Options SIPOptions
	Env     Environment
	Baresip string // baresip's version line
	// Roomd and Baresip are the two callers.
	Roomd, BaresipCaller Caller
	// Negotiated is what roomd's log says its calls carried.
	Negotiated string
	// Nice is the nice value the three processes ran at; NiceFailed
	// says why they did not run at the one asked for.
	Nice       int
	NiceFailed string
}

// Caller is one calling endpoint's figures.
type Caller struct {
	Name  string
	Setup []time.Duration // dial → first far-end frame decoded, in order
	// Windows are the measured calls' CPU windows, in order.
	Windows []SIPWindow
	Peak    Memory // over every measured call, from the dial on
	// Idle is the tree's memory before its first call.
	Idle    Memory
	Encoder string
	// Target is roomd's congestion-control target at the end of its
	// last window, bit/s; 0 for baresip, which has none.
	Target int
	// Repeats counts measured calls made again because a side's video
	// fell under 90 % of the frame rate.
	Repeats int
}

// starved says whether w's video, either way, fell under 90 % of fps.
func (w SIPWindow) starved(fps int) bool { return w.worstFPS() < 0.9*float64(fps) }

// worstFPS is the lower of the sent and received frame rates.
func (w SIPWindow) worstFPS() float64 { return min(w.Sent.FPS, w.Received.FPS) }

// SIPWindow is one measured call's CPU window.
type SIPWindow struct {
	Length time.Duration
	// Per minute: the caller's process tree, the far end's and the whole
	// machine's.
	CPU, Far, Machine time.Duration
	// Codec is the part of CPU spent on roomd's codec threads (every
	// video encode and decode); 0 for baresip, whose codec work cannot be
	// told apart from the rest.
	Codec time.Duration
	// Sent is the caller's video: size and frame rate as the far end
	// decodes it, bitrate as the caller counts what it sends (RTP
	// payload for roomd, RTP packets for baresip).
	Sent Flow
	// Received is the far end's video as the caller decodes it (rate
	// only).
	Received Flow
	// FarKeyFrames is how many key frames the far end decoded in the
	// call (baresip's video_debug n_keyframes).
	FarKeyFrames int
}

// CPUPerMinute is the caller's CPU per minute over all its windows.
func (c Caller) CPUPerMinute() time.Duration {
	var cpu, n time.Duration
	for _, w := range c.Windows {
		cpu += w.CPU
		n++
	}
	if n == 0 {
		return 0
	}
	return cpu / n
}

// farUser is the far end's user part.
const farUser = "far"

// sipCaller is an endpoint that calls the far end.
type sipCaller interface {
	pid() int
	// prepare readies the next call, before its timing starts.
	prepare(ctx context.Context) error
	// dial calls the far end; firstFrame waits until a picture of it has
	// been decoded; inCall readies the call to be measured.
	dial(ctx context.Context) error
	firstFrame(ctx context.Context) error
	inCall(ctx context.Context) error
	hangup(ctx context.Context) error
	// counters are the caller's running totals.
	counters(ctx context.Context) (sipCounters, error)
}

// sipCounters are a caller's running totals at one moment.
type sipCounters struct {
	at         time.Time
	sentBytes  uint64 // 0 when the caller reports a rate instead
	sentRate   int    // bit/s, when the caller reports only a rate
	target     int    // congestion control's target, bit/s
	recvFrames uint64
	codec      time.Duration // CPU of the codec threads so far; 0: not separable
	encoder    string
}

// RunSIP runs the SIP benchmark: roomd and baresip each call the same
// auto-answering baresip, alternately.
func RunSIP(ctx context.Context, o SIPOptions) (*SIPReport, error) {
	o.defaults()
	if err := o.validate(); err != nil {
		return nil, err
	}
	rep := &SIPReport{Started: time.Now(), Options: o}
	su, err := newSetup(ctx, o.Log, "bench-sip", o.Roomd)
	if err != nil {
		return nil, err
	}
	defer su.h.close()
	h, bin, env, logf := su.h, su.bin, su.unit, su.logf
	rep.Env = su.env
	rep.Env.RoomdEnv = env
	rep.Baresip = baresipVersion(ctx)

	var y4m string
	var far, bc *siptest.Baresip
	sendOpts := func(user string) *siptest.Options {
		return &siptest.Options{User: user, Encryption: siptest.EncryptionSDESMandatory,
			AudioCodecs: []string{"opus/48000/2"}, VideoCodecs: []string{"H264"}, VideoFile: y4m,
			VideoWidth: o.Width, VideoHeight: o.Height, VideoFPS: float64(o.FPS), VideoBitrate: o.Bitrate, NoAudioDump: true}
	}
	// baresip 1.0.0's avformat pauses for seconds where the file loops, so
	// the file outlasts every call.
	logf("writing the camera's Y4M")
	if y4m, err = cameraFile(ctx, memoryFile(h, "camera.y4m"), o.Width, o.Height, o.FPS, o.Settle+o.Window+5*time.Second); err != nil {
		return nil, err
	}
	if err := h.run(func() error {
		fo := sendOpts(farUser)
		fo.AutoAnswer = true
		far = siptest.StartBaresip(h, fo)
		bc = siptest.StartBaresip(h, sendOpts("caller"))
		return nil
	}); err != nil {
		return nil, err
	}
	uri := far.URI("tcp")
	cfg := roomdConfig{Name: roomdName, Video: "y4m:" + y4m, Width: o.Width, Height: o.Height, FPS: o.FPS,
		Codec: "h264", MaxBitrate: o.Bitrate, StartBitrate: o.Bitrate,
		UnmutePolicy: "anyone", Extra: "[sip]\nlisten_tcp = \"127.0.0.1:0\"\nencryption = \"required\"\nkeying = \"sdes\"\n"}
	if o.Screen == ScreenFramebuffer {
		cfg.Framebuffer = memoryFile(h, "fb")
	}
	rp, err := startRoomd(ctx, bin, h.TempDir(), cfg, env)
	if err != nil {
		return nil, err
	}
	defer rp.stop()
	keepLogs := func() {
		if o.LogDir == "" {
			return
		}
		var events strings.Builder
		for _, e := range bc.Events() {
			events.Write(e.Raw)
			events.WriteString("\n")
		}
		for name, l := range map[string]string{"roomd.log": rp.log.String(), "baresip-far.log": far.Log(), "baresip-caller.log": bc.Log(),
			"baresip-caller-events.json": events.String()} {
			if err := os.WriteFile(filepath.Join(o.LogDir, name), []byte(l), 0o644); err != nil {
				logf("keeping %s: %v", name, err)
			}
		}
	}
	defer keepLogs()

	if o.Nice != 0 {
		// Without the privilege the run goes on at the usual priority and
		// the report says so.
		err := ReniceSession(o.Nice)
		for _, pid := range []int{rp.pid(), far.PID(), bc.PID()} {
			if err == nil {
				err = Renice(pid, o.Nice)
			}
		}
		if err != nil {
			logf("running at the usual priority: %v", err)
			rep.NiceFailed = err.Error()
		} else {
			rep.Nice = o.Nice
		}
	}
	ph := &sipPhase{o: o, far: far, logf: logf}
	callers := []struct {
		c sipCaller
		m *Caller
	}{
		{&roomdCaller{p: rp, uri: uri}, &rep.Roomd},
		{&baresipCaller{b: bc, uri: uri, dir: bc.Dir()}, &rep.BaresipCaller},
	}
	rep.Roomd.Name, rep.BaresipCaller.Name = "roomd", "baresip"
	for _, c := range callers {
		if c.m.Idle, err = TreeMemory(c.c.pid()); err != nil {
			return nil, err
		}
	}
	// One call each first, untimed: the far end's and the callers' first
	// call pays for loading codecs and opening files.
	for _, c := range callers {
		if _, err := ph.timedCall(ctx, c.c); err != nil {
			return nil, fmt.Errorf("%s warm-up call: %w", c.m.Name, err)
		}
	}
	for i := range o.Calls {
		for _, c := range callers {
			d, err := ph.timedCall(ctx, c.c)
			if err != nil {
				return nil, fmt.Errorf("%s call %d: %w", c.m.Name, i+1, err)
			}
			logf("%s call %d: first far-end frame after %v", c.m.Name, i+1, d.Round(time.Millisecond))
			c.m.Setup = append(c.m.Setup, d)
		}
	}
	for r := range o.Rounds {
		for _, c := range callers {
			// Of the calls made, the one whose video fared best is kept.
			var w SIPWindow
			for try := 0; ; try++ {
				got, peak, err := ph.measuredCall(ctx, c.c, c.m)
				if err != nil {
					return nil, fmt.Errorf("%s round %d: %w", c.m.Name, r+1, err)
				}
				if peak.PSS > c.m.Peak.PSS {
					c.m.Peak = peak
				}
				if try == 0 || got.worstFPS() > w.worstFPS() {
					w = got
				}
				if !got.starved(o.FPS) || try >= o.Retries {
					break
				}
				logf("%s round %d: video at %.1f fps sent, %.1f fps received, other work %.1f CPU-s per minute; calling again",
					c.m.Name, r+1, got.Sent.FPS, got.Received.FPS, max(got.Machine-got.CPU-got.Far, 0).Seconds())
				c.m.Repeats++
			}
			c.m.Windows = append(c.m.Windows, w)
			logf("%s round %d: %.1f CPU-s per minute (far end %.1f), peak PSS so far %.0f MiB", c.m.Name, r+1, w.CPU.Seconds(), w.Far.Seconds(), mib(c.m.Peak.PSS))
		}
	}
	rep.Negotiated = negotiated(rp.log.String())
	return rep, nil
}

// sipPhase runs calls against the far end.
type sipPhase struct {
	o    SIPOptions
	far  *siptest.Baresip
	logf func(string, ...any)
}

// setupTimeout bounds one call's dial → first frame.
const setupTimeout = 20 * time.Second

// call dials and waits for the first frame of the far end; it returns the
// time between.
func (ph *sipPhase) call(ctx context.Context, c sipCaller) (time.Duration, error) {
	if err := c.prepare(ctx); err != nil {
		return 0, err
	}
	start := time.Now()
	if err := c.dial(ctx); err != nil {
		return 0, err
	}
	fctx, cancel := context.WithTimeout(ctx, setupTimeout)
	defer cancel()
	if err := c.firstFrame(fctx); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// end hangs c up and waits until the far end has closed the call too.
func (ph *sipPhase) end(ctx context.Context, c sipCaller) error {
	if err := c.hangup(ctx); err != nil {
		return err
	}
	if _, err := ph.far.WaitEvent(10*time.Second, func(e siptest.Event) bool { return e.Type == siptest.EventCallClosed }); err != nil {
		return fmt.Errorf("benchmedia: the far end did not close the call: %w", err)
	}
	// The far end's decoder statistics are logged as the call is freed.
	return sleep(ctx, time.Second)
}

func (ph *sipPhase) timedCall(ctx context.Context, c sipCaller) (time.Duration, error) {
	d, err := ph.call(ctx, c)
	if err != nil {
		return 0, err
	}
	return d, ph.end(ctx, c)
}

// measuredCall calls, settles and measures one window; memory is sampled
// from the dial to the end of the window.
func (ph *sipPhase) measuredCall(ctx context.Context, c sipCaller, m *Caller) (SIPWindow, Memory, error) {
	o := ph.o
	sampler := StartPeakSampler(c.pid(), 500*time.Millisecond)
	stopped := false
	stop := func() (Memory, error) {
		stopped = true
		peak, _, err := sampler.Stop()
		return peak, err
	}
	defer func() {
		if !stopped {
			sampler.Stop()
		}
	}()
	if _, err := ph.call(ctx, c); err != nil {
		return SIPWindow{}, Memory{}, err
	}
	if err := c.inCall(ctx); err != nil {
		return SIPWindow{}, Memory{}, err
	}
	if err := sleep(ctx, o.Settle); err != nil {
		return SIPWindow{}, Memory{}, err
	}
	type edge struct {
		at                time.Time
		cpu, far, machine time.Duration
		c                 sipCounters
		fv                videoDebug // the far end's
	}
	read := func() (edge, error) {
		e := edge{at: time.Now()}
		var err error
		if e.cpu, err = TreeCPU(c.pid()); err != nil {
			return e, err
		}
		if e.far, err = TreeCPU(ph.far.PID()); err != nil {
			return e, err
		}
		if e.machine, err = machineBusy(); err != nil {
			return e, err
		}
		if e.c, err = c.counters(ctx); err != nil {
			return e, err
		}
		e.fv, err = readVideoDebug(ph.far)
		return e, err
	}
	w0, err := read()
	if err != nil {
		return SIPWindow{}, Memory{}, err
	}
	if err := sleep(ctx, o.Window); err != nil {
		return SIPWindow{}, Memory{}, err
	}
	w1, err := read()
	if err != nil {
		return SIPWindow{}, Memory{}, err
	}
	peak, err := stop()
	if err != nil {
		return SIPWindow{}, Memory{}, err
	}
	el := w1.at.Sub(w0.at)
	perMin := func(d time.Duration) time.Duration {
		return time.Duration(float64(d) * float64(time.Minute) / float64(el))
	}
	rate := func(a, b uint64) float64 { return float64(b-a) / el.Seconds() }
	w := SIPWindow{Length: el, CPU: perMin(w1.cpu - w0.cpu), Far: perMin(w1.far - w0.far), Machine: perMin(w1.machine - w0.machine),
		Codec:    perMin(w1.c.codec - w0.c.codec),
		Sent:     Flow{Size: w1.fv.rxSize, FPS: rate(w0.fv.rxFrames, w1.fv.rxFrames), Bitrate: w1.c.sentRate},
		Received: Flow{FPS: rate(w0.c.recvFrames, w1.c.recvFrames)}}
	if w1.c.sentBytes > 0 {
		w.Sent.Bitrate = int(rate(w0.c.sentBytes, w1.c.sentBytes) * 8)
	}
	m.Encoder, m.Target = w1.c.encoder, w1.c.target
	w.FarKeyFrames = w1.fv.keyFrames
	return w, peak, ph.end(ctx, c)
}
