package whip_test

import (
	"context"
	"errors"
	"math"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/stun/v4"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
	"github.com/pion/webrtc/v4/pkg/media/samplebuilder"

	"github.com/roomd/roomd/internal/whiptest"
	"github.com/roomd/roomd/media/capture"
	"github.com/roomd/roomd/media/codec"
	"github.com/roomd/roomd/media/transport"
)

// factory is the engine's PeerConnection factory, as roomd uses it.
func factory(t *testing.T) func() (*webrtc.PeerConnection, error) {
	t.Helper()
	f, err := transport.New(transport.Config{})
	if err != nil {
		t.Fatal(err)
	}
	return func() (*webrtc.PeerConnection, error) {
		pc, err := f.NewPeerConnection()
		if err != nil {
			return nil, err
		}
		return pc.PeerConnection, nil
	}
}

// sender feeds a VP8 track with the test pattern and an Opus track with a
// tone, until the test ends. Key frames come only at the start and on
// request, so a viewer that joins later sees pictures only if its PLI
// reaches this sender.
type sender struct {
	video, audio *webrtc.TrackLocalStaticSample
	enc          codec.VideoEncoder
	frames       atomic.Int64
	plis         *transport.SenderFeedback
}

func newSender(t *testing.T) *sender {
	t.Helper()
	vt, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "video", "whip-test")
	if err != nil {
		t.Fatal(err)
	}
	at, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", "whip-test")
	if err != nil {
		t.Fatal(err)
	}
	enc, err := codec.NewVP8(codec.VideoConfig{Width: 320, Height: 240, FPS: 15, BitRate: 300_000, KeyFrameInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	pattern, err := capture.NewPattern(capture.PatternOptions{Width: 320, Height: 240, FPS: 15})
	if err != nil {
		t.Fatal(err)
	}
	aenc, err := codec.NewOpus(codec.AudioConfig{})
	if err != nil {
		t.Fatal(err)
	}
	s := &sender{video: vt, audio: at, enc: enc}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		for ctx.Err() == nil {
			img, release, err := pattern.Read()
			if err != nil {
				return
			}
			frame, _, err := enc.Encode(img)
			release()
			if err != nil || len(frame) == 0 {
				continue
			}
			if vt.WriteSample(media.Sample{Data: frame, Duration: time.Second / 15}) == nil {
				s.frames.Add(1)
			}
		}
	})
	wg.Go(func() {
		n := codec.AudioConfig{}.FrameSamples()
		pcm := make([]int16, n)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			for j := range pcm {
				pcm[j] = int16(8000 * math.Sin(2*math.Pi*440*float64(i*n+j)/codec.SampleRate))
			}
			if pkt, err := aenc.Encode(pcm); err == nil {
				at.WriteSample(media.Sample{Data: pkt, Duration: 20 * time.Millisecond})
			}
		}
	})
	t.Cleanup(func() {
		cancel()
		pattern.Close()
		wg.Wait()
		enc.Close()
		aenc.Close()
	})
	return s
}

// addTracks is Options.AddTracks: both tracks, send-only, PLIs answered.
func (s *sender) addTracks(pc *webrtc.PeerConnection) error {
	vs, err := pc.AddTransceiverFromTrack(s.video, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		return err
	}
	if _, err := pc.AddTransceiverFromTrack(s.audio, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
		return err
	}
	s.plis = &transport.SenderFeedback{Sender: vs.Sender(), KeyFrame: s.enc, MinInterval: 100 * time.Millisecond}
	go s.plis.Run(context.Background()) // ends with the PeerConnection
	return nil
}

// viewer decodes what a WHEP session receives.
type viewer struct {
	mu       sync.Mutex
	packets  int // video RTP packets
	frames   int // video frames decoded
	counters []uint64
	audio    int // Opus packets decoded
	width    int
	mime     string
	errs     []error
}

