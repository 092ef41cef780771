package siptest

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/roomd/roomd/internal/testtool"
)

// LinphoneOptions tune a Linphone; nil means defaults.
type LinphoneOptions struct {
	// User is the user part of the agent's contact; empty means "linphone".
	User string
	// AutoAnswer answers incoming calls at once (linphonec -a).
	AutoAnswer bool
	// Video enables video (linphonec -V); the camera is a static picture
	// of red, green and blue bars (see CheckBars).
	Video bool
	// AudioCodecs enables only these audio codecs, in this order, by
	// linphone's mime/rate name: "PCMU/8000", "opus/48000", "G722/8000"...;
	// nil means linphone's defaults.
	AudioCodecs []string
	// VideoCodecs enables only these ("VP8", "H264"); nil means both.
	VideoCodecs []string
	// Account, when set, registers with a registrar (Account.Transport is
	// ignored: UDP).
	Account *Account
	// Binary is the linphonec executable; empty means "linphonec" from PATH.
	Binary string
}

// Linphone is a running linphonec, driven through its standard input.
type Linphone struct {
	// Port is the SIP port (UDP and TCP) on 127.0.0.1.
	Port int
	// User is the user part of the agent's address.
	User string

	t     testing.TB
	dir   string
	opts  LinphoneOptions
	proc  *process
	stdin *os.File // our end of linphonec's standard input

	mu    sync.Mutex
	lines []string // stdout lines so far
	read  int      // lines before it were consumed by WaitLine
}

// StartLinphone runs linphonec for the duration of t and stops it on
// cleanup. It fails t when linphonec is missing or does not come up. Under
// -short it skips t first.
func StartLinphone(t testing.TB, opts *LinphoneOptions) *Linphone {
	t.Helper()
	testtool.SkipInShortMode(t, "linphonec")
	return startLinphone(t, opts)
}

func startLinphone(t testing.TB, opts *LinphoneOptions) *Linphone {
	t.Helper()
	if opts == nil {
		opts = &LinphoneOptions{}
	}
	path := lookTool(t, opts.Binary, "linphonec", "linphone-cli", "Debian's linphonec 5.1")
	l := &Linphone{t: t, dir: shortTempDir(t, "linphone-"), opts: *opts, User: opts.User}
	if l.User == "" {
		l.User = "linphone"
	}
	if opts.Account != nil {
		l.User = opts.Account.User
	}
	l.Port = FreeSIPPort(t, 1)
	audioPort, videoPort := FreeSIPPort(t, 2), FreeSIPPort(t, 2)
	// liblinphone keeps its call database under $HOME; without the folder
	// it never brings its SIP transports up.
	if err := os.MkdirAll(filepath.Join(l.dir, ".local/share/linphone"), 0o700); err != nil {
		t.Fatalf("siptest: %v", err)
	}
	if err := os.WriteFile(filepath.Join(l.dir, "linphonerc"), []byte(l.config(audioPort, videoPort)), 0o600); err != nil {
		t.Fatalf("siptest: %v", err)
	}
	if err := writeBarsJPEG(filepath.Join(l.dir, "bars.jpg"), 640, 360); err != nil {
		t.Fatalf("siptest: %v", err)
	}
	if err := writeToneWAV(filepath.Join(l.dir, "tone.wav"), 16000, 440, 10*time.Second); err != nil {
		t.Fatalf("siptest: %v", err)
	}
	args := []string{"-c", filepath.Join(l.dir, "linphonerc"), "-d", "2", "-l", filepath.Join(l.dir, "linphone.log")}
	if opts.AutoAnswer {
		args = append(args, "-a")
	}
	if opts.Video {
		args = append(args, "-V")
	}
	l.proc = &process{name: "linphonec", bin: path, args: args, dir: l.dir,
		// MSAnalyseDisplay refuses the window methods once per frame.
		drop: func(line []byte) bool {
			return bytes.Contains(line, []byte("no such method on filter MSAnalyseDisplay"))
		}}
	t.Cleanup(func() {
		l.Stop()
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(l.dir, "linphone.log"))
			t.Logf("linphonec output:\n%s\nlinphone.log:\n%s", l.Log(), lastLines(string(log), 200))
		}
	})
	if err := l.start(); err != nil {
		t.Fatalf("siptest: linphonec: %v\nlinphonec output:\n%s", err, l.Log())
	}
	return l
}

