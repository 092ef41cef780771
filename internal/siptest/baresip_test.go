package siptest_test

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roomd/roomd/internal/siptest"
	"github.com/roomd/roomd/internal/testtool"
)

// establish waits for CALL_ESTABLISHED on both agents.
func establish(t *testing.T, caller, callee *siptest.Baresip) {
	t.Helper()
	for _, b := range []*siptest.Baresip{caller, callee} {
		ev, err := b.WaitEvent(10*time.Second, func(e siptest.Event) bool {
			return e.Type == siptest.EventCallEstablished || e.Type == siptest.EventCallClosed
		})
		if err != nil {
			t.Fatalf("%s: %v", b.User, err)
		}
		if ev.Type != siptest.EventCallEstablished {
			t.Fatalf("%s: call closed before it was established: %q", b.User, ev.Param)
		}
	}
}

// Two baresips call each other by IP: video both ways shows the other's
// bars, audio flows both ways and is not silence, DTMF arrives in order, and
// hang-up reaches the callee with a reason.
func TestBaresipDirectCallWithVideoAudioAndDTMF(t *testing.T) {
	begin := time.Now()
	callee := siptest.StartBaresip(t, &siptest.Options{User: "bob", AutoAnswer: true})
	t.Logf("baresip up in %v (SIP %d, ctrl %s)", time.Since(begin), callee.Port, callee.CtrlAddr)
	caller := siptest.StartBaresip(t, &siptest.Options{User: "alice"})

	callStart := time.Now()
	caller.Dial(callee.URI("udp"))
	establish(t, caller, callee)
	t.Logf("INVITE to established: %v", time.Since(callStart))

	for _, b := range []*siptest.Baresip{caller, callee} {
		img, err := b.ReceivedFrame(10 * time.Second)
		if err != nil {
			t.Fatalf("%s: %v", b.User, err)
		}
		if err := siptest.CheckBars(img); err != nil {
			t.Errorf("%s received: %v", b.User, err)
		}
		if s := img.Bounds().Size(); s.X != 640 || s.Y != 360 {
			t.Errorf("%s received %v, want 640x360", b.User, s)
		}
	}
	t.Logf("INVITE to both sides decoding video: %v", time.Since(callStart))

	caller.SendDTMF("159#")
	deadline := time.Now().Add(5 * time.Second)
	for callee.DTMFReceived() != "159#" && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if got := callee.DTMFReceived(); got != "159#" {
		t.Errorf("callee received DTMF %q, want 159#", got)
	}

	for _, b := range []*siptest.Baresip{caller, callee} {
		a, err := b.ReceivedAudio()
		if err != nil {
			t.Fatalf("%s: %v", b.User, err)
		}
		if a.Duration() < 500*time.Millisecond || a.RMS() < 1000 {
			t.Errorf("%s received %v of audio at RMS %.0f from %s; want a tone", b.User, a.Duration(), a.RMS(), a.Path)
		}
	}

	caller.Hangup()
	ev := callee.Expect(5*time.Second, siptest.EventCallClosed)
	if !strings.Contains(ev.Param, "peer") {
		t.Errorf("callee's close reason %q, want the peer's hang-up", ev.Param)
	}
}

