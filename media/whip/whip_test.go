package whip_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/roomd/roomd/internal/whiptest"
	"github.com/roomd/roomd/media/whip"
)

const token = "s3cret-bearer"

// A room system publishes VP8 and Opus over WHIP; a WHEP viewer of the same
// stream decodes the pattern's frames and the Opus packets; each DELETE
// ends its session on the server.
func TestPublishAndReceiveThroughRelay(t *testing.T) {
	turn := webrtc.ICEServer{URLs: []string{"turn:turn.example.net?transport=udp"}, Username: "room", Credential: "p;w\"d"}
	srv := whiptest.Start(t, whiptest.Options{Token: token, ICEServers: []webrtc.ICEServer{turn}})
	newPC := factory(t)
	snd := newSender(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	begin := time.Now()
	pub, err := whip.Publish(ctx, whip.Options{Endpoint: srv.WHIP("room"), Token: token, NewPeerConnection: newPC, AddTracks: snd.addTracks})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	waitClosed(t, "publisher connected", pub.Connected(), 10*time.Second)
	t.Logf("published and connected in %v", time.Since(begin))
	if !strings.HasPrefix(pub.Resource(), srv.URL+"/resource/") || !held(srv, pub.Resource()) {
		t.Fatalf("publisher resource %q: not an absolute URL of a session the server holds (%+v)", pub.Resource(), srv.Resources())
	}
	if got := pub.ICEServers(); !reflect.DeepEqual(got, []webrtc.ICEServer{turn}) {
		t.Errorf("ICE servers from the answer's Link headers = %+v, want %+v", got, turn)
	}

	v := &viewer{}
	begin = time.Now()
	view, err := whip.Receive(ctx, whip.Options{Endpoint: srv.WHEP("room"), Token: token, NewPeerConnection: newPC, OnTrack: v.onTrack})
	if err != nil {
		t.Fatal(err)
	}
	defer view.Close()
	waitClosed(t, "viewer connected", view.Connected(), 10*time.Second)
	v.waitMedia(t, 10, 25, 10*time.Second)
	t.Logf("viewer decoded 10 frames and 25 Opus packets %v after its offer", time.Since(begin))
	v.mu.Lock()
	if v.width != 320 || !strings.EqualFold(v.mime, webrtc.MimeTypeVP8) {
		t.Errorf("viewer got %s at width %d, want video/VP8 at 320", v.mime, v.width)
	}
	// Frame numbers drawn by the pattern, read back from decoded pictures:
	// real frames, in order.
	cs := append([]uint64(nil), v.counters...)
	v.mu.Unlock()
	for i := 1; i < len(cs); i++ {
		if cs[i] <= cs[i-1] {
			t.Fatalf("pattern counters out of order: %v", cs)
		}
	}
	if vp, ap := srv.Received("room"); vp == 0 || ap == 0 {
		t.Errorf("relay received %d video and %d audio packets from the publisher", vp, ap)
	}
	if snd.plis.Requests() == 0 {
		t.Errorf("the viewer's key-frame requests never reached the publisher")
	}

	// Leaving DELETEs the resource, with the token.
	if err := view.Leave(ctx); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, "viewer done", view.Done(), time.Second)
	if err := view.Err(); err != nil {
		t.Errorf("viewer left on purpose, yet Err() = %v", err)
	}
	if !deleted(srv, view.Resource()) || held(srv, view.Resource()) {
		t.Errorf("after the viewer left the relay holds %+v, deleted %v", srv.Resources(), srv.Deleted())
	}
	if err := pub.Leave(ctx); err != nil {
		t.Fatal(err)
	}
	if err := pub.Leave(ctx); err != nil {
		t.Errorf("second Leave: %v", err)
	}
	if rs := srv.Resources(); len(rs) != 0 || !deleted(srv, pub.Resource()) {
		t.Errorf("after both left the relay holds %+v, deleted %v", rs, srv.Deleted())
	}
	// pion sets the signaling state synchronously in Close; the connection
	// state may lag behind.
	if st := pub.PC.SignalingState(); st != webrtc.SignalingStateClosed {
		t.Errorf("publisher PeerConnection %v after Leave", st)
	}
	deletes := 0
	for _, r := range srv.Requests() {
		if !r.Authorized {
			t.Errorf("%s %s without the token", r.Method, r.Path)
		}
		if r.Method == http.MethodDelete {
			deletes++
		}
	}
	if deletes != 2 {
		t.Errorf("%d DELETEs, want one per session", deletes)
	}
}

