package janus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"
)

const plugin = "janus.plugin.videoroom"

// Options say which room to join and how the engine's peer connections are
// made. Zero durations mean defaults.
type Options struct {
	// URL is Janus' WebSocket API, such as ws://janus.example:8188/.
	URL string
	// Room is the VideoRoom's numeric ID (Janus' default; string_ids are
	// not supported).
	Room uint64
	// PIN is the room's passcode, if it has one.
	PIN string
	// Display is the name other participants see.
	Display string

	// NewPeerConnection makes each subscription's PeerConnection, so the
	// engine's media engine and interceptors (NACK, RTX, TWCC, GCC) are used.
	// Nil means webrtc.NewPeerConnection with pion's defaults.
	NewPeerConnection func() (*webrtc.PeerConnection, error)
	// OnRemote prepares each remote feed's PeerConnection (set OnTrack
	// there) before Janus' offer is applied, and may watch Remote.Done to
	// learn that the participant left. It is called on the subscription's
	// own goroutine, so calls for different feeds may run at once; it must
	// not block for long. Nil means subscribe to nobody (send only).
	OnRemote func(*Remote)

	// Logger receives diagnostics; nil discards them.
	Logger *slog.Logger
	// KeepAlive is the keepalive period; Janus drops sessions silent for
	// 60 s by default. 0 means 25 s; negative disables keepalives.
	KeepAlive time.Duration
	// DialTimeout bounds connecting and creating the session; past it the
	// server counts as unreachable. 0 means 5 s.
	DialTimeout time.Duration
	// RequestTimeout bounds each later request. 0 means 10 s.
	RequestTimeout time.Duration
}

func (o Options) withDefaults() Options {
	if o.NewPeerConnection == nil {
		o.NewPeerConnection = func() (*webrtc.PeerConnection, error) {
			return webrtc.NewPeerConnection(webrtc.Configuration{})
		}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.KeepAlive == 0 {
		o.KeepAlive = 25 * time.Second
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = 5 * time.Second
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = 10 * time.Second
	}
	return o
}

// Session is this room system's presence in one VideoRoom: a Janus session
// with a publisher handle and one subscriber handle per remote feed.
type Session struct {
	opts Options
	log  *slog.Logger
	c    *conn

	id        uint64 // Janus session
	handle    uint64 // publisher handle
	feedID    uint64 // our ID among the room's publishers
	privateID uint64

	ctx    context.Context // the session's lifetime
	cancel context.CancelFunc
	wg     sync.WaitGroup // event loop, keepalive, subscriptions
	done   chan struct{}

	mu         sync.Mutex
	err        error
	ended      bool
	leaving    bool
	publishing bool
	remotes    map[uint64]*Remote // by feed ID
	handles    map[uint64]*Remote // by subscriber handle
}

// Join connects to Janus and joins opts.Room as a publisher. It returns
// typed errors: ErrUnreachable, ErrUnauthorized, ErrRoomNotFound,
// ErrRoomFull. ctx bounds the join only; the session lives until Leave,
// Close or the loss of the server.
func Join(ctx context.Context, opts Options) (*Session, error) {
	if opts.URL == "" {
		return nil, errors.New("janus: no server URL; set Options.URL to Janus' WebSocket address")
	}
	if opts.Room == 0 {
		return nil, errors.New("janus: no room; set Options.Room")
	}
	opts = opts.withDefaults()
	log := opts.Logger.With("room", opts.Room)

	dctx, cancel := context.WithTimeout(ctx, opts.DialTimeout)
	defer cancel()
	// A timeout, ours or the caller's, means the server is unreachable; a
	// cancelled join is just that.
	unreachable := func(err error) error {
		if errors.Is(ctx.Err(), context.Canceled) {
			return fmt.Errorf("janus: join: %w", ctx.Err())
		}
		return fmt.Errorf("%w: %w", ErrUnreachable, err)
	}
	c, err := dial(dctx, opts.URL, log)
	if err != nil {
		return nil, unreachable(err)
	}
	s := &Session{
		opts:    opts,
		log:     log,
		c:       c,
		done:    make(chan struct{}),
		remotes: map[uint64]*Remote{},
		handles: map[uint64]*Remote{},
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	c.lost = s.connLost
	go c.read()

	created, err := c.call(dctx, "create", &request{Janus: "create"}, false, nil)
	if err == nil && created.Data == nil {
		err = errors.New("janus: create: answer without a session ID")
	}
	if err != nil {
		c.close()
		if je := (*Error)(nil); !errors.As(err, &je) {
			// Something took the WebSocket but did not answer as Janus.
			err = unreachable(err)
		}
		return nil, err
	}
	s.id = created.Data.ID
	s.log = s.log.With("session", s.id)

	if err := s.joinPublisher(ctx); err != nil {
		s.abandon()
		return nil, err
	}
	s.wg.Add(1)
	go s.loop()
	if opts.KeepAlive > 0 {
		s.wg.Add(1)
		go s.keepalive()
	}
	go s.closer()
	return s, nil
}

func (s *Session) joinPublisher(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.opts.RequestTimeout)
	defer cancel()
	attached, err := s.c.call(ctx, "attach", &request{Janus: "attach", SessionID: s.id, Plugin: plugin}, false, nil)
	if err != nil {
		return err
	}
	if attached.Data == nil {
		return errors.New("janus: attach: answer without a handle ID")
	}
	s.handle = attached.Data.ID
	body := map[string]any{"request": "join", "ptype": "publisher", "room": s.opts.Room}
	if s.opts.PIN != "" {
		body["pin"] = s.opts.PIN
	}
	if s.opts.Display != "" {
		body["display"] = s.opts.Display
	}
	m, err := s.c.call(ctx, "join", &request{Janus: "message", SessionID: s.id, HandleID: s.handle, Body: body}, true, nil)
	if err != nil {
		return err
	}
	ev, err := m.room()
	if err != nil || ev == nil || ev.VideoRoom != "joined" {
		return fmt.Errorf("janus: join: unexpected answer %q (%v)", m.Janus, err)
	}
	s.feedID, s.privateID = ev.ID, ev.PrivateID
	s.log.Info("janus: joined", "feed", s.feedID, "publishers", len(ev.Publishers))
	// Before the event loop starts, so that events about these feeds
	// find them.
	s.addFeeds(ev.Publishers)
	return nil
}

// abandon undoes a half-made join: destroy the session politely, then hang up.
func (s *Session) abandon() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, _ = s.c.call(ctx, "destroy", &request{Janus: "destroy", SessionID: s.id}, false, nil)
	s.end(nil)
	s.c.close()
}