// Media encryption between two baresips: SDES (mandatory) and DTLS-SRTP
// establish with video; a mandatory-SRTP caller and a plain-RTP callee do
// not, and the close reason says something.
func TestBaresipMediaEncryption(t *testing.T) {
	for _, enc := range []siptest.MediaEncryption{siptest.EncryptionSDESMandatory, siptest.EncryptionDTLS} {
		t.Run(string(enc), func(t *testing.T) {
			callee := siptest.StartBaresip(t, &siptest.Options{User: "bob", AutoAnswer: true, Encryption: enc})
			caller := siptest.StartBaresip(t, &siptest.Options{User: "alice", Encryption: enc})
			caller.Dial(callee.URI("udp"))
			establish(t, caller, callee)
			img, err := callee.ReceivedFrame(10 * time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if err := siptest.CheckBars(img); err != nil {
				t.Error(err)
			}
			var menc []string
			for _, e := range caller.Events() {
				if e.Type == siptest.EventCallMenc {
					menc = append(menc, e.Param)
				}
			}
			t.Logf("%s: CALL_MENC %q", enc, menc)
			if enc == siptest.EncryptionSDESMandatory && (len(menc) == 0 || !strings.Contains(menc[0], "AES_CM_128")) {
				t.Errorf("SDES call reported encryption %q; want an AES_CM suite", menc)
			}
			if enc == siptest.EncryptionDTLS && !strings.Contains(strings.Join(menc, " "), "audio,RTP") {
				t.Errorf("DTLS call reported encryption %q; want the audio RTP handshake", menc)
			}
			caller.Hangup()
		})
	}
	t.Run("mandatory-vs-plain", func(t *testing.T) {
		callee := siptest.StartBaresip(t, &siptest.Options{User: "bob", AutoAnswer: true, NoVideo: true})
		caller := siptest.StartBaresip(t, &siptest.Options{User: "alice", Encryption: siptest.EncryptionSDESMandatory, NoVideo: true})
		caller.Dial(callee.URI("udp"))
		ev := caller.Expect(10*time.Second, siptest.EventCallEstablished, siptest.EventCallClosed)
		if ev.Type != siptest.EventCallClosed || ev.Param == "" {
			t.Errorf("srtp-mand caller against a plain callee: %v; want CALL_CLOSED with a reason", ev)
		}
		t.Logf("refused: %v", ev)
	})
}

// A ringing call waits for Accept; hold and resume are re-INVITEs the far
// end accepts; a killed callee sends no BYE, so the caller's RTP timeout
// closes the call; Restart brings the agent back on its port.
func TestBaresipAcceptHoldKillRestart(t *testing.T) {
	callee := siptest.StartBaresip(t, &siptest.Options{User: "bob", NoVideo: true})
	caller := siptest.StartBaresip(t, &siptest.Options{User: "alice", NoVideo: true, RTPTimeout: 2 * time.Second})
	caller.Dial(callee.URI("tcp"))
	callee.Expect(5*time.Second, siptest.EventCallIncoming)
	caller.Expect(5*time.Second, siptest.EventCallRinging)
	callee.Accept()
	establish(t, caller, callee)

	// Each re-INVITE reaches the callee as a new offer and its answer
	// reaches the caller. Waiting for the answer matters: baresip checks
	// its RTP timeout only while the stream is sendrecv, so a caller still
	// on hold when the callee dies would never close.
	caller.Hold()
	callee.Expect(5*time.Second, siptest.EventCallRemoteSDP)
	caller.Expect(5*time.Second, siptest.EventCallRemoteSDP)
	caller.Resume()
	callee.Expect(5*time.Second, siptest.EventCallRemoteSDP)
	caller.Expect(5*time.Second, siptest.EventCallRemoteSDP)

	begin := time.Now()
	callee.Kill()
	ev := caller.Expect(10*time.Second, siptest.EventCallClosed)
	t.Logf("caller closed %v after the callee was killed: %q", time.Since(begin), ev.Param)

	callee.Restart()
	caller.Dial(callee.URI("udp"))
	callee.Expect(5*time.Second, siptest.EventCallIncoming)
	callee.Accept()
	establish(t, caller, callee)
}

// A video file (made by ffmpeg) as camera through avformat.
func TestBaresipVideoFileCamera(t *testing.T) {
	testtool.SkipInShortMode(t, "baresip and ffmpeg")
	ffmpeg, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Fatalf("ffmpeg: %v; %s", err, testtool.InstallHint("ffmpeg", "Debian's FFmpeg"))
	}
	file := filepath.Join(t.TempDir(), "bars.mp4")
	out, err := exec.Command(ffmpeg, "-v", "error", "-f", "lavfi", "-i", "color=c=red:s=640x360:r=15:d=3",
		"-c:v", "libx264", "-pix_fmt", "yuv420p", file).CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	callee := siptest.StartBaresip(t, &siptest.Options{User: "bob", AutoAnswer: true})
	caller := siptest.StartBaresip(t, &siptest.Options{User: "alice", VideoFile: file})
	caller.Dial(callee.URI("udp"))
	establish(t, caller, callee)
	img, err := callee.ReceivedFrame(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	r, g, b, _ := img.At(320, 180).RGBA()
	if r>>8 < 180 || g>>8 > 80 || b>>8 > 80 {
		t.Errorf("centre pixel rgb(%d,%d,%d); want the file's red", r>>8, g>>8, b>>8)
	}
}
