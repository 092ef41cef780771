package siptest

import (
	"cmp"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/roomd/roomd/internal/testtool"
)

// MediaEncryption is baresip's account parameter mediaenc.
type MediaEncryption string

// Media encryption modes of baresip 1.0.0 (modules srtp and dtls_srtp).
const (
	// EncryptionNone offers and accepts plain RTP/AVP.
	EncryptionNone MediaEncryption = ""
	// EncryptionSDES offers RTP/AVP with SDES keys and uses SRTP when the
	// far end answers with a key ("srtp": best effort).
	EncryptionSDES MediaEncryption = "srtp"
	// EncryptionSDESMandatory offers RTP/SAVP and refuses plain RTP
	// ("srtp-mand").
	EncryptionSDESMandatory MediaEncryption = "srtp-mand"
	// EncryptionSDESMandatoryF is EncryptionSDESMandatory with RTP/SAVPF
	// ("srtp-mandf").
	EncryptionSDESMandatoryF MediaEncryption = "srtp-mandf"
	// EncryptionDTLS uses DTLS-SRTP, UDP/TLS/RTP/SAVPF ("dtls_srtp").
	EncryptionDTLS MediaEncryption = "dtls_srtp"
)

// Account is a SIP account that registers with a registrar.
type Account struct {
	// User and Password are the digest credentials; User is the AOR's user.
	User     string
	Password string
	// Domain is the registrar's host:port (the AOR's domain).
	Domain string
	// Transport is "udp" (empty), "tcp" or "tls".
	Transport string
	// RegInt is the registration interval; 0 means 60 s.
	RegInt time.Duration
}

// Options tune a Baresip; nil means defaults.
type Options struct {
	// User is the user part of the agent's address; empty means "baresip".
	// With Account set, Account.User is used instead.
	User string
	// Account, when set, registers with a registrar; nil means no
	// registration (calls by IP only).
	Account *Account
	// AutoAnswer answers incoming calls at once; otherwise they ring until
	// Accept.
	AutoAnswer bool
	// Encryption is the media encryption policy; empty means plain RTP.
	Encryption MediaEncryption
	// RTCPMux offers a=rtcp-mux and takes it when offered (config
	// rtcp_mux yes); false sends RTCP on the RTP port + 1, and with
	// EncryptionDTLS runs a second DTLS handshake there.
	RTCPMux bool
	// ICE loads baresip's ice module and sets the account's
	// medianat=ice: its offers and answers carry ICE credentials and host
	// candidates (baresip skips loopback addresses: give it and the far
	// end a non-loopback Addr) and it runs connectivity checks as a full
	// agent; a far end without ICE gets plain offer/answer.
	ICE bool
	// AudioCodecs limits and orders the audio codecs by baresip name, e.g.
	// "PCMU/8000/1" or "opus/48000/2"; nil means all loaded (opus, G722,
	// PCMU, PCMA).
	AudioCodecs []string
	// VideoCodecs limits and orders the video codecs, e.g. "H264" (baresip
	// offers packetization-mode=0 first) or "VP8"; nil means all loaded.
	VideoCodecs []string
	// VideoFile, when set, is sent as camera through the avformat module
	// (any file ffmpeg reads; it loops). Empty means fakevideo's bars: red,
	// green and blue thirds (see CheckBars).
	VideoFile string
	// VideoSize is the capture and encode size; zero means 640x360.
	VideoWidth, VideoHeight int
	// VideoFPS is the frame rate; 0 means 15.
	VideoFPS float64
	// VideoBitrate is the video encoder's bitrate, bit/s; 0 means 1 Mbit/s.
	VideoBitrate int
	// NoVideo leaves out video sources, codecs and displays: an audio-only
	// agent.
	NoVideo bool
	// ToneHz is the sine tone sent as microphone; 0 means 440 Hz.
	ToneHz int
	// TLS, when set, enables SIP over TLS on TLSPort with this certificate.
	TLS *Cert
	// RTPTimeout hangs up a call whose RTP stops for this long; 0 means
	// never.
	RTPTimeout time.Duration
	// NoAudioDump leaves out the sndfile module, which writes the audio of
	// every call to WAV files (ReceivedAudio and SentAudio then find none):
	// for measuring baresip's own cost.
	NoAudioDump bool
	// ExtraConfig lines are appended to baresip's config file.
	ExtraConfig []string
	// Binary is the baresip executable; empty means "baresip" from PATH.
	Binary string
	// Wrapper, when set, is a command prefix baresip runs under, e.g.
	// internal/netns's `ip netns exec <name>` to put it in another
	// network namespace (then set Addr to its address there).
	Wrapper []string
	// Addr is the IPv4 address baresip listens on for SIP, RTP and
	// ctrl_tcp; empty means 127.0.0.1.
	Addr string
}