// FeedID is this session's publisher ID in the room.
func (s *Session) FeedID() uint64 { return s.feedID }

// Feeds lists the remote feeds this session subscribes to, by ID.
func (s *Session) Feeds() []Feed {
	s.mu.Lock()
	defer s.mu.Unlock()
	feeds := make([]Feed, 0, len(s.remotes))
	for _, r := range s.remotes {
		feeds = append(feeds, r.Feed)
	}
	sort.Slice(feeds, func(i, j int) bool { return feeds[i].ID < feeds[j].ID })
	return feeds
}

// Done is closed when the session has ended and everything it started has
// stopped, subscriptions' PeerConnections closed.
func (s *Session) Done() <-chan struct{} { return s.done }

// Err says why the session ended: nil while it runs and after Leave or
// Close; an error matching ErrSessionGone when the connection dropped, the
// session expired or the server restarted, which calls for a new Join.
func (s *Session) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Leave leaves the room the polite way: every subscription detached, the
// publisher's leave and detach, the session destroyed; then Close. Leaving a
// session that has already ended just closes it.
func (s *Session) Leave(ctx context.Context) error {
	s.mu.Lock()
	if s.ended || s.leaving {
		s.mu.Unlock()
		return s.Close()
	}
	s.leaving = true // no new subscriptions from here on
	remotes := s.remoteList()
	s.mu.Unlock()

	for _, r := range remotes {
		r.close(nil)
	}
	for _, r := range remotes {
		select {
		case <-r.done:
		case <-ctx.Done():
		}
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.RequestTimeout)
	defer cancel()
	var errs []error
	steps := []struct {
		name  string
		req   *request
		async bool
	}{
		{"leave", &request{Janus: "message", SessionID: s.id, HandleID: s.handle, Body: map[string]any{"request": "leave"}}, true},
		{"detach", &request{Janus: "detach", SessionID: s.id, HandleID: s.handle}, false},
		{"destroy", &request{Janus: "destroy", SessionID: s.id}, false},
	}
	for _, st := range steps {
		if _, err := s.c.call(ctx, st.name, st.req, st.async, nil); err != nil {
			errs = append(errs, err)
		}
	}
	s.Close()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("janus: leave was not clean (the server drops what is left when the session times out): %w", err)
	}
	return nil
}

// Close hangs up at once, without telling the server, and waits until
// everything has stopped. It is idempotent.
func (s *Session) Close() error {
	s.end(nil)
	<-s.done
	return nil
}