// lastLines returns the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// linphoneAudioCodecs are the audio codecs Debian's liblinphone 5.1 loads,
// as its [audio_codec_N] sections name them (mime, rate, channels).
var linphoneAudioCodecs = [][3]string{
	{"opus", "48000", "2"}, {"speex", "16000", "1"}, {"speex", "8000", "1"}, {"PCMU", "8000", "1"},
	{"PCMA", "8000", "1"}, {"GSM", "8000", "1"}, {"G722", "8000", "1"}, {"G729", "8000", "1"},
	{"speex", "32000", "1"}, {"L16", "44100", "2"}, {"L16", "44100", "1"},
}

// config is the linphonerc. Only listed codecs are enabled when the
// options restrict them.
func (l *Linphone) config(audioPort, videoPort int) string {
	var c strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&c, format+"\n", args...) }
	line("[sip]\nbind_address=127.0.0.1\nsip_port=%d\nsip_tcp_port=%d\nsip_tls_port=0\nuse_ipv6=0", l.Port, l.Port)
	line("contact=sip:%s@127.0.0.1:%d\nguess_hostname=0\ninc_timeout=60\nmedia_encryption=none\nverify_server_certs=0", l.User, l.Port)
	line("register_only_when_network_is_up=0")
	if l.opts.Account != nil {
		line("default_proxy=0")
	}
	line("[rtp]\naudio_rtp_port=%d\nvideo_rtp_port=%d\nnortp_timeout=30", audioPort, videoPort)
	line("[sound]\nremote_ring=\nlocal_ring=\nringback_tone=\nplayback_dev_id=\ncapture_dev_id=")
	line("[video]\ndisplay=1\ncapture=1\nshow_local=0\nsize=vga\nautomatically_initiate=1\nautomatically_accept=1")
	// No window system here: a display filter that draws nowhere.
	line("displaytype=MSAnalyseDisplay")
	line("[misc]\nuser_certificates_path=%s", l.dir)
	if a := l.opts.Account; a != nil {
		// linphonec's "register" command adds an account that "status
		// register" does not see; the config makes it the default one.
		line("[proxy_0]\nreg_proxy=<sip:%s;transport=udp>\nreg_identity=sip:%s@%s\nreg_expires=%d\nreg_sendregister=1", a.Domain, a.User, a.Domain, max(int(a.RegInt/time.Second), 60))
		line("[auth_info_0]\nusername=%s\npasswd=%s\nrealm=%s\ndomain=%s", a.User, a.Password, strings.Split(a.Domain, ":")[0], a.Domain)
	}
	if want := l.opts.AudioCodecs; want != nil {
		n := 0
		enabled := map[string]bool{}
		for _, name := range want {
			mime, rate, _ := strings.Cut(name, "/")
			for _, k := range linphoneAudioCodecs {
				if strings.EqualFold(k[0], mime) && (rate == "" || rate == k[1]) && !enabled[k[0]+k[1]+k[2]] {
					enabled[k[0]+k[1]+k[2]] = true
					line("[audio_codec_%d]\nmime=%s\nrate=%s\nchannels=%s\nenabled=1", n, k[0], k[1], k[2])
					n++
				}
			}
		}
		for _, k := range linphoneAudioCodecs {
			if !enabled[k[0]+k[1]+k[2]] {
				line("[audio_codec_%d]\nmime=%s\nrate=%s\nchannels=%s\nenabled=0", n, k[0], k[1], k[2])
				n++
			}
		}
	}
	if want := l.opts.VideoCodecs; want != nil {
		n := 0
		on := map[string]bool{}
		for _, name := range want {
			on[strings.ToUpper(name)] = true
			line("[video_codec_%d]\nmime=%s\nrate=90000\nenabled=1", n, strings.ToUpper(name))
			n++
		}
		for _, name := range []string{"VP8", "H264"} {
			if !on[name] {
				line("[video_codec_%d]\nmime=%s\nrate=90000\nenabled=0", n, name)
				n++
			}
		}
	}
	return c.String()
}

