package janus_test

import (
	"context"
	"errors"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/roomd/roomd/internal/janustest"
	"github.com/roomd/roomd/media/janus"
)

func displays(t *testing.T, srv *janustest.Server, room uint64) []string {
	t.Helper()
	ps, err := srv.Participants(room)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range ps {
		names = append(names, p.Display)
	}
	slices.Sort(names)
	return names
}

// Two sessions of the client meet in a PIN room through a real Janus: each
// receives the other's audio and video, and a leave ends the other's
// subscription and cleans up on the server.
func TestTwoRoomSystemsExchangeMediaThroughJanus(t *testing.T) {
	srv := janustest.Start(t, nil)
	begin := time.Now()
	alice := join(t, srv, janustest.PINRoom, janustest.PIN, "alice")
	t.Logf("alice joined and published in %v", time.Since(begin))
	bob := join(t, srv, janustest.PINRoom, janustest.PIN, "bob")

	// bob finds alice at join time; alice learns of bob from an event.
	begin = time.Now()
	bob.waitMedia("alice", 10*time.Second)
	alice.waitMedia("bob", 10*time.Second)
	t.Logf("media both ways after %v", time.Since(begin))

	if got, want := displays(t, srv, janustest.PINRoom), []string{"alice", "bob"}; !slices.Equal(got, want) {
		t.Errorf("Janus lists %v in the room, want %v", got, want)
	}
	if f := bob.s.Feeds(); len(f) != 1 || f[0].Display != "alice" || f[0].ID != alice.s.FeedID() {
		t.Errorf("bob's feeds = %+v, want alice's (%d)", f, alice.s.FeedID())
	}

	fromAlice := bob.remote("alice", time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := alice.s.Leave(ctx); err != nil {
		t.Errorf("alice: Leave: %v", err)
	}
	waitDone(t, "alice's session", alice.s.Done(), time.Second)
	if err := alice.s.Err(); err != nil {
		t.Errorf("alice left on purpose, yet Err() = %v", err)
	}
	waitDone(t, "bob's subscription to alice", fromAlice.Done(), 5*time.Second)
	if err := fromAlice.Err(); !errors.Is(err, janus.ErrFeedGone) {
		t.Errorf("bob's subscription to alice ended with %v, want ErrFeedGone", err)
	}
	if got := displays(t, srv, janustest.PINRoom); !slices.Equal(got, []string{"bob"}) {
		t.Errorf("after alice left Janus lists %v, want [bob]", got)
	}
	if f := bob.s.Feeds(); len(f) != 0 {
		t.Errorf("bob still subscribes to %+v", f)
	}

	if err := bob.s.Leave(ctx); err != nil {
		t.Errorf("bob: Leave: %v", err)
	}
	if got := displays(t, srv, janustest.PINRoom); len(got) != 0 {
		t.Errorf("after everyone left Janus lists %v", got)
	}
	select {
	case <-bob.s.Done():
	default:
		t.Error("Leave returned before the session was done")
	}
	checkNoGoroutines(t)
}

func TestJoinFailuresAreTyped(t *testing.T) {
	srv := janustest.Start(t, nil)
	// A port nothing listens on, and one that accepts but never answers.
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedURL := "ws://" + closed.Addr().String() + "/"
	closed.Close()
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()

	for _, tc := range []struct {
		name string
		url  string
		room uint64
		pin  string
		want error
	}{
		{"wrong PIN", srv.URL, janustest.PINRoom, "0000", janus.ErrUnauthorized},
		{"missing PIN", srv.URL, janustest.PINRoom, "", janus.ErrUnauthorized},
		{"unknown room", srv.URL, janustest.MissingRoom, "", janus.ErrRoomNotFound},
		{"nothing listening", closedURL, janustest.OpenRoom, "", janus.ErrUnreachable},
		{"no answer", "ws://" + silent.Addr().String() + "/", janustest.OpenRoom, "", janus.ErrUnreachable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newParticipant(t, "carol")
			opts := p.options(srv, tc.room, tc.pin)
			opts.URL = tc.url
			opts.DialTimeout = 500 * time.Millisecond
			begin := time.Now()
			s, err := janus.Join(context.Background(), opts)
			took := time.Since(begin)
			if err == nil {
				s.Close()
				t.Fatalf("Join succeeded, want %v", tc.want)
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("Join: %v, want %v", err, tc.want)
			}
			t.Logf("%v after %v", err, took)
			if took > 2*time.Second {
				t.Errorf("failing took %v", took)
			}
		})
	}
	if got := displays(t, srv, janustest.PINRoom); len(got) != 0 {
		t.Errorf("failed joins left %v in the room", got)
	}
	checkNoGoroutines(t)
}

