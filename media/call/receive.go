package call

import (
	"errors"
	"image"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media/samplebuilder"

	"github.com/roomd/roomd/media/codec"
)

// participant puts a remote participant in the call's status; left takes
// them out, and off the screen. Calling left again does nothing.
func (e *Engine) participant(id string) (left func()) {
	e.mu.Lock()
	e.stats.Participants = append(e.stats.Participants, id)
	e.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			if e.cfg.Compositor != nil {
				e.cfg.Compositor.Remove(id)
			}
			e.mu.Lock()
			for i, p := range e.stats.Participants {
				if p == id {
					e.stats.Participants = append(e.stats.Participants[:i], e.stats.Participants[i+1:]...)
					break
				}
			}
			e.mu.Unlock()
		})
	}
}

// receiveVideo decodes a participant's video track onto the screen until
// the track ends.
func (e *Engine) receiveVideo(pc *webrtc.PeerConnection, tr *webrtc.TrackRemote, id string, log *slog.Logger, crypt *frameCrypt) {
	mime := tr.Codec().MimeType
	var dp rtp.Depacketizer
	switch {
	case strings.EqualFold(mime, webrtc.MimeTypeVP8):
		dp = &codecs.VP8Packet{}
	case strings.EqualFold(mime, webrtc.MimeTypeH264):
		dp = &codecs.H264Packet{}
	default:
		log.Warn("call: cannot decode remote video", "codec", mime)
		return
	}
	op, err := crypt.newOpener(e, id)
	if err != nil {
		log.Warn("call: cannot decrypt remote video", "err", err)
		return
	}
	dec, err := codec.NewVideoDecoder(mime)
	if err != nil {
		log.Warn("call: no decoder", "codec", mime, "err", err)
		return
	}
	defer dec.Close()
	if e.cfg.Compositor != nil {
		// The participant's goroutine removes the tile when they leave,
		// but a frame still being decoded then would put it back: the
		// loop's end removes it once more, after its last Update.
		defer e.cfg.Compositor.Remove(id)
	}
	sb := samplebuilder.New(128, dp, tr.Codec().ClockRate)
	pli := func() {
		pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(tr.SSRC())}})
	}
	var lastPLI time.Time
	for {
		pkt, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		e.countReceived(id, len(pkt.Payload))
		sb.Push(pkt)
		for smp := sb.Pop(); smp != nil; smp = sb.Pop() {
			frame, ok := op.open(smp.Data)
			if !ok {
				continue
			}
			img, err := dec.Decode(frame)
			if err != nil {
				if errors.Is(err, codec.ErrNeedKeyFrame) && time.Since(lastPLI) > 500*time.Millisecond {
					lastPLI = time.Now()
					pli()
				}
				continue
			}
			if img == nil {
				continue
			}
			e.showPicture(id, img)
		}
	}
}

// receiveAudio decodes a participant's audio for the speaker until the
// track ends.
func (e *Engine) receiveAudio(tr *webrtc.TrackRemote, id string, log *slog.Logger, crypt *frameCrypt) {
	op, err := crypt.newOpener(e, id)
	if err != nil {
		log.Warn("call: cannot decrypt remote audio", "err", err)
		return
	}
	dec, err := codec.NewOpusDecoder(1)
	if err != nil {
		log.Warn("call: no opus decoder", "err", err)
		return
	}
	defer dec.Close()
	if e.cfg.Playout != nil {
		defer e.cfg.Playout.Remove(id)
	}
	for {
		pkt, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		e.countReceived(id, len(pkt.Payload))
		frame, ok := op.open(pkt.Payload)
		if !ok {
			continue
		}
		pcm, err := dec.Decode(frame)
		if err != nil {
			continue
		}
		e.playAudio(id, pcm)
	}
}

// showPicture puts participant id's decoded picture on the screen and
// counts it for status.
func (e *Engine) showPicture(id string, img *image.YCbCr) {
	if e.cfg.Compositor != nil {
		e.cfg.Compositor.Update(id, img)
	}
	e.mu.Lock()
	e.stats.FramesDecoded[id]++
	rv := e.stats.Received[id]
	rv.Width, rv.Height = img.Rect.Dx(), img.Rect.Dy()
	rv.frames++
	e.stats.Received[id] = rv
	e.mu.Unlock()
}

// playAudio mixes participant id's decoded audio for the speaker and
// counts it for status.
func (e *Engine) playAudio(id string, pcm []int16) {
	if e.cfg.Playout != nil {
		e.cfg.Playout.Push(id, pcm)
	}
	e.mu.Lock()
	e.stats.AudioPackets[id]++
	e.mu.Unlock()
}
