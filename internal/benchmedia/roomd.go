package benchmedia

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/roomd/roomd/internal/testtool"

	"github.com/roomd/roomd/control/consoleclient"
	"github.com/roomd/roomd/internal/debugserver"
	"github.com/roomd/roomd/room"
)

// BuildRoomd builds cmd/roomd with `go build` (version from git describe, as
// make build does) into dir and returns the binary's path. It must run
// inside the roomd module.
func BuildRoomd(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "roomd")
	version := "dev"
	if out, err := exec.CommandContext(ctx, "git", "describe", "--always", "--dirty").Output(); err == nil {
		version = strings.TrimSpace(string(out))
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-ldflags", "-X main.version="+version, "-o", bin, "github.com/roomd/roomd/cmd/roomd")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("benchmedia: go build roomd (run from the roomd module): %v\n%s", err, out)
	}
	return bin, nil
}

// roomdConfig is the part of roomd's configuration the benchmark sets.
type roomdConfig struct {
	Name       string // the display name others see
	Video      string // "pattern" or "y4m:PATH"
	Width      int
	Height     int
	FPS        int
	Codec      string // "vp8" or "h264"
	MaxBitrate int
	// Record makes roomd compose its screen at FPS into a Y4M file;
	// Framebuffer into an XRGB8888 framebuffer file. Neither: no display
	// output.
	Record      string
	Framebuffer string
	// StartBitrate, when set, is congestion control's starting point.
	StartBitrate int
	// UnmutePolicy is [room] unmute_policy; empty leaves the default.
	UnmutePolicy string
	// Extra is more TOML (whole sections), appended.
	Extra string
}

func (c roomdConfig) toml(dir string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "state_dir = %q\nruntime_dir = %q\n\n", filepath.Join(dir, "state"), filepath.Join(dir, "run"))
	fmt.Fprintf(&b, "[room]\nname = %q\n", c.Name)
	if c.UnmutePolicy != "" {
		fmt.Fprintf(&b, "unmute_policy = %q\n", c.UnmutePolicy)
	}
	b.WriteString("\n[board]\nprofile = \"sim\"\n\n")
	b.WriteString("[console]\nsocket = \"control.sock\"\n\n[log]\nformat = \"text\"\n\n")
	b.WriteString("[debug]\nlisten = \"127.0.0.1:0\"\n\n")
	// The touch panel runs as on the device, on a free port.
	b.WriteString("[panel]\nlisten = \"127.0.0.1:0\"\n\n")
	fmt.Fprintf(&b, "[media]\nvideo = %q\naudio = \"tone\"\nwidth = %d\nheight = %d\nfps = %d\ncodecs = [%q]\nmax_bitrate = %d\n",
		c.Video, c.Width, c.Height, c.FPS, c.Codec, c.MaxBitrate)
	if c.StartBitrate > 0 {
		fmt.Fprintf(&b, "start_bitrate = %d\n", c.StartBitrate)
	}
	if c.Record != "" {
		fmt.Fprintf(&b, "record = %q\n", c.Record)
	}
	if c.Framebuffer != "" {
		fmt.Fprintf(&b, "framebuffer = %q\n", "file:"+c.Framebuffer)
	}
	if c.Record != "" || c.Framebuffer != "" {
		fmt.Fprintf(&b, "display_width = %d\ndisplay_height = %d\n", c.Width, c.Height)
	}
	if c.Extra != "" {
		b.WriteString("\n" + c.Extra)
	}
	return b.String()
}

// roomdProcess is the real roomd binary running on the simulated board.
type roomdProcess struct {
	cmd    *exec.Cmd
	debug  string // http://127.0.0.1:PORT
	ctl    *consoleclient.Client
	log    testtool.LockedBuffer
	exited chan struct{}
	name   string
}

// debugURL finds the debug endpoint in roomd's log (other lines name the
// touch panel's address).
var debugURL = regexp.MustCompile(`simulated board endpoint" url=http://(127\.0\.0\.1:\d+)/`)

