package call

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/mediadevices/pkg/wave"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"github.com/roomd/roomd/media/capture"
	"github.com/roomd/roomd/media/codec"
	"github.com/roomd/roomd/media/passthrough"
	"github.com/roomd/roomd/media/transport"
)

// senderJob is a sender being made while the call starts joining: opening
// the sources and the encoder takes tens of milliseconds (libvpx zeroes
// tens of MiB at 720p), which the meeting's first picture need not wait
// for.
type senderJob struct {
	done chan struct{}
	s    *sender
	err  error
}

func (e *Engine) startSender(ctx context.Context, log *slog.Logger, codecs []string, crypt *frameCrypt) *senderJob {
	j := &senderJob{done: make(chan struct{})}
	go func() {
		defer close(j.done)
		j.s, j.err = e.newSender(ctx, log, codecs, crypt)
	}()
	return j
}

// wait returns the sender once it is made, or ctx's error.
func (j *senderJob) wait(ctx context.Context) (*sender, error) {
	select {
	case <-j.done:
		return j.s, j.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// result waits for the sender however long it takes.
func (j *senderJob) result() (*sender, error) {
	<-j.done
	return j.s, j.err
}

// sender captures, gates, encodes and writes the room's media to tracks that
// survive rejoins.
type sender struct {
	e        *Engine
	video    capture.VideoSource
	audio    capture.AudioSource
	enc      codec.Selection
	aenc     codec.AudioEncoder
	vtrack   *webrtc.TrackLocalStaticSample
	atrack   *webrtc.TrackLocalStaticSample
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	frames   atomic.Uint64
	loopsCtx context.Context
	fellBack bool // Call Encoder already says the hardware failed (videoLoop only)
	// vseal and aseal encrypt the frames end to end (e2ee.go); nil for none.
	vseal, aseal *sealer

	rawMu sync.Mutex
	raws  map[*rawSink]struct{} // RawMedia providers' sinks (raw.go)
}

func (e *Engine) newSender(ctx context.Context, log *slog.Logger, codecs []string, crypt *frameCrypt) (*sender, error) {
	vseal, err := crypt.newSealer()
	if err != nil {
		return nil, err
	}
	aseal, err := crypt.newSealer()
	if err != nil {
		return nil, err
	}
	v, err := e.cfg.Sources.Video()
	if err != nil {
		return nil, err
	}
	a, err := e.cfg.Sources.Audio()
	if err != nil {
		v.Close()
		return nil, err
	}
	camera := v // passthrough.Use looks at the camera itself, not its wrappers
	v = capture.GateVideo(e.capVideo(v), e.cfg.Camera)
	a = capture.GateAudio(a, e.cfg.Mic)
	vi := v.Info()
	sel, err := codec.Select(codec.Preferences{Codecs: codecs, NoHardware: e.cfg.NoHardware},
		codec.VideoConfig{Width: vi.Width, Height: vi.Height, FPS: vi.FPS, BitRate: e.fac.Config().StartBitrate,
			// Key frames on request only, as libwebrtc sends them: the
			// SFU asks (PLI) when a subscriber joins or loses a picture,
			// and a periodic one costs an intra frame's bits and encode
			// time every few seconds for nobody.
			KeyFrameInterval: -1})
	if err != nil {
		v.Close()
		a.Close()
		return nil, err
	}
	// A camera that encodes H.264 itself sends its own stream when the
	// call is H.264; sel's encoder then only draws the privacy slate. Its
	// stream cannot be scaled, so a size cap below it keeps the camera
	// decoded and re-encoded.
	if why := capsForbidPassthrough(camera.Info(), e.Caps()); why == "" {
		sel = passthrough.Use(camera, sel)
	} else if _, ok := camera.(*passthrough.Camera); ok {
		sel.Reason += "; camera's H.264 not passed through: " + why
	}
	aenc, err := codec.NewOpus(codec.AudioConfig{})
	if err != nil {
		sel.Encoder.Close()
		v.Close()
		a.Close()
		return nil, err
	}
	vt, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: sel.Codec}, "video", "roomd")
	if err != nil {
		return nil, err
	}
	at, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", "roomd")
	if err != nil {
		return nil, err
	}
	log.Info("call: media", "video", vi.String(), "audio", a.Info().String(), "encoder", sel.Reason)
	e.mu.Lock()
	e.stats.Encoder, e.stats.VideoSource, e.stats.AudioSource = sel.Reason, vi.String(), a.Info().String()
	e.mu.Unlock()
	lctx, cancel := context.WithCancel(ctx)
	s := &sender{e: e, video: v, audio: a, enc: sel, aenc: aenc, vtrack: vt, atrack: at, cancel: cancel, loopsCtx: lctx, vseal: vseal, aseal: aseal}
	s.wg.Go(func() { s.videoLoop(lctx, log) })
	s.wg.Go(func() { s.audioLoop(lctx, log) })
	return s, nil
}