func (v *viewer) onTrack(pc *webrtc.PeerConnection, tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
	if tr.Kind() == webrtc.RTPCodecTypeAudio {
		v.readAudio(tr)
		return
	}
	v.mu.Lock()
	v.mime = tr.Codec().MimeType
	v.mu.Unlock()
	dec, err := codec.NewVideoDecoder(tr.Codec().MimeType)
	if err != nil {
		v.fail(err)
		return
	}
	defer dec.Close()
	sb := samplebuilder.New(64, &codecs.VP8Packet{}, tr.Codec().ClockRate)
	var lastPLI time.Time
	for {
		pkt, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		v.mu.Lock()
		v.packets++
		v.mu.Unlock()
		sb.Push(pkt)
		for smp := sb.Pop(); smp != nil; smp = sb.Pop() {
			img, err := dec.Decode(smp.Data)
			if errors.Is(err, codec.ErrNeedKeyFrame) {
				if time.Since(lastPLI) > 200*time.Millisecond {
					lastPLI = time.Now()
					pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(tr.SSRC())}})
				}
				continue
			}
			if err != nil || img == nil {
				continue
			}
			n, cerr := capture.ReadPatternCounter(img)
			v.mu.Lock()
			v.frames++
			v.width = img.Rect.Dx()
			if cerr == nil {
				v.counters = append(v.counters, n)
			}
			v.mu.Unlock()
		}
	}
}

func (v *viewer) readAudio(tr *webrtc.TrackRemote) {
	dec, err := codec.NewOpusDecoder(1)
	if err != nil {
		v.fail(err)
		return
	}
	defer dec.Close()
	for {
		pkt, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		if pcm, err := dec.Decode(pkt.Payload); err == nil && len(pcm) > 0 {
			v.mu.Lock()
			v.audio++
			v.mu.Unlock()
		}
	}
}

func (v *viewer) fail(err error) {
	v.mu.Lock()
	v.errs = append(v.errs, err)
	v.mu.Unlock()
}

// waitMedia waits until the viewer has decoded frames of the pattern and
// Opus packets.
func (v *viewer) waitMedia(t *testing.T, frames, audio int, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		v.mu.Lock()
		ok := v.frames >= frames && len(v.counters) >= frames && v.audio >= audio
		state := []any{v.packets, v.frames, len(v.counters), v.audio, v.mime, v.errs}
		v.mu.Unlock()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("viewer: %d video packets, %d frames decoded, %d pattern counters read, %d audio packets decoded (codec %s, errors %v); want %d frames and %d audio packets",
				append(state, frames, audio)...)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func waitClosed(t *testing.T, what string, c <-chan struct{}, d time.Duration) {
	t.Helper()
	select {
	case <-c:
	case <-time.After(d):
		t.Fatalf("%s: not after %v", what, d)
	}
}

// held says whether the relay still holds the session at resource.
func held(srv *whiptest.Server, resource string) bool {
	for _, r := range srv.Resources() {
		if srv.URL+r.Path == resource {
			return true
		}
	}
	return false
}

// deleted says whether the relay saw resource DELETEd.
func deleted(srv *whiptest.Server, resource string) bool {
	return slices.Contains(srv.Deleted(), strings.TrimPrefix(resource, srv.URL))
}

// stunServer answers STUN binding requests with a made-up public address,
// so that a client that asks it offers a server-reflexive candidate.
type stunServer struct {
	addr     string
	requests atomic.Int64
}

func startSTUN(t *testing.T) *stunServer {
	t.Helper()
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &stunServer{addr: conn.LocalAddr().String()}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 1500)
		for {
			n, from, err := conn.ReadFrom(buf)
			if err != nil {
				return
			}
			m := &stun.Message{Raw: append([]byte(nil), buf[:n]...)}
			if m.Decode() != nil || m.Type != stun.BindingRequest {
				continue
			}
			s.requests.Add(1)
			resp, err := stun.Build(stun.NewTransactionIDSetter(m.TransactionID), stun.BindingSuccess,
				&stun.XORMappedAddress{IP: net.IPv4(203, 0, 113, 7), Port: from.(*net.UDPAddr).Port}, stun.Fingerprint)
			if err == nil {
				conn.WriteTo(resp.Raw, from)
			}
		}
	}()
	t.Cleanup(func() { conn.Close(); <-done })
	return s
}