// Cancelling a join is not a server problem.
func TestCancelledJoinIsNotUnreachable(t *testing.T) {
	srv := janustest.Start(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	p := newParticipant(t, "dave")
	_, err := janus.Join(ctx, p.options(srv, janustest.OpenRoom, ""))
	if !errors.Is(err, context.Canceled) || errors.Is(err, janus.ErrUnreachable) {
		t.Errorf("cancelled Join: %v, want context.Canceled and not ErrUnreachable", err)
	}
}

// A Janus restart ends the session with ErrSessionGone, so the engine
// rejoins, and after the rejoin media flows again.
func TestServerRestartEndsSessionAndRejoinWorks(t *testing.T) {
	srv := janustest.Start(t, nil)
	alice := join(t, srv, janustest.OpenRoom, "", "alice")
	bob := join(t, srv, janustest.OpenRoom, "", "bob")
	bob.waitMedia("alice", 10*time.Second)
	fromAlice := bob.remote("alice", time.Second)

	srv.Restart()
	for _, p := range []*participant{alice, bob} {
		waitDone(t, p.display+"'s session", p.s.Done(), 5*time.Second)
		if err := p.s.Err(); !errors.Is(err, janus.ErrSessionGone) {
			t.Errorf("%s: after the restart Err() = %v, want ErrSessionGone", p.display, err)
		}
	}
	waitDone(t, "bob's subscription to alice", fromAlice.Done(), time.Second)
	if err := fromAlice.Err(); !errors.Is(err, janus.ErrSessionGone) {
		t.Errorf("bob's subscription ended with %v, want ErrSessionGone", err)
	}
	checkNoGoroutines(t)

	alice = join(t, srv, janustest.OpenRoom, "", "alice")
	bob = join(t, srv, janustest.OpenRoom, "", "bob")
	bob.waitMedia("alice", 10*time.Second)
	alice.waitMedia("bob", 10*time.Second)
}

// Keepalives hold a session that Janus would otherwise time out; without
// them Janus ends it and the session says so.
func TestKeepAliveHoldsTheSession(t *testing.T) {
	srv := janustest.Start(t, &janustest.Options{SessionTimeout: 2 * time.Second})
	ctx := context.Background()
	kept := newParticipant(t, "kept")
	opts := kept.options(srv, janustest.OpenRoom, "")
	opts.KeepAlive = 500 * time.Millisecond
	s1, err := janus.Join(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s1.Close()
	silent := newParticipant(t, "silent")
	opts = silent.options(srv, janustest.OpenRoom, "")
	opts.KeepAlive = -1
	s2, err := janus.Join(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()

	waitDone(t, "the session without keepalives", s2.Done(), 6*time.Second)
	if err := s2.Err(); !errors.Is(err, janus.ErrSessionGone) {
		t.Errorf("without keepalives Err() = %v, want ErrSessionGone", err)
	}
	select {
	case <-s1.Done():
		t.Fatalf("the session with keepalives ended too: %v", s1.Err())
	default:
	}
	if got := displays(t, srv, janustest.OpenRoom); !slices.Equal(got, []string{"kept"}) {
		t.Errorf("Janus lists %v, want [kept]", got)
	}
}