// attach adds the tracks to a fresh publisher PeerConnection and wires its
// feedback: congestion control drives the encoder, PLI forces key frames.
func (s *sender) attach(ctx context.Context, pub *transport.PeerConnection) error {
	vs, err := pub.PeerConnection.AddTransceiverFromTrack(s.vtrack, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		return err
	}
	// Offer only the codec the encoder makes, so the server cannot pick another.
	var prefs []webrtc.RTPCodecParameters
	for _, c := range vs.Sender().GetParameters().Codecs {
		if strings.EqualFold(c.MimeType, s.enc.Codec) {
			prefs = append(prefs, c)
		}
	}
	if len(prefs) > 0 {
		if err := vs.SetCodecPreferences(prefs); err != nil {
			return err
		}
	}
	as, err := pub.PeerConnection.AddTransceiverFromTrack(s.atrack, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		return err
	}
	vfb := &transport.SenderFeedback{Sender: vs.Sender(), KeyFrame: s.enc.Encoder}
	afb := &transport.SenderFeedback{Sender: as.Sender()}
	var budget *transport.ServerCap
	if est := pub.Estimator(); est != nil {
		// The server's REMB (Janus: the room's bitrate) caps what
		// congestion control may give the encoder.
		budget = transport.NewServerCap(est)
		context.AfterFunc(ctx, budget.Close)
		vfb.OnREMB = budget.SetCap
	}
	go vfb.Run(ctx)
	go afb.Run(ctx)
	if budget != nil {
		ctl, err := transport.NewController(budget, s.e.capBitrate(ctx, transport.BitrateFunc(func(bps int) {
			s.enc.Encoder.SetBitRate(bps)
			s.e.mu.Lock()
			s.e.stats.TargetBitrate = bps
			s.e.mu.Unlock()
		})), s.aenc, transport.ControllerConfig{})
		if err != nil {
			return err
		}
		go ctl.Run(ctx)
	}
	return nil
}

func (s *sender) videoLoop(ctx context.Context, log *slog.Logger) {
	last := time.Now()
	for ctx.Err() == nil {
		img, release, err := s.video.Read()
		if err != nil {
			if ctx.Err() == nil {
				log.Warn("call: camera read failed", "err", err)
				time.Sleep(100 * time.Millisecond)
			}
			continue
		}
		frame, key, err := s.enc.Encoder.Encode(img)
		release()
		now := time.Now()
		d := now.Sub(last)
		last = now
		if err != nil {
			log.Warn("call: encode failed", "err", err)
			continue
		}
		s.noteFallback(log)
		if len(frame) == 0 {
			continue
		}
		s.eachRaw(func(r *rawSink) { r.video(frame, d, key) })
		if frame, err = s.vseal.seal(frame); err != nil {
			log.Warn("call: end-to-end encryption failed; frame dropped", "err", err)
			continue
		}
		if err := s.vtrack.WriteSample(media.Sample{Data: frame, Duration: d}); err == nil {
			n := s.frames.Add(1)
			s.e.mu.Lock()
			s.e.stats.FramesSent = n
			s.e.mu.Unlock()
		}
	}
}

// capsForbidPassthrough says why a camera's own stream of cam's size
// cannot go out under the caps c ("" when it can): the size cap would
// need it scaled, which only a decoded picture can be.
func capsForbidPassthrough(cam capture.Info, c Caps) string {
	if _, _, scale := fit(cam.Width, cam.Height, c); scale {
		return fmt.Sprintf("the size cap %dx%d is below the camera's %dx%d", c.MaxWidth, c.MaxHeight, cam.Width, cam.Height)
	}
	return ""
}

// noteFallback puts the reason into Call Encoder, once, when a hardware
// encoder has switched the call to software (codec.RuntimeFallback).
func (s *sender) noteFallback(log *slog.Logger) {
	fb, ok := s.enc.Encoder.(codec.RuntimeFallback)
	if !ok || s.fellBack {
		return
	}
	reason := fb.FallbackReason()
	if reason == "" {
		return
	}
	s.fellBack = true
	log.Warn("call: the hardware encoder failed; video goes on in software", "reason", reason)
	s.e.mu.Lock()
	s.e.stats.Encoder = reason
	s.e.mu.Unlock()
}

func (s *sender) audioLoop(ctx context.Context, log *slog.Logger) {
	need := codec.AudioConfig{}.FrameSamples()
	buf := make([]int16, 0, need*2)
	for ctx.Err() == nil {
		chunk, release, err := s.audio.Read()
		if err != nil {
			if ctx.Err() == nil {
				log.Warn("call: microphone read failed", "err", err)
				time.Sleep(100 * time.Millisecond)
			}
			continue
		}
		buf = appendMono(buf, chunk)
		release()
		for len(buf) >= need {
			s.eachRaw(func(r *rawSink) { r.audio(buf[:need]) })
			pkt, err := s.aenc.Encode(buf[:need])
			buf = append(buf[:0], buf[need:]...)
			if err != nil {
				log.Warn("call: opus encode failed", "err", err)
				continue
			}
			if pkt, err = s.aseal.seal(pkt); err != nil {
				log.Warn("call: end-to-end encryption failed; audio dropped", "err", err)
				continue
			}
			s.atrack.WriteSample(media.Sample{Data: pkt, Duration: 20 * time.Millisecond})
		}
	}
}

// Frames reports frames sent and the size of the video, for stats.
func (s *sender) Frames() (uint64, int, int) {
	i := s.video.Info()
	return s.frames.Load(), i.Width, i.Height
}

func (s *sender) close() {
	s.cancel()
	s.video.Close()
	s.audio.Close()
	s.wg.Wait()
	s.enc.Encoder.Close()
	s.aenc.Close()
}

// appendMono appends a chunk as mono 16-bit samples (sources deliver
// 48 kHz mono; anything else is mixed down).
func appendMono(buf []int16, a wave.Audio) []int16 {
	if m, ok := a.(*wave.Int16Interleaved); ok && m.Size.Channels == 1 {
		return append(buf, m.Data...)
	}
	ch := a.ChunkInfo().Channels
	for i := 0; i < a.ChunkInfo().Len; i++ {
		var sum int32
		for c := 0; c < ch; c++ {
			sum += int32(wave.Int16SampleFormat.Convert(a.At(i, c)).(wave.Int16Sample))
		}
		buf = append(buf, int16(sum/int32(max(ch, 1))))
	}
	return buf
}
