// Package whipprovider joins meetings over WHIP and WHEP (media/whip) for
// the call engine: register Provider{} under "whip" in
// call.Config.Providers.
package whipprovider

import (
	"context"
	"errors"
	"log/slog"
	"net/url"
	"path"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/roomd/roomd/media/call/provider"
	"github.com/roomd/roomd/media/transport"
	"github.com/roomd/roomd/media/whip"
)

// Name is the provider name meeting links give WHIP meetings (whip+https://…).
const Name = "whip"

// Provider publishes the room with WHIP and receives the meeting with WHEP.
type Provider struct{}

var _ provider.Provider = Provider{}

// Join publishes the room's tracks with WHIP, says the room is in the call
// once that media connects, and receives the meeting with WHEP; its errors
// carry their provider class.
func (Provider) Join(ctx context.Context, s provider.Session) (string, error) {
	lost, err := join(ctx, s)
	return lost, classes.Classify(err)
}

// classes marks whip's errors with the engine's failure classes.
var classes = provider.Classes{
	{whip.ErrUnauthorized, provider.ErrBadPasscode},
	{whip.ErrNotFound, provider.ErrNotFound},
	{whip.ErrUnreachable, provider.ErrUnreachable},
}

func join(ctx context.Context, s provider.Session) (string, error) {
	if err := s.WaitMedia(ctx); err != nil {
		return "", err
	}
	log := s.Logger()
	t := s.Target()
	var pub *transport.PeerConnection
	lost := make(chan string, 1)
	jctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	sess, err := whip.Publish(jctx, whip.Options{
		Endpoint: t.WHIP, Token: s.Passcode(), Logger: log, AskICEServers: true,
		NewPeerConnection: func() (*webrtc.PeerConnection, error) {
			p, err := s.NewPublisher()
			if err != nil {
				return nil, err
			}
			pub = p
			return p.PeerConnection, nil
		},
		AddTracks: func(*webrtc.PeerConnection) error { return s.Attach(ctx, pub) },
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
	if reason, err, ok := provider.WaitConnected(ctx, sess.Connected(), lost, sess.Done(), sess.Err); !ok {
		return reason, err
	}
	s.Connected()

	sctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() { stop(); wg.Wait() }() // before the publisher's DELETE
	wg.Go(func() { s.ReportMedia(sctx, pub) })
	refused := make(chan error, 1)
	wg.Go(func() { refused <- receiveWHEP(sctx, s) })
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
// session's receive path. A stream that is not live yet (404), a server
// that does not answer and media that fails are tried again with backoff
// while the room stays in the call; only a refused token ends it, with
// that error.
func receiveWHEP(ctx context.Context, s provider.Session) error {
	t := s.Target()
	id := participant(t.WHEP)
	log := s.Logger().With("whep", id)
	retryMin, retryMax := s.Backoff()
	delay := retryMin
	for ctx.Err() == nil {
		// A disconnected stream is given up at once, as the publisher's
		// is: a new WHEP session costs one request, and the far end may
		// have left without its DTLS close reaching us.
		disconnected := make(chan struct{}, 1)
		rctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		sess, err := whip.Receive(rctx, whip.Options{
			Endpoint: t.WHEP, Token: s.Passcode(), Logger: log, AskICEServers: true,
			NewPeerConnection: s.NewReceiver,
			OnTrack: func(pc *webrtc.PeerConnection, tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
				s.Receive(pc, tr, id)
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
			if play(ctx, s, sess, disconnected, id, log) {
				delay = retryMin
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(delay):
		}
		delay = min(delay*2, retryMax)
	}
	return nil
}

// play shows one WHEP session as a participant until it ends, its media
// disconnects or ctx ends, then leaves it. It says whether the media
// connected.
func play(ctx context.Context, s provider.Session, sess *whip.Session, disconnected <-chan struct{}, id string, log *slog.Logger) bool {
	left := s.Participant(id)
	defer func() {
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		sess.Leave(lctx)
		cancel()
		left()
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

// participant names a WHEP stream for status and the screen: the last
// element of its path, else its host.
func participant(whep string) string {
	u, err := url.Parse(whep)
	if err != nil {
		return "whep"
	}
	if b := path.Base(u.Path); b != "." && b != "/" {
		return b
	}
	return u.Hostname()
}