// startRoomd runs bin --sim with cfg in env (unitEnvironment) and connects
// to its control socket.
func startRoomd(ctx context.Context, bin, dir string, cfg roomdConfig, env []string) (*roomdProcess, error) {
	path := filepath.Join(dir, "roomd.toml")
	if err := os.WriteFile(path, []byte(cfg.toml(dir)), 0o644); err != nil {
		return nil, fmt.Errorf("benchmedia: %w", err)
	}
	p := &roomdProcess{exited: make(chan struct{}), name: cfg.Name}
	p.cmd = exec.Command(bin, "--sim", "--config", path)
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = &p.log, &p.log
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("benchmedia: starting roomd: %w", err)
	}
	go func() { p.cmd.Wait(); close(p.exited) }()
	fail := func(err error) (*roomdProcess, error) {
		p.stop()
		return nil, fmt.Errorf("benchmedia: roomd: %w\nroomd log:\n%s", err, p.log.String())
	}
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if m := debugURL.FindStringSubmatch(p.log.String()); m != nil {
			p.debug = "http://" + m[1]
			break
		}
		select {
		case <-p.exited:
			return fail(fmt.Errorf("exited during start-up (%v)", p.cmd.ProcessState))
		default:
		}
		if time.Now().After(deadline) {
			return fail(fmt.Errorf("no debug endpoint in the log within 15 s"))
		}
	}
	var err error
	sock := filepath.Join(dir, "run", "control.sock")
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if p.ctl, err = consoleclient.Dial(sock); err == nil {
			break
		}
		if time.Now().After(deadline) {
			return fail(err)
		}
	}
	return p, nil
}

func (p *roomdProcess) pid() int { return p.cmd.Process.Pid }

// stop ends roomd as systemd would: SIGTERM, then SIGKILL after 3 s.
func (p *roomdProcess) stop() {
	if p.ctl != nil {
		p.ctl.Close()
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(3 * time.Second):
		p.cmd.Process.Kill()
		<-p.exited
	}
}

// explain says whether roomd is still running and shows the end of its log,
// for an error message.
func (p *roomdProcess) explain() string {
	state := "roomd is still running"
	select {
	case <-p.exited:
		state = fmt.Sprintf("roomd exited: %v", p.cmd.ProcessState)
	default:
	}
	l := p.log.String()
	if len(l) > 8<<10 {
		l = "…" + l[len(l)-8<<10:]
	}
	return state + "; its log:\n" + l
}

// exec runs one request on the control socket.
func (p *roomdProcess) exec(ctx context.Context, line string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := p.ctl.Exec(ctx, line)
	if err != nil {
		return fmt.Errorf("benchmedia: roomd %q: %w (%s)", line, err, strings.Join(out, " | "))
	}
	return nil
}

// engineStats is roomd's GET /media (media/call.Stats).
type engineStats struct {
	Encoder       string
	FramesSent    uint64
	FramesDecoded map[string]uint64
	Received      map[string]struct{ Width, Height int }
}

// roomState is the part of roomd's GET /room the benchmark reads.
type roomState struct {
	Call       room.CallState
	CallReason string
	Media      room.CallMedia
}

func (p *roomdProcess) get(ctx context.Context, path string, v any) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.debug+path, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("benchmedia: roomd GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("benchmedia: roomd GET %s: %s", path, resp.Status)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("benchmedia: roomd GET %s: %w", path, err)
	}
	return debugserver.Decode(b, v) // the endpoint's snake_case keys into Go field names
}

// roomdSubject is roomd as the participant under measurement.
type roomdSubject struct {
	p      *roomdProcess
	link   string // janus+ws://…/?room=ID
	pin    string
	peer   string // the peer's display name
	screen Screen
	camera Camera
	// logMark is the length of roomd's log when the last join was issued.
	logMark int
}

