package call

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/roomd/roomd/media/call/provider"
	"github.com/roomd/roomd/media/codec"
	"github.com/roomd/roomd/media/transport"
	"github.com/roomd/roomd/room"
)

// Provider joins one kind of meeting server (see provider.Provider).
// Providers live in packages of their own (media/call/janusprovider,
// media/call/whipprovider) and are registered in Config.Providers.
type Provider = provider.Provider

// Session is what the engine gives a provider for one join (see
// provider.Session).
type Session = provider.Session

// SettingEngineConfigurer is the optional interface of a Provider that
// needs pion settings (see provider.SettingEngineConfigurer).
type SettingEngineConfigurer = provider.SettingEngineConfigurer

// Target is what a provider needs of a meeting link (see provider.Target).
type Target = provider.Target

// Providers maps the provider name a meeting link gives (Target.Provider)
// to the provider that joins it.
type Providers map[string]Provider

// names returns the registered names in order, so settings apply the same
// way every time.
func (p Providers) names() []string {
	ns := make([]string, 0, len(p))
	for n := range p {
		ns = append(ns, n)
	}
	sort.Strings(ns)
	return ns
}

// Failure classes a provider wraps its errors with (see package provider);
// the engine decides from them alone whether to rejoin and what to say.
var (
	ErrUnreachable = provider.ErrUnreachable // retried once the room was in the call; fails a first join
	ErrRefused     = provider.ErrRefused     // fails the call
	ErrNotFound    = provider.ErrNotFound    // fails the call
	ErrBadPasscode = provider.ErrBadPasscode // fails the call
	ErrFull        = provider.ErrFull        // retried
)

// reason turns a join error into words for the room's status.
func reason(err error) string {
	if why := provider.ReasonOf(err); why != "" {
		return why
	}
	switch {
	case errors.Is(err, ErrBadPasscode):
		return "wrong meeting passcode"
	case errors.Is(err, ErrNotFound):
		return "meeting room not found"
	case errors.Is(err, ErrRefused):
		return "meeting server refused the room"
	case errors.Is(err, ErrFull):
		return "meeting room is full"
	case errors.Is(err, ErrUnreachable):
		return "meeting server unreachable"
	}
	return err.Error()
}

// permanent says whether rejoining cannot help.
func permanent(err error) bool {
	return errors.Is(err, ErrBadPasscode) || errors.Is(err, ErrNotFound) || errors.Is(err, ErrRefused) || errors.Is(err, ErrUnsupportedLink)
}

// run is call seq's goroutine: it joins with the link's provider, rejoins
// with backoff when the session is lost, and reports each step.
func (e *Engine) run(ctx context.Context, seq uint64, m room.Meeting, c *activeCall) {
	say := func(s room.CallState, why string) { e.report(room.CallReported{Seq: seq, State: s, Reason: why}) }
	target, err := targetOf(e.cfg.Links, m)
	if err != nil {
		say(room.Failed, reason(err))
		return
	}
	crypt, pin, err := e2eeOf(target.E2EE, m)
	if err != nil {
		say(room.Failed, reason(err))
		return
	}
	log := e.log.With("call", seq, "meeting", m.ID)

	// Local media runs for the whole call, across rejoins.
	codecs := e.cfg.Codecs
	if len(codecs) == 0 {
		codecs = []string{codec.MimeH264, codec.MimeVP8}
	}
	if crypt != nil {
		codecs = e2eeCodecs(codecs)
		if len(codecs) == 0 {
			say(room.Failed, "end-to-end encryption (SFrame) needs VP8, which this room is not set to send")
			return
		}
		log.Info("call: media end-to-end encrypted", "scheme", crypt.describe())
	}
	e.mu.Lock()
	e.crypt = crypt
	e.mu.Unlock()
	// The sender is made while the call starts joining (see senderJob).
	job := e.startSender(ctx, log, codecs, crypt)
	defer func() {
		if s, err := job.result(); err == nil {
			s.close()
		}
	}()

	joined := false
	delay := e.cfg.RetryMin
	for {
		lost, err := e.session(ctx, &session{e: e, seq: seq, t: target, m: m, pin: pin, crypt: crypt, job: job, log: log}, func() {
			if !joined {
				log.Info("call: in the meeting")
			} else {
				log.Info("call: back in the meeting")
			}
			joined = true
			delay = e.cfg.RetryMin
			say(room.InCall, "")
		})
		if ctx.Err() != nil {
			if c.ended.Load() {
				say(room.Idle, "")
			}
			return
		}
		if errors.Is(err, provider.ErrEnded) || errors.Is(err, provider.ErrMediaLost) {
			log.Info("call: the call ended", "why", err)
			if errors.Is(err, provider.ErrEnded) {
				say(room.Idle, reason(err))
			} else {
				say(room.Failed, reason(err))
			}
			return
		}
		if _, serr := job.result(); serr != nil && errors.Is(err, serr) {
			say(room.Failed, "camera or microphone: "+serr.Error())
			return
		}
		if errors.Is(err, webrtc.ErrUnsupportedCodec) {
			// The room takes another codec (Debian's demo room is VP8
			// only): drop the one it refused and offer the next.
			sender, _ := job.result()
			codecs = slices.DeleteFunc(slices.Clone(codecs), func(c string) bool { return strings.EqualFold(c, sender.enc.Codec) })
			if len(codecs) == 0 {
				say(room.Failed, "the meeting server accepts none of roomd's video codecs")
				return
			}
			log.Info("call: the meeting refused the video codec; trying the next", "refused", sender.enc.Codec, "next", codecs[0])
			sender.close()
			job = e.startSender(ctx, log, codecs, crypt)
			if _, err := job.result(); err != nil {
				say(room.Failed, "camera or microphone: "+err.Error())
				return
			}
			continue
		}
		if !joined && (permanent(err) || errors.Is(err, ErrUnreachable)) {
			log.Warn("call: join failed", "err", err)
			say(room.Failed, reason(err))
			return
		}
		if joined && permanent(err) {
			say(room.Failed, reason(err))
			return
		}
		why := "connection to the meeting lost"
		if err != nil {
			why = reason(err)
		}
		if lost != "" {
			why = lost
		}
		log.Warn("call: reconnecting", "why", why, "in", delay)
		say(room.Reconnecting, why)
		select {
		case <-ctx.Done():
			if c.ended.Load() {
				say(room.Idle, "")
			}
			return
		case <-time.After(delay):
		}
		delay = min(delay*2, e.cfg.RetryMax)
	}
}