func TestWrongTokenIsUnauthorized(t *testing.T) {
	srv := whiptest.Start(t, whiptest.Options{Token: token})
	newPC := factory(t)
	snd := newSender(t)
	ctx := context.Background()
	for _, tok := range []string{"", "wrong"} {
		_, err := whip.Publish(ctx, whip.Options{Endpoint: srv.WHIP("room"), Token: tok, NewPeerConnection: newPC, AddTracks: snd.addTracks})
		var he *whip.HTTPError
		if !errors.Is(err, whip.ErrUnauthorized) || !errors.As(err, &he) || he.Status != http.StatusUnauthorized {
			t.Errorf("publish with token %q: %v, want ErrUnauthorized from a 401", tok, err)
		}
		_, err = whip.Receive(ctx, whip.Options{Endpoint: srv.WHEP("room"), Token: tok, NewPeerConnection: newPC, OnTrack: (&viewer{}).onTrack})
		if !errors.Is(err, whip.ErrUnauthorized) {
			t.Errorf("receive with token %q: %v, want ErrUnauthorized", tok, err)
		}
	}
	if rs := srv.Resources(); len(rs) != 0 {
		t.Errorf("refused offers left sessions: %+v", rs)
	}
}

func TestMissingEndpointIsNotFound(t *testing.T) {
	srv := whiptest.Start(t, whiptest.Options{StreamWait: 100 * time.Millisecond})
	newPC := factory(t)
	ctx := context.Background()
	_, err := whip.Publish(ctx, whip.Options{Endpoint: srv.URL + "/no/such/endpoint", NewPeerConnection: newPC, AddTracks: newSender(t).addTracks})
	if !errors.Is(err, whip.ErrNotFound) {
		t.Errorf("publish to a missing endpoint: %v, want ErrNotFound", err)
	}
	// A WHEP stream nobody publishes.
	_, err = whip.Receive(ctx, whip.Options{Endpoint: srv.WHEP("empty"), NewPeerConnection: newPC, OnTrack: (&viewer{}).onTrack})
	if !errors.Is(err, whip.ErrNotFound) || !strings.Contains(err.Error(), "not live") {
		t.Errorf("receive from a stream nobody publishes: %v, want ErrNotFound with the server's text", err)
	}
}

func TestUnreachableFailsQuickly(t *testing.T) {
	snd := newSender(t)
	newPC := factory(t)
	// A port nobody listens on, and a server that accepts and never answers.
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
	for _, ep := range []string{"http://127.0.0.1:1/whip/room", "http://" + silent.Addr().String() + "/whip/room"} {
		begin := time.Now()
		_, err := whip.Publish(context.Background(), whip.Options{Endpoint: ep, NewPeerConnection: newPC, AddTracks: snd.addTracks, RequestTimeout: 500 * time.Millisecond})
		if !errors.Is(err, whip.ErrUnreachable) {
			t.Errorf("%s: %v, want ErrUnreachable", ep, err)
		}
		if d := time.Since(begin); d > 2*time.Second {
			t.Errorf("%s: took %v to fail", ep, d)
		}
	}

	// A join the caller gives up on is cancelled, not unreachable.
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	_, err = whip.Publish(ctx, whip.Options{Endpoint: "http://" + silent.Addr().String() + "/whip/room", NewPeerConnection: newPC, AddTracks: snd.addTracks})
	if !errors.Is(err, context.Canceled) || errors.Is(err, whip.ErrUnreachable) {
		t.Errorf("cancelled publish: %v, want context.Canceled only", err)
	}
}

// Answers other than the protocol's: the server's words reach the error,
// and a resource the client cannot use is deleted.
func TestBadAnswers(t *testing.T) {
	var deletes []string
	mux := http.NewServeMux()
	mux.HandleFunc("POST /busy", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "7")
		http.Error(w, "too many\n publishers right now", http.StatusServiceUnavailable)
	})
	mux.HandleFunc("POST /ok-not-created", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/sdp")
		w.Write([]byte("v=0\r\n"))
	})
	mux.HandleFunc("POST /no-location", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/sdp")
		w.WriteHeader(http.StatusCreated)
		w.Write([]byte("v=0\r\n"))
	})
	mux.HandleFunc("POST /html", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("Location", "/r/1")
		w.WriteHeader(http.StatusCreated)
		w.Write([]byte("<html>hello</html>"))
	})
	mux.HandleFunc("POST /broken-sdp", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/sdp")
		w.Header().Set("Location", "r/2")
		w.WriteHeader(http.StatusCreated)
		w.Write([]byte("v=0\r\no=- 0 0 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"))
	})
	mux.HandleFunc("DELETE /r/{id}", func(w http.ResponseWriter, r *http.Request) {
		deletes = append(deletes, r.URL.Path)
	})
	hs := httptest.NewServer(mux)
	defer hs.Close()
	newPC := factory(t)
	snd := newSender(t)
	publish := func(path string) error {
		_, err := whip.Publish(context.Background(), whip.Options{Endpoint: hs.URL + path + "?secret=1", Token: token, NewPeerConnection: newPC, AddTracks: snd.addTracks})
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("%s: the error shows the URL's query: %v", path, err)
		}
		return err
	}

	err := publish("/busy")
	var he *whip.HTTPError
	if !errors.As(err, &he) || he.Status != 503 || he.RetryAfter != 7*time.Second || he.Text != "too many publishers right now" {
		t.Errorf("503: %#v", err)
	}
	if errors.Is(err, whip.ErrUnauthorized) || errors.Is(err, whip.ErrNotFound) || errors.Is(err, whip.ErrUnreachable) {
		t.Errorf("503 matches a sentinel: %v", err)
	}
	if !strings.HasPrefix(err.Error(), "whip: ") || !strings.Contains(err.Error(), "too many publishers") {
		t.Errorf("503 error text: %q", err)
	}
	for path, want := range map[string]string{
		"/ok-not-created": "200",
		"/no-location":    "without a Location",
		"/html":           "text/html",
		"/broken-sdp":     "applying the server's answer",
	} {
		if err := publish(path); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error about %q", path, err, want)
		}
	}
	// The broken answer's resource, resolved against the endpoint.
	if len(deletes) != 1 || deletes[0] != "/r/2" {
		t.Errorf("DELETEs %v, want /r/2 for the answer the client could not apply", deletes)
	}
}