// end records why the session ended, once, and stops it.
func (s *Session) end(reason error) {
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return
	}
	s.ended, s.err = true, reason
	s.mu.Unlock()
	if reason != nil {
		s.log.Warn("janus: session lost", "err", reason)
	}
	s.cancel()
}

func (s *Session) connLost(err error) {
	s.end(fmt.Errorf("%w (%v)", ErrSessionGone, err))
}

// closer releases everything once the session has ended.
func (s *Session) closer() {
	<-s.ctx.Done()
	s.c.close()
	s.mu.Lock()
	remotes := s.remoteList()
	s.mu.Unlock()
	for _, r := range remotes {
		r.close(s.Err())
	}
	s.wg.Wait()
	close(s.done)
}

func (s *Session) remoteList() []*Remote {
	list := make([]*Remote, 0, len(s.remotes))
	for _, r := range s.remotes {
		list = append(list, r)
	}
	return list
}

// loop handles Janus' asynchronous events. It never waits on the server.
func (s *Session) loop() {
	defer s.wg.Done()
	for {
		select {
		case <-s.ctx.Done():
			return
		case m := <-s.c.events:
			s.event(m)
		}
	}
}

func (s *Session) event(m *message) {
	s.mu.Lock()
	sub := s.handles[m.Sender]
	s.mu.Unlock()
	switch {
	case m.Janus == "timeout":
		s.end(fmt.Errorf("%w: Janus timed the session out (keepalives missing)", ErrSessionGone))
	case m.Sender == s.handle && m.Janus == "event":
		s.publisherEvent(m)
	case sub != nil:
		sub.event(m)
	case m.Sender == s.handle && m.Janus == "hangup":
		s.mu.Lock()
		leaving := s.leaving
		s.mu.Unlock()
		if !leaving {
			// ICE or DTLS failed for good: the room sends nothing any
			// more, and a new join is the way back.
			s.end(fmt.Errorf("%w: Janus hung up the room's outgoing media (%s)", ErrSessionGone, m.Reason))
		}
	default:
		s.log.Debug("janus: event", "janus", m.Janus, "sender", m.Sender)
	}
}

func (s *Session) publisherEvent(m *message) {
	ev, err := m.room()
	if err != nil || ev == nil {
		s.log.Warn("janus: undecodable VideoRoom event", "err", err)
		return
	}
	if ev.VideoRoom == "destroyed" {
		s.end(fmt.Errorf("%w: the room was destroyed", ErrSessionGone))
		return
	}
	if ev.Kicked.Set && (ev.Kicked.Self || ev.Kicked.ID == s.feedID) {
		s.end(fmt.Errorf("%w: kicked out of the room", ErrSessionGone))
		return
	}
	if len(ev.Publishers) > 0 {
		s.addFeeds(ev.Publishers)
	}
	for _, gone := range []feedRef{ev.Leaving, ev.Unpublished, ev.Kicked} {
		if gone.Set && !gone.Self {
			s.removeFeed(gone.ID)
		}
	}
}

func (s *Session) addFeeds(feeds []Feed) {
	if s.opts.OnRemote == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended || s.leaving {
		return
	}
	for _, f := range feeds {
		if f.ID == s.feedID || s.remotes[f.ID] != nil {
			continue
		}
		r := newRemote(s, f)
		s.remotes[f.ID] = r
		s.wg.Add(1)
		go s.runRemote(r)
	}
}

func (s *Session) removeFeed(id uint64) {
	s.mu.Lock()
	r := s.remotes[id]
	delete(s.remotes, id)
	s.mu.Unlock()
	if r != nil {
		s.log.Info("janus: feed gone", "feed", id, "display", r.Feed.Display)
		r.close(ErrFeedGone)
	}
}

// keepalive tells Janus the session is in use, and ends the session when
// Janus no longer knows it or stops answering.
func (s *Session) keepalive() {
	defer s.wg.Done()
	t := time.NewTicker(s.opts.KeepAlive)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(s.ctx, s.opts.RequestTimeout)
		_, err := s.c.call(ctx, "keepalive", &request{Janus: "keepalive", SessionID: s.id}, false, nil)
		cancel()
		switch {
		case err == nil:
			continue
		case s.ctx.Err() != nil:
		case errors.Is(err, ErrSessionGone):
			s.end(err)
		default:
			s.end(fmt.Errorf("%w: %v", ErrSessionGone, err))
		}
		return
	}
}