// Baresip is a running baresip. Its ports stay the same across Restart.
type Baresip struct {
	// Port is the SIP port for UDP and TCP on Addr.
	Port int
	// TLSPort is the SIP over TLS port (Port+1, as baresip chooses it);
	// nothing listens there without Options.TLS.
	TLSPort int
	// CtrlAddr is the ctrl_tcp address.
	CtrlAddr string
	// User is the user part of the agent's address.
	User string
	// Addr is the address it listens on (Options.Addr).
	Addr string

	t    testing.TB
	dir  string
	opts Options
	proc *process
	ctrl *ctrlConn

	snapshots atomic.Int64 // names snapshot files apart
}

// StartBaresip runs baresip for the duration of t and stops it on cleanup.
// It fails t when baresip is missing or does not come up. Under -short it
// skips t first.
func StartBaresip(t testing.TB, opts *Options) *Baresip {
	t.Helper()
	testtool.SkipInShortMode(t, "baresip")
	return startBaresip(t, opts)
}

// startBaresip is StartBaresip without the -short skip.
func startBaresip(t testing.TB, opts *Options) *Baresip {
	t.Helper()
	if opts == nil {
		opts = &Options{}
	}
	path := lookTool(t, opts.Binary, "baresip", "baresip-core baresip-ffmpeg", "Debian's baresip 1.0.0")
	modDir, err := baresipModuleDir()
	if err != nil {
		t.Fatalf("siptest: %v", err)
	}
	b := &Baresip{t: t, dir: shortTempDir(t, "baresip-"), opts: *opts}
	b.User = opts.User
	if opts.Account != nil {
		b.User = opts.Account.User
	}
	if b.User == "" {
		b.User = "baresip"
	}
	b.Port = FreeSIPPort(t, 2)
	b.TLSPort = b.Port + 1
	b.Addr = cmp.Or(opts.Addr, "127.0.0.1")
	b.CtrlAddr = net.JoinHostPort(b.Addr, strconv.Itoa(freeTCPPort(t)))
	if err := os.WriteFile(filepath.Join(b.dir, "config"), []byte(b.config(modDir)), 0o644); err != nil {
		t.Fatalf("siptest: %v", err)
	}
	// No accounts at start: the agent is created with uanew once the
	// control connection is up, so no registration event is missed.
	if err := os.WriteFile(filepath.Join(b.dir, "accounts"), nil, 0o600); err != nil {
		t.Fatalf("siptest: %v", err)
	}
	b.proc = &process{name: "baresip", bin: path, args: []string{"-f", b.dir}, dir: b.dir}
	if len(opts.Wrapper) > 0 {
		b.proc.bin, b.proc.args = opts.Wrapper[0], append(append(opts.Wrapper[1:len(opts.Wrapper):len(opts.Wrapper)], path), b.proc.args...)
	}
	t.Cleanup(func() {
		b.Stop()
		b.proc.attachLogOnFailure(t)
	})
	if err := b.start(); err != nil {
		t.Fatalf("siptest: baresip: %v\nbaresip output:\n%s", err, b.Log())
	}
	return b
}

