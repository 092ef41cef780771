// Package janusprovider joins Janus VideoRooms (media/janus) for the call
// engine: register Provider{} under "janus" in call.Config.Providers.
package janusprovider

import (
	"context"
	"fmt"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/roomd/roomd/media/call/provider"
	"github.com/roomd/roomd/media/janus"
)

// Name is the provider name meeting links give Janus rooms (janus+wss://…).
const Name = "janus"

// Provider joins Janus VideoRooms over the WebSocket API: it publishes the
// room's tracks and subscribes to every other feed.
type Provider struct{}

var (
	_ provider.Provider                = Provider{}
	_ provider.SettingEngineConfigurer = Provider{}
)

// ConfigureSettingEngine applies the pion settings Janus needs.
func (Provider) ConfigureSettingEngine(se *webrtc.SettingEngine) { janus.ConfigureSettingEngine(se) }

// Join publishes the room's tracks and subscribes to every other feed
// until the session ends; its errors carry their provider class.
func (Provider) Join(ctx context.Context, s provider.Session) (string, error) {
	lost, err := join(ctx, s)
	return lost, classes.Classify(err)
}

// classes marks janus's errors with the engine's failure classes.
var classes = provider.Classes{
	{janus.ErrUnauthorized, provider.ErrBadPasscode},
	{janus.ErrRoomNotFound, provider.ErrNotFound},
	{janus.ErrRoomFull, provider.ErrFull},
	{janus.ErrUnreachable, provider.ErrUnreachable},
}

func join(ctx context.Context, s provider.Session) (string, error) {
	log := s.Logger()
	t := s.Target()
	pub, err := s.NewPublisher()
	if err != nil {
		return "", err
	}
	defer pub.PeerConnection.Close()
	up := make(chan struct{}, 1)
	failed := make(chan string, 1)
	pub.PeerConnection.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		switch st {
		case webrtc.PeerConnectionStateConnected:
			select {
			case up <- struct{}{}:
			default:
			}
		case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateDisconnected:
			select {
			case failed <- "media connection " + st.String():
			default:
			}
		}
	})
	jctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	sess, err := janus.Join(jctx, janus.Options{
		URL: t.Endpoint, Room: t.Room, PIN: s.Passcode(), Display: s.Display(), Logger: log,
		NewPeerConnection: s.NewReceiver,
		OnRemote:          func(r *janus.Remote) { receive(ctx, s, r) },
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
	// The other participants' feeds are on their way; now publish.
	if err := s.Attach(ctx, pub); err != nil {
		return "", err
	}
	pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	err = sess.Publish(pctx, pub.PeerConnection)
	cancel()
	if err != nil {
		return "", err
	}
	if reason, err, ok := provider.WaitConnected(ctx, up, failed, sess.Done(), sess.Err); !ok {
		return reason, err
	}
	s.Connected()
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	go s.ReportMedia(sctx, pub)
	select {
	case <-ctx.Done():
		return "", nil
	case msg := <-failed:
		return msg, nil
	case <-sess.Done():
		err := sess.Err()
		if err == nil {
			err = janus.ErrSessionGone
		}
		return "", err
	}
}

// receive plays one remote participant's tracks until they leave or the
// session ends.
func receive(ctx context.Context, s provider.Session, r *janus.Remote) {
	id := r.Feed.Display
	if id == "" {
		id = fmt.Sprint(r.Feed.ID)
	}
	id = fmt.Sprintf("%s#%d", id, r.Feed.ID)
	left := s.Participant(id)
	go func() {
		select {
		case <-r.Done():
		case <-ctx.Done():
		}
		left()
	}()
	r.PC.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		s.Receive(r.PC, tr, id)
	})
}