// An endpoint that redirects (RFC 9725 allows it for load balancing): the offer
// follows with its token, and the Location is resolved against the URL
// that answered, so the DELETE reaches the server that holds the session.
func TestRedirectedEndpoint(t *testing.T) {
	srv := whiptest.Start(t, whiptest.Options{Token: token})
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, srv.WHIP("room"), http.StatusTemporaryRedirect)
	}))
	defer front.Close()
	pub, err := whip.Publish(context.Background(), whip.Options{Endpoint: front.URL + "/whip", Token: token, NewPeerConnection: factory(t), AddTracks: newSender(t).addTracks})
	if err != nil {
		t.Fatal(err)
	}
	if !held(srv, pub.Resource()) {
		t.Errorf("resource %s, want one of %+v", pub.Resource(), srv.Resources())
	}
	if err := pub.Leave(context.Background()); err != nil || !deleted(srv, pub.Resource()) {
		t.Errorf("Leave: %v; the relay saw DELETEs %v", err, srv.Deleted())
	}
}

// With AskICEServers the STUN server named on OPTIONS is used for the
// offer's candidates.
func TestAskICEServers(t *testing.T) {
	stun := startSTUN(t)
	srv := whiptest.Start(t, whiptest.Options{Token: token, ICEServers: []webrtc.ICEServer{{URLs: []string{"stun:" + stun.addr}}}})
	snd := newSender(t)
	pub, err := whip.Publish(context.Background(), whip.Options{Endpoint: srv.WHIP("room"), Token: token,
		NewPeerConnection: factory(t), AddTracks: snd.addTracks, AskICEServers: true})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	if stun.requests.Load() == 0 {
		t.Errorf("the STUN server from the OPTIONS answer was never asked")
	}
	if !strings.Contains(pub.PC.LocalDescription().SDP, "typ srflx") {
		t.Errorf("the offer has no server-reflexive candidate:\n%s", pub.PC.LocalDescription().SDP)
	}
	if rs := srv.Requests(); len(rs) < 2 || rs[0].Method != http.MethodOptions || !rs[0].Authorized {
		t.Errorf("requests %+v, want an authorized OPTIONS first", rs)
	}
}

// Close hangs up without a DELETE; the session then reports no error.
func TestCloseWithoutDelete(t *testing.T) {
	srv := whiptest.Start(t, whiptest.Options{})
	pub, err := whip.Publish(context.Background(), whip.Options{Endpoint: srv.WHIP("room"), NewPeerConnection: factory(t), AddTracks: newSender(t).addTracks})
	if err != nil {
		t.Fatal(err)
	}
	pub.Close()
	pub.Close()
	waitClosed(t, "done", pub.Done(), time.Second)
	if pub.Err() != nil || len(srv.Deleted()) != 0 {
		t.Errorf("after Close: Err %v, DELETEs %v", pub.Err(), srv.Deleted())
	}
}

func TestOptionsNeedEndpointAndMedia(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		do   func() error
	}{
		{"no endpoint", func() error {
			_, err := whip.Publish(ctx, whip.Options{AddTracks: func(*webrtc.PeerConnection) error { return nil }})
			return err
		}},
		{"ws endpoint", func() error {
			_, err := whip.Receive(ctx, whip.Options{Endpoint: "ws://x/y", OnTrack: (&viewer{}).onTrack})
			return err
		}},
		{"no tracks", func() error { _, err := whip.Publish(ctx, whip.Options{Endpoint: "http://127.0.0.1:1/"}); return err }},
		{"no OnTrack", func() error { _, err := whip.Receive(ctx, whip.Options{Endpoint: "http://127.0.0.1:1/"}); return err }},
	} {
		if err := tc.do(); err == nil || !strings.HasPrefix(err.Error(), "whip: ") || errors.Is(err, whip.ErrUnreachable) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}