// baresipModuleDir finds the folder with baresip's modules.
func baresipModuleDir() (string, error) {
	candidates, _ := filepath.Glob("/usr/lib/*/baresip/modules")
	candidates = append([]string{"/usr/lib/baresip/modules", "/usr/local/lib/baresip/modules"}, candidates...)
	for _, d := range candidates {
		if _, err := os.Stat(filepath.Join(d, "ctrl_tcp.so")); err == nil {
			return d, nil
		}
	}
	return "", fmt.Errorf("baresip's ctrl_tcp module is not in /usr/lib/baresip/modules; reinstall baresip-core")
}

// config is baresip's config file. Keys are those of baresip 1.0.0
// (src/config.c and the modules' own).
func (b *Baresip) config(modDir string) string {
	o := b.opts
	w, h, fps, tone, rate := o.VideoWidth, o.VideoHeight, o.VideoFPS, o.ToneHz, o.VideoBitrate
	if w == 0 || h == 0 {
		w, h = 640, 360
	}
	if fps == 0 {
		fps = 15
	}
	if tone == 0 {
		tone = 440
	}
	if rate == 0 {
		rate = 1_000_000
	}
	var c strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&c, format+"\n", args...) }
	line("poll_method epoll")
	line("sip_listen %s", net.JoinHostPort(b.Addr, strconv.Itoa(b.Port)))
	if o.TLS != nil {
		line("sip_certificate %s", o.TLS.KeyAndCertFile)
		line("sip_cafile %s", o.TLS.CAFile)
	}
	line("net_interface %s", b.Addr) // interface names are refused; an address works
	line("call_local_timeout 120")
	line("call_max_calls 4")
	// ausine produces only 48 kHz stereo; the core resamples for the codec.
	line("audio_source ausine,%d", tone)
	line("audio_alert ausine,%d", tone)
	line("ausrc_srate 48000")
	line("ausrc_channels 2")
	line("auplay_srate 48000")
	line("audio_buffer 20-160")
	if !o.NoVideo {
		if o.VideoFile != "" {
			line("video_source avformat,%s", o.VideoFile)
		} else {
			line("video_source fakevideo,nil")
		}
		// Without a display module baresip offers video sendonly; fakevideo's
		// display discards frames after the snapshot filter has seen them.
		line("video_display fakevideo,nil")
		line("video_size %dx%d", w, h)
		line("video_fps %.2f", fps)
		line("video_bitrate %d", rate)
	}
	line("rtp_tos 0")
	if o.RTCPMux {
		line("rtcp_mux yes")
	} else {
		line("rtcp_mux no")
	}
	line("jitter_buffer_delay 1-10")
	if o.RTPTimeout > 0 {
		line("rtp_timeout %d", int((o.RTPTimeout+time.Second-1)/time.Second))
	}
	line("module_path %s", modDir)
	for _, m := range []string{"g711", "g722", "opus", "ausine", "sndfile", "srtp", "dtls_srtp"} {
		if m == "sndfile" && o.NoAudioDump {
			continue
		}
		line("module %s.so", m)
	}
	if !o.NoVideo {
		for _, m := range []string{"avcodec", "vp8", "fakevideo", "snapshot"} {
			line("module %s.so", m)
		}
		if o.VideoFile != "" {
			line("module avformat.so")
		}
	}
	if o.ICE {
		line("module ice.so")
	}
	line("module_tmp account.so")
	line("module_app menu.so")
	line("module_app ctrl_tcp.so")
	line("ctrl_tcp_listen %s", b.CtrlAddr)
	line("statmode_default off")
	line("menu_bell no")
	line("snd_path %s", b.dir)
	line("opus_bitrate 32000")
	for _, l := range o.ExtraConfig {
		line("%s", l)
	}
	return c.String()
}

