package call

import (
	"context"
	"errors"
	"log/slog"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/roomd/roomd/media/transport"
	"github.com/roomd/roomd/media/whip"
	"github.com/roomd/roomd/room"
)

// whipProvider publishes with WHIP and receives with WHEP.
type whipProvider struct{}

// Join publishes the room's tracks with WHIP, says the room is in the call
// once that media connects, and receives the meeting with WHEP.
func (whipProvider) Join(ctx context.Context, e *Engine, seq uint64, t Target, m room.Meeting, job *senderJob, log *slog.Logger, connected func()) (string, error) {
	s, err := job.wait(ctx)
	if err != nil {
		return "", err
	}
	var pub *transport.PeerConnection
	lost := make(chan string, 1)
	jctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	sess, err := whip.Publish(jctx, whip.Options{
		Endpoint: t.WHIP, Token: m.Passcode, Logger: log, AskICEServers: true,
		NewPeerConnection: func() (*webrtc.PeerConnection, error) {
			p, err := e.fac.NewPeerConnection()
			if err != nil {
				return nil, err
			}
			pub = p
			return p.PeerConnection, nil
		},
		AddTracks: func(*webrtc.PeerConnection) error { return s.attach(ctx, pub) },
		OnConnectionStateChange: func(st webrtc.PeerConnectionState) {
			if st == webrtc.PeerConnectionStateDisconnected {
				select {
				case lost <- "media connection " + st.String():
				default:
				}
			}
		},
	})
	cancel()
	if err != nil {
		return "", err
	}
	defer func() {
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		sess.Leave(lctx)
		cancel()
	}()
	if reason, err, ok := waitConnected(ctx, sess.Connected(), lost, sess.Done(), sess.Err); !ok {
		return reason, err
	}
	connected()

	sctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() { stop(); wg.Wait() }() // before the publisher's DELETE
	wg.Go(func() { e.reportMedia(sctx, seq, pub, s) })
	refused := make(chan error, 1)
	wg.Go(func() { refused <- e.receiveWHEP(sctx, t, m, log) })
	select {
	case <-ctx.Done():
		return "", nil
	case msg := <-lost:
		return msg, nil
	case <-sess.Done():
		err := sess.Err()
		if err == nil {
			err = whip.ErrSessionGone
		}
		return "", err
	case err := <-refused:
		return "", err
	}
}

// receiveWHEP plays the meeting's WHEP stream until ctx ends, through the
// receive path the Janus feeds use. A stream that is not live yet (404),
// a server that does not answer and media that fails are tried again with
// backoff while the room stays in the call; only a refused token ends it,
// with that error.
func (e *Engine) receiveWHEP(ctx context.Context, t Target, m room.Meeting, log *slog.Logger) error {
	id := whepParticipant(t.WHEP)
	log = log.With("whep", id)
	delay := e.cfg.RetryMin
	for ctx.Err() == nil {
		// A disconnected stream is given up at once, as the publisher's
		// is: a new WHEP session costs one request, and the far end may
		// have left without its DTLS close reaching us.
		disconnected := make(chan struct{}, 1)
		rctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		sess, err := whip.Receive(rctx, whip.Options{
			Endpoint: t.WHEP, Token: m.Passcode, Logger: log, AskICEServers: true,
			NewPeerConnection: func() (*webrtc.PeerConnection, error) {
				p, err := e.fac.NewReceivePeerConnection()
				if err != nil {
					return nil, err
				}
				return p.PeerConnection, nil
			},
			OnTrack: func(pc *webrtc.PeerConnection, tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
				if strings.EqualFold(tr.Codec().MimeType, webrtc.MimeTypeOpus) {
					e.receiveAudio(tr, id, log)
				} else {
					e.receiveVideo(pc, tr, id, log)
				}
			},
			OnConnectionStateChange: func(st webrtc.PeerConnectionState) {
				if st == webrtc.PeerConnectionStateDisconnected {
					select {
					case disconnected <- struct{}{}:
					default:
					}
				}
			},
		})
		cancel()
		switch {
		case errors.Is(err, whip.ErrUnauthorized):
			return err
		case err != nil:
			if ctx.Err() == nil {
				log.Info("call: meeting stream not playing; trying again", "err", err, "in", delay)
			}
		default:
			if e.playWHEP(ctx, sess, disconnected, id, log) {
				delay = e.cfg.RetryMin
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(delay):
		}
		delay = min(delay*2, e.cfg.RetryMax)
	}
	return nil
}

// playWHEP shows one WHEP session as a participant until it ends, its
// media disconnects or ctx ends, then leaves it. It says whether the media
// connected.
func (e *Engine) playWHEP(ctx context.Context, sess *whip.Session, disconnected <-chan struct{}, id string, log *slog.Logger) bool {
	e.mu.Lock()
	e.stats.Participants = append(e.stats.Participants, id)
	e.mu.Unlock()
	defer func() {
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		sess.Leave(lctx)
		cancel()
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
	}()
	select {
	case <-sess.Connected():
	case <-sess.Done():
		return false
	case <-ctx.Done():
		return false
	case <-time.After(20 * time.Second):
		log.Warn("call: meeting stream did not connect")
		return false
	}
	select {
	case <-sess.Done():
		log.Warn("call: meeting stream lost", "err", sess.Err())
	case <-disconnected:
		log.Warn("call: meeting stream disconnected")
	case <-ctx.Done():
	}
	return true
}

// whepParticipant names a WHEP stream for status and the screen: the last
// element of its path, else its host.
func whepParticipant(whep string) string {
	u, err := url.Parse(whep)
	if err != nil {
		return "whep"
	}
	if b := path.Base(u.Path); b != "." && b != "/" {
		return b
	}
	return u.Hostname()
}