// joinLog is roomd's log since the last join was issued, to explain a slow
// join.
func (s *roomdSubject) joinLog() string { return s.p.log.String()[s.logMark:] }

func (s *roomdSubject) name() string {
	return "roomd (camera: " + string(s.camera) + ", screen: " + string(s.screen) + ")"
}
func (s *roomdSubject) display() string { return s.p.name }
func (s *roomdSubject) pid() int        { return s.p.pid() }

// prepare turns camera privacy off before the joins: under unmute_policy
// "anyone" calls from the console keep it off, and the camera is sent,
// not the privacy slate.
func (s *roomdSubject) prepare(ctx context.Context) error {
	return s.p.exec(ctx, "xCommand Video Camera Privacy Set Mode: Off")
}

// join joins and opens the microphone, which a join from the console
// closes: Chromium sends its microphone from the start too.
func (s *roomdSubject) join(ctx context.Context) error {
	s.logMark = s.p.log.Len()
	if err := s.p.exec(ctx, fmt.Sprintf("xCommand Call Join Uri: %q Passcode: %q", s.link, s.pin)); err != nil {
		return err
	}
	return s.p.exec(ctx, "xCommand Audio Microphones Unmute")
}

// peerSize is the size of the last picture of the peer roomd decoded.
func peerSize(st engineStats, peer string) Size {
	for id, r := range st.Received {
		if strings.HasPrefix(id, peer+"#") && r.Width > 0 {
			return Size{r.Width, r.Height}
		}
	}
	return Size{}
}

// peerFrames is FramesDecoded of the peer in /media; roomd keys remote
// participants "display#feed".
func peerFrames(st engineStats, peer string) uint64 {
	var n uint64
	for id, f := range st.FramesDecoded {
		if strings.HasPrefix(id, peer+"#") {
			n += f
		}
	}
	return n
}

func (s *roomdSubject) framesDecoded(ctx context.Context) (uint64, error) {
	var st engineStats
	if err := s.p.get(ctx, "/media", &st); err != nil {
		return 0, err
	}
	if n := peerFrames(st, s.peer); n > 0 {
		return n, nil
	}
	// A failed join shows in the room's state; stop waiting for it.
	var rs roomState
	if err := s.p.get(ctx, "/room", &rs); err != nil {
		return 0, err
	}
	if rs.Call == room.Failed {
		return 0, fmt.Errorf("benchmedia: roomd's join failed: %s", rs.CallReason)
	}
	return 0, nil
}

func (s *roomdSubject) leave(ctx context.Context) error {
	if err := s.p.exec(ctx, "xCommand Call Leave"); err != nil {
		return err
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		var rs roomState
		if err := s.p.get(ctx, "/room", &rs); err != nil {
			return err
		}
		if rs.Call == room.Idle {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("benchmedia: roomd still %v 10 s after Call Leave", rs.Call)
		}
	}
}

func (s *roomdSubject) counters(ctx context.Context) (counters, error) {
	var st engineStats
	var rs roomState
	if err := s.p.get(ctx, "/media", &st); err != nil {
		return counters{}, err
	}
	if err := s.p.get(ctx, "/room", &rs); err != nil {
		return counters{}, err
	}
	// The encoder status says why as well as what ("hardware: none found;
	// using libvpx software (VP8)"); the table wants what.
	// In passthrough the status goes on about the privacy slate's encoder.
	enc := st.Encoder
	if i := strings.Index(enc, " passed through"); i >= 0 {
		enc = enc[:i+len(" passed through")]
	} else if i := strings.LastIndex(enc, "; "); i >= 0 {
		enc = enc[i+2:]
	}
	return counters{
		at:         time.Now(),
		sentFrames: st.FramesSent,
		sentSize:   Size{rs.Media.Width, rs.Media.Height},
		recvFrames: peerFrames(st, s.peer),
		recvSize:   peerSize(st, s.peer),
		encoder:    enc,
	}, nil
}