// accountLine is the agent's line in baresip's accounts format (the uanew
// command takes the same).
func (b *Baresip) accountLine() string {
	o := b.opts
	var uri string
	params := []string{}
	if a := o.Account; a != nil {
		uri = fmt.Sprintf("<sip:%s@%s", a.User, a.Domain)
		if a.Transport != "" && a.Transport != "udp" {
			uri += ";transport=" + a.Transport
		}
		uri += ">"
		reg := a.RegInt
		if reg == 0 {
			reg = time.Minute
		}
		params = append(params, "auth_pass="+a.Password, fmt.Sprintf("regint=%d", int(reg/time.Second)))
	} else {
		uri = fmt.Sprintf("<sip:%s@%s>", b.User, b.Addr)
		params = append(params, "regint=0")
	}
	if o.AutoAnswer {
		params = append(params, "answermode=auto")
	} else {
		params = append(params, "answermode=manual")
	}
	if o.Encryption != EncryptionNone {
		params = append(params, "mediaenc="+string(o.Encryption))
	}
	if o.ICE {
		params = append(params, "medianat=ice")
	}
	if len(o.AudioCodecs) > 0 {
		params = append(params, "audio_codecs="+strings.Join(o.AudioCodecs, ","))
	}
	if len(o.VideoCodecs) > 0 {
		params = append(params, "video_codecs="+strings.Join(o.VideoCodecs, ","))
	}
	return uri + ";" + strings.Join(params, ";")
}

func (b *Baresip) start() error {
	exited, err := b.proc.start()
	if err != nil {
		return err
	}
	// ctrl_tcp serves one connection and forgets the current one whenever
	// any connection closes, so there is no separate probe: the first
	// connection that succeeds is the one that stays.
	var c *ctrlConn
	if err := waitUntil(exited, 10*time.Second, "ctrl_tcp port "+b.CtrlAddr, func() bool {
		c, _ = dialCtrl(b.CtrlAddr)
		return c != nil
	}); err != nil {
		b.proc.stop(syscall.SIGKILL, time.Second)
		return err
	}
	b.ctrl = c
	if _, err := b.Command("uanew", b.accountLine()); err != nil {
		b.proc.stop(syscall.SIGKILL, time.Second)
		return fmt.Errorf("creating the user agent: %w", err)
	}
	return nil
}

// Restart stops baresip (calls on it end) and starts it again on the same
// ports; events of the previous run are dropped.
func (b *Baresip) Restart() {
	b.t.Helper()
	b.Stop()
	if err := b.start(); err != nil {
		b.t.Fatalf("siptest: baresip restart: %v\nbaresip output:\n%s", err, b.Log())
	}
}

// Stop ends baresip (SIGTERM, SIGKILL after 3 s). Stopping twice does
// nothing.
func (b *Baresip) Stop() {
	if b.ctrl != nil {
		b.ctrl.close()
	}
	b.proc.stop(syscall.SIGTERM, 3*time.Second)
}

// Kill ends baresip at once with SIGKILL, as a crash or power cut would: it
// sends no BYE.
func (b *Baresip) Kill() {
	if b.ctrl != nil {
		b.ctrl.close()
	}
	b.proc.stop(syscall.SIGKILL, time.Second)
}

// PID is the process ID of the running baresip, 0 when it is not running.
func (b *Baresip) PID() int { return b.proc.pid() }

// Running reports whether baresip is up.
func (b *Baresip) Running() bool { return b.proc.running() }

// Log returns everything baresip has printed so far.
func (b *Baresip) Log() string { return b.proc.Log() }

// Dir is baresip's configuration directory (also where it writes snapshots
// and audio dumps).
func (b *Baresip) Dir() string { return b.dir }

// URI is the address to call this agent at directly over transport ("udp",
// "tcp" or "tls"; empty means udp).
func (b *Baresip) URI(transport string) string {
	switch transport {
	case "tls":
		return fmt.Sprintf("sips:%s@%s:%d", b.User, b.Addr, b.TLSPort)
	case "tcp":
		return fmt.Sprintf("sip:%s@%s:%d;transport=tcp", b.User, b.Addr, b.Port)
	default:
		return fmt.Sprintf("sip:%s@%s:%d", b.User, b.Addr, b.Port)
	}
}

// AOR is the agent's address of record: with an Account, user@domain at
// the registrar.
func (b *Baresip) AOR() string {
	if a := b.opts.Account; a != nil {
		return fmt.Sprintf("sip:%s@%s", a.User, a.Domain)
	}
	return fmt.Sprintf("sip:%s@%s", b.User, b.Addr)
}
