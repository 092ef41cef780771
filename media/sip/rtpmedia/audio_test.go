package rtpmedia

import (
	"crypto/rand"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/pion/srtp/v3"
)

// audioPair starts two audio streams talking to each other with codec c
// (and SRTP keys when given: a's and b's sending keys); it returns them
// and what each received.
func audioPair(t *testing.T, c Codec, keyA, keyB []byte, profile srtp.ProtectionProfile, wrongAtB bool) (a, b *Stream, gotA, gotB *pcmSink) {
	t.Helper()
	gotA, gotB = &pcmSink{}, &pcmSink{}
	a = listen(t, Audio, Options{})
	b = listen(t, Audio, Options{})
	ra, rb := remoteOf(b, c), remoteOf(a, c)
	if keyA != nil {
		ra.SRTP = &SRTPKeys{Profile: profile, Local: keyA, Remote: keyB}
		rb.SRTP = &SRTPKeys{Profile: profile, Local: keyB, Remote: keyA}
		if wrongAtB {
			bad := append([]byte(nil), keyA...)
			bad[3] ^= 0x55
			rb.SRTP.Remote = bad
		}
	}
	start(t, a, ra, Handlers{OnAudio: gotA.add})
	start(t, b, rb, Handlers{OnAudio: gotB.add})
	return a, b, gotA, gotB
}

type pcmSink struct {
	mu  sync.Mutex
	pcm []int16
}

func (p *pcmSink) add(pcm []int16) {
	p.mu.Lock()
	p.pcm = append(p.pcm, pcm...)
	p.mu.Unlock()
}

func (p *pcmSink) samples() []int16 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]int16(nil), p.pcm...)
}

// sendTone writes d of a freq Hz tone to s in 10 ms chunks.
func sendTone(t *testing.T, s *Stream, freq float64, d time.Duration) {
	t.Helper()
	n := int(d.Seconds() * 48000)
	for off := 0; off < n; off += 480 {
		if err := s.WriteAudio(tone(freq, off, 480)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond)
	}
}

// talk sends a 1 kHz tone from a and a 440 Hz one from b, at once, for d.
func talk(t *testing.T, a, b *Stream, d time.Duration) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); sendTone(t, b, 440, d) }()
	sendTone(t, a, 1000, d)
	<-done
}

// heardBothWays checks a's 1 kHz tone came out at b and b's 440 Hz at a.
func heardBothWays(t *testing.T, name string, gotA, gotB *pcmSink, d time.Duration) {
	t.Helper()
	checkTone(t, name+" a→b", gotB, 1000, d)
	checkTone(t, name+" b→a", gotA, 440, d)
}

// checkTone fails unless got holds most of want's samples and they are the
// tone (after the first 100 ms, where codecs settle).
func checkTone(t *testing.T, name string, got *pcmSink, freq float64, want time.Duration) {
	t.Helper()
	n := int(want.Seconds() * 48000 * 0.9)
	if !eventually(2*time.Second, func() bool { return len(got.samples()) >= n }) {
		t.Fatalf("%s: received %d samples, want %d", name, len(got.samples()), n)
	}
	pcm := got.samples()[4800:]
	share, other := toneShare(pcm, freq), toneShare(pcm, freq*2.7)
	t.Logf("%s: %d samples at 48 kHz, %.0f Hz holds %.1f %% of the power (%.0f Hz: %.2f %%)", name, len(pcm)+4800, freq, share*100, freq*2.7, other*100)
	if share < 0.9 || other > 0.02 {
		t.Fatalf("%s: the tone came out as %.1f %% of the power at %.0f Hz, %.1f %% at %.0f Hz", name, share*100, freq, other*100, freq*2.7)
	}
}

// Opus and G.711 both ways on loopback: what comes out at 48 kHz is the
// tone that went in.
func TestAudioLoopback(t *testing.T) {
	for _, c := range []Codec{{PT: 111, Name: CodecOpus}, {PT: 0, Name: CodecPCMU}, {PT: 8, Name: CodecPCMA}} {
		t.Run(c.Name, func(t *testing.T) {
			a, b, gotA, gotB := audioPair(t, c, nil, nil, 0, false)
			talk(t, a, b, 500*time.Millisecond)
			heardBothWays(t, c.Name, gotA, gotB, 500*time.Millisecond)
		})
	}
}

func randomKey(t *testing.T, p srtp.ProtectionProfile) []byte {
	kl, _ := p.KeyLen()
	sl, _ := p.SaltLen()
	k := make([]byte, kl+sl)
	rand.Read(k)
	return k
}

// SDES keys encrypt both ways; a wrong key decodes nothing and is counted.
func TestSRTP(t *testing.T) {
	for _, p := range []srtp.ProtectionProfile{srtp.ProtectionProfileAes128CmHmacSha1_80, srtp.ProtectionProfileAeadAes128Gcm} {
		t.Run(fmt.Sprint(p), func(t *testing.T) {
			c := Codec{PT: 0, Name: CodecPCMU}
			a, b, gotA, gotB := audioPair(t, c, randomKey(t, p), randomKey(t, p), p, false)
			talk(t, a, b, 300*time.Millisecond)
			heardBothWays(t, "srtp", gotA, gotB, 300*time.Millisecond)
			if f := a.Stats().DecryptFailures + b.Stats().DecryptFailures; f != 0 {
				t.Fatalf("%d packets failed to decrypt with the right keys", f)
			}
		})
	}
	t.Run("wrong-key", func(t *testing.T) {
		p := srtp.ProtectionProfileAes128CmHmacSha1_80
		a, b, gotA, gotB := audioPair(t, Codec{PT: 0, Name: CodecPCMU}, randomKey(t, p), randomKey(t, p), p, true)
		talk(t, a, b, 300*time.Millisecond)
		checkTone(t, "b→a, right key", gotA, 440, 300*time.Millisecond)
		if n := len(gotB.samples()); n != 0 {
			t.Fatalf("b decoded %d samples with the wrong key", n)
		}
		st := b.Stats()
		if st.DecryptFailures < 10 {
			t.Fatalf("b counted %d packets failing to decrypt, want the ~15 a sent", st.DecryptFailures)
		}
		t.Logf("wrong key: %d packets did not authenticate, nothing decoded", st.DecryptFailures)
	})
}