// session joins once with t's provider and runs until the session ends.
// It returns why the session was lost, or the join error.
func (e *Engine) session(ctx context.Context, s *session, connected func()) (string, error) {
	// Everything started for this session (feedback loops, the bitrate
	// controller, receivers) ends with it.
	ctx, endSession := context.WithCancel(ctx)
	defer endSession()
	p, ok := e.cfg.Providers[s.t.Provider]
	if !ok {
		return "", fmt.Errorf("%w (%s)", ErrUnsupportedLink, s.t.Provider)
	}
	s.connected = connected
	e.setProvider(s.t.Provider, p)
	return p.Join(ctx, s)
}

// session is the engine's side of one join: what a Provider gets.
type session struct {
	e         *Engine
	seq       uint64
	t         Target
	m         room.Meeting
	pin       string      // the passcode the meeting server gets
	crypt     *frameCrypt // end-to-end encryption, nil for none
	job       *senderJob
	log       *slog.Logger
	connected func()
}

var _ Session = (*session)(nil)

func (s *session) Target() Target                    { return s.t }
func (s *session) Passcode() string                  { return s.pin }
func (s *session) Display() string                   { return s.e.cfg.Display }
func (s *session) Logger() *slog.Logger              { return s.log }
func (s *session) Backoff() (min, max time.Duration) { return s.e.cfg.RetryMin, s.e.cfg.RetryMax }
func (s *session) Connected()                        { s.connected() }

func (s *session) NewPublisher() (*transport.PeerConnection, error) {
	return s.e.fac.NewPeerConnection()
}

func (s *session) NewReceiver() (*webrtc.PeerConnection, error) {
	p, err := s.e.fac.NewReceivePeerConnection()
	if err != nil {
		return nil, err
	}
	return p.PeerConnection, nil
}

func (s *session) WaitMedia(ctx context.Context) error {
	_, err := s.job.wait(ctx)
	return err
}

func (s *session) Attach(ctx context.Context, pub *transport.PeerConnection) error {
	snd, err := s.job.wait(ctx)
	if err != nil {
		return err
	}
	return snd.attach(ctx, pub)
}

func (s *session) ReportMedia(ctx context.Context, pub *transport.PeerConnection) {
	snd, err := s.job.wait(ctx)
	if err != nil {
		return
	}
	s.e.reportMedia(ctx, s.seq, pub, snd)
}

func (s *session) Participant(id string) (left func()) { return s.e.participant(id) }

func (s *session) Receive(pc *webrtc.PeerConnection, tr *webrtc.TrackRemote, id string) {
	if strings.EqualFold(tr.Codec().MimeType, webrtc.MimeTypeOpus) {
		s.e.receiveAudio(tr, id, s.log, s.crypt)
	} else {
		s.e.receiveVideo(pc, tr, id, s.log, s.crypt)
	}
}