func (l *Linphone) start() error {
	stdin, err := l.pipeStdout()
	if err != nil {
		return err
	}
	l.stdin = stdin
	exited, err := l.proc.start()
	if err != nil {
		return err
	}
	for _, cmd := range []string{
		"ipv6 disable", // the SDP would carry the interface's IPv6 address otherwise
		"soundcard use files",
		"play " + filepath.Join(l.dir, "tone.wav"),
		"record " + filepath.Join(l.dir, "received.wav"),
		"staticpic set " + filepath.Join(l.dir, "bars.jpg"),
	} {
		if err := l.send(cmd); err != nil {
			return err
		}
	}
	addr := fmt.Sprintf("127.0.0.1:%d", l.Port)
	if err := waitUntil(exited, 15*time.Second, "SIP on "+addr, func() bool { return optionsAnswered(addr) }); err != nil {
		l.proc.stop(syscall.SIGKILL, time.Second)
		return err
	}
	return nil
}

// pipeStdout prepares the process with pipes: commands in, lines out.
func (l *Linphone) pipeStdout() (*os.File, error) {
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	inR, inW, err := os.Pipe()
	if err != nil {
		pr.Close()
		pw.Close()
		return nil, err
	}
	l.proc.stdout = pw
	l.proc.stdin = inR
	l.proc.env = append(os.Environ(), "HOME="+l.dir)
	go func() {
		defer pr.Close()
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
		for sc.Scan() {
			text := sc.Text()
			_, _ = l.proc.log.Write([]byte(text + "\n"))
			// The prompt has no newline of its own: it prefixes the next
			// line.
			for strings.HasPrefix(text, "linphonec> ") {
				text = strings.TrimPrefix(text, "linphonec> ")
			}
			l.mu.Lock()
			l.lines = append(l.lines, text)
			l.mu.Unlock()
		}
	}()
	return inW, nil
}

// Stop quits linphonec (quit, then SIGTERM, then SIGKILL). Stopping twice
// does nothing.
func (l *Linphone) Stop() {
	if l.stdin != nil && l.proc.running() {
		_ = l.send("quit")
		select {
		case <-l.proc.exitedChan():
		case <-time.After(2 * time.Second):
		}
	}
	l.proc.stop(syscall.SIGTERM, 2*time.Second)
	if l.stdin != nil {
		l.stdin.Close()
	}
}

// Log returns what linphonec has printed on its console so far.
func (l *Linphone) Log() string { return l.proc.Log() }

// URI is the address to call this agent at directly.
func (l *Linphone) URI() string { return fmt.Sprintf("sip:%s@127.0.0.1:%d", l.User, l.Port) }

func (l *Linphone) send(cmd string) error {
	_ = l.stdin.SetWriteDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.WriteString(l.stdin, cmd+"\n"); err != nil {
		return fmt.Errorf("siptest: sending %q to linphonec: %w", cmd, err)
	}
	return nil
}

// Command sends one linphonec command line (see its "help" and "help
// advanced").
func (l *Linphone) Command(cmd string) {
	l.t.Helper()
	if err := l.send(cmd); err != nil {
		l.t.Fatal(err)
	}
}

// Call calls uri, with video when the agent has it.
func (l *Linphone) Call(uri string) { l.t.Helper(); l.Command("call " + uri) }

// Answer answers the ringing call.
func (l *Linphone) Answer() { l.t.Helper(); l.Command("answer") }

// Terminate hangs up the current call.
func (l *Linphone) Terminate() { l.t.Helper(); l.Command("terminate") }

// Console lines linphonec 5.1 prints for call events; pass them to
// WaitLine. (It prints nothing when a registration succeeds or fails: see
// WaitRegistered.)
var (
	LinphoneIncoming    = regexp.MustCompile(`^Receiving new incoming call from (\S+), assigned id (\d+)`)
	LinphoneConnected   = regexp.MustCompile(`^Call (\d+) with (\S+) connected\.`)
	LinphoneStreams     = regexp.MustCompile(`^Media streams established with (\S+) for call (\d+)`)
	LinphoneEnded       = regexp.MustCompile(`^Call (\d+) with (\S+) (ended \((.*)\)|error)\.?`)
	LinphoneCallFailure = regexp.MustCompile(`^Call (\d+) with (\S+) error`)
)

