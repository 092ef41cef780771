package call

import (
	"context"
	"image"
	"log/slog"
	"sync"
	"time"

	"github.com/roomd/roomd/media/call/provider"
	"github.com/roomd/roomd/media/codec"
	"github.com/roomd/roomd/media/transport"
)

// The engine's side of provider.RawMedia: the room's media for a provider
// that carries it itself (SIP over plain RTP), next to the WebRTC tracks
// and from the same capture, gate and encoder.

var _ provider.RawMedia = (*session)(nil)

func (s *session) VideoCodec(ctx context.Context) (string, error) {
	snd, err := s.job.wait(ctx)
	if err != nil {
		return "", err
	}
	return snd.enc.Codec, nil
}

func (s *session) SendRaw(ctx context.Context, sink provider.RawSink) (provider.RawEncoder, error) {
	snd, err := s.job.wait(ctx)
	if err != nil {
		return nil, err
	}
	r := &rawSink{sink: sink, log: s.log}
	if l, ok := sink.(provider.NALSizeLimited); ok && l.MaxNALSize() > 0 {
		if _, ok := snd.enc.Encoder.(codec.NALSizeLimiter); ok {
			r.maxNAL = max(l.MaxNALSize(), codec.H264MinNALSize)
		} else {
			s.log.Warn("call: the video encoder cannot limit its NAL unit size; the far end may receive key frames cut", "encoder", snd.enc.Name, "limit", l.MaxNALSize())
		}
	}
	snd.rawMu.Lock()
	if snd.raws == nil {
		snd.raws = map[*rawSink]struct{}{}
	}
	snd.raws[r] = struct{}{}
	snd.limitNALsLocked()
	snd.rawMu.Unlock()
	context.AfterFunc(ctx, func() {
		snd.rawMu.Lock()
		delete(snd.raws, r)
		snd.limitNALsLocked()
		snd.rawMu.Unlock()
	})
	// The far end starts decoding at a key frame; the encoder has been
	// running since the call began.
	snd.enc.Encoder.ForceKeyFrame()
	enc := &rawEncoder{snd: snd}
	enc.rate = s.e.capBitrate(ctx, transport.BitrateFunc(func(bps int) {
		snd.enc.Encoder.SetBitRate(bps)
		s.e.mu.Lock()
		s.e.stats.TargetBitrate = bps
		s.e.mu.Unlock()
	}))
	return enc, nil
}

func (s *session) ReceiveRaw(id string) provider.RawPlayer {
	return &rawPlayer{e: s.e, id: id}
}

func (s *session) ReportRaw(ctx context.Context, stats func() transport.Stats) {
	snd, err := s.job.wait(ctx)
	if err != nil {
		return
	}
	s.e.reportEvery(ctx, s.seq, snd, func() transport.Stats {
		st := stats()
		_, st.Sent.Width, st.Sent.Height = snd.Frames()
		return st
	})
}

// eachRaw hands the media to every raw sink.
func (s *sender) eachRaw(f func(*rawSink)) {
	s.rawMu.Lock()
	defer s.rawMu.Unlock()
	for r := range s.raws {
		f(r)
	}
}

// limitNALsLocked gives the encoder the smallest NAL size limit of the
// raw sinks (provider.NALSizeLimited), or none; the encoder restarts
// only when the limit changes. The caller holds rawMu.
func (s *sender) limitNALsLocked() {
	limit := 0
	for r := range s.raws {
		if r.maxNAL > 0 && (limit == 0 || r.maxNAL < limit) {
			limit = r.maxNAL
		}
	}
	if l, ok := s.enc.Encoder.(codec.NALSizeLimiter); ok {
		l.SetMaxNALSize(limit)
	}
}

// rawSink is one RawMedia provider's sink; it logs the first write error
// of a run, not every frame's.
type rawSink struct {
	sink    provider.RawSink
	log     *slog.Logger
	maxNAL  int           // provider.NALSizeLimited; 0: none
	keyed   bool          // a limited sink has had its first key frame
	skipped time.Duration // the frames left out before it
	failing bool
}

// video hands a frame on. A sink with a NAL size limit starts at the
// first key frame that fits it: frames encoded before the limit took
// effect may not.
func (r *rawSink) video(frame []byte, d time.Duration, key bool) {
	if r.maxNAL > 0 && !r.keyed {
		if !key || codec.H264LargestNAL(frame) > r.maxNAL {
			r.skipped += d
			return
		}
		r.keyed, d = true, d+r.skipped
	}
	r.check(r.sink.WriteVideo(frame, d))
}

func (r *rawSink) audio(pcm []int16) { r.check(r.sink.WriteAudio(pcm)) }

// check is called with the sender's rawMu held, so failing needs no lock
// of its own.
func (r *rawSink) check(err error) {
	if err != nil && !r.failing {
		r.log.Warn("call: sending media failed", "err", err)
	}
	r.failing = err != nil
}

// rawEncoder steers the room's encoder for a RawMedia provider.
type rawEncoder struct {
	snd  *sender
	rate transport.BitrateSink
}

func (r *rawEncoder) ForceKeyFrame()     { r.snd.enc.Encoder.ForceKeyFrame() }
func (r *rawEncoder) SetBitRate(bps int) { r.rate.SetBitRate(bps) }

// rawPlayer shows and plays one participant for a RawMedia provider.
type rawPlayer struct {
	e    *Engine
	id   string
	once sync.Once
}

func (p *rawPlayer) Video(img *image.YCbCr) { p.e.showPicture(p.id, img) }
func (p *rawPlayer) Audio(pcm []int16)      { p.e.playAudio(p.id, pcm) }

func (p *rawPlayer) Close() {
	p.once.Do(func() {
		if p.e.cfg.Compositor != nil {
			p.e.cfg.Compositor.Remove(p.id)
		}
		if p.e.cfg.Playout != nil {
			p.e.cfg.Playout.Remove(p.id)
		}
	})
}