// WaitLine returns the submatches of the next console line, after those an
// earlier wait consumed, that one of res matches, and which of res it was.
// It fails the test after timeout.
func (l *Linphone) WaitLine(timeout time.Duration, res ...*regexp.Regexp) (which int, match []string) {
	l.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		l.mu.Lock()
		for i := l.read; i < len(l.lines); i++ {
			for k, re := range res {
				if m := re.FindStringSubmatch(l.lines[i]); m != nil {
					l.read = i + 1
					l.mu.Unlock()
					return k, m
				}
			}
		}
		l.mu.Unlock()
		if time.Now().After(deadline) {
			l.t.Fatalf("siptest: linphonec printed no line matching %v within %v", res, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Answers of linphonec's "status register".
var (
	linphoneRegOK     = regexp.MustCompile(`^registered, identity=(\S+)`)
	linphoneRegFailed = regexp.MustCompile(`^registered=-1`)
	linphoneRegNot    = regexp.MustCompile(`^registered=0`)
)

// WaitRegistered polls "status register" until the account is registered;
// it fails the test when timeout passes first (a refused registration stays
// "registered=0": linphonec's log says why).
func (l *Linphone) WaitRegistered(timeout time.Duration) {
	l.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		l.Command("status register")
		which, m := l.WaitLine(5*time.Second, linphoneRegOK, linphoneRegFailed, linphoneRegNot)
		if which == 0 {
			return
		}
		// registered=-1 (no default account) shows for a moment while
		// liblinphone loads the account from the config.
		if time.Now().After(deadline) {
			l.t.Fatalf("siptest: linphonec not registered within %v (status %q)", timeout, m[0])
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// ReceivedFrame saves the video linphonec is receiving as a JPEG and
// decodes it.
func (l *Linphone) ReceivedFrame(timeout time.Duration) (image.Image, error) {
	path := filepath.Join(l.dir, fmt.Sprintf("snap-%d.jpg", time.Now().UnixNano()))
	if err := l.send("snapshot " + path); err != nil {
		return nil, err
	}
	img, err := waitImage(path, jpeg.Decode, timeout)
	if err != nil {
		return nil, fmt.Errorf("siptest: linphonec saved no received video frame: %w", err)
	}
	return img, nil
}

// ReceivedAudio returns what linphonec recorded of the far end's audio in
// its last call. linphonec writes the WAV header when the call ends: read it
// after LinphoneEnded.
func (l *Linphone) ReceivedAudio() (Audio, error) {
	path := filepath.Join(l.dir, "received.wav")
	data, err := os.ReadFile(path)
	if err != nil {
		return Audio{}, fmt.Errorf("siptest: linphonec recorded nothing: %w", err)
	}
	a, err := parseWAV(data)
	a.Path = path
	return a, err
}

// writeBarsJPEG writes the red/green/blue bars CheckBars looks for.
func writeBarsJPEG(path string, w, h int) error {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	bars := []color.RGBA{{255, 0, 0, 255}, {0, 255, 0, 255}, {0, 0, 255, 255}}
	for x := 0; x < w; x++ {
		c := bars[min(x*3/w, 2)]
		for y := 0; y < h; y++ {
			img.SetRGBA(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 95}); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

// writeToneWAV writes a mono 16-bit sine tone.
func writeToneWAV(path string, rate, hz int, d time.Duration) error {
	n := int(d.Seconds() * float64(rate))
	var buf bytes.Buffer
	hdr := []any{[4]byte{'R', 'I', 'F', 'F'}, uint32(36 + 2*n), [4]byte{'W', 'A', 'V', 'E'},
		[4]byte{'f', 'm', 't', ' '}, uint32(16), uint16(1), uint16(1), uint32(rate), uint32(2 * rate), uint16(2), uint16(16),
		[4]byte{'d', 'a', 't', 'a'}, uint32(2 * n)}
	for _, v := range hdr {
		_ = binary.Write(&buf, binary.LittleEndian, v)
	}
	for i := 0; i < n; i++ {
		s := int16(12000 * math.Sin(2*math.Pi*float64(hz)*float64(i)/float64(rate)))
		_ = binary.Write(&buf, binary.LittleEndian, s)
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}
