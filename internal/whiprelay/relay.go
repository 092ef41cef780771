// Package whiprelay runs a small WHIP (RFC 9725) and WHEP
// (draft-ietf-wish-whep) relay on 127.0.0.1: what a publisher sends to
// /whip/<stream> is forwarded to every viewer of /whep/<stream>. Tests use
// it through internal/whiptest; the boot tests' whip-relay program
// (image/cmd/whip-relay) runs it inside the emulated board.
//
// It is written from the specifications, independently of media/whip, so
// that it can catch that client's mistakes: offers must be application/sdp
// and complete (it does not take trickled candidates; PATCH answers 405),
// every request carries the bearer token when one is set (401 with
// WWW-Authenticate otherwise), answers are 201 Created with a relative
// Location, an ETag and, when configured, STUN/TURN servers in Link headers
// (also on OPTIONS, to clients that show the token), and DELETE ends a
// session. The relay's ICE agent is ICE-lite, as most media servers'
// are, and gathers on loopback as well as on the machine's interfaces.
//
// # Relaying
//
// Each publisher track is copied packet by packet to a
// webrtc.TrackLocalStaticRTP that every viewer of the stream shares; header
// extensions are dropped, since their IDs belong to the publisher's
// negotiation. Viewers' key-frame requests (PLI, FIR) go to the publisher
// as PLIs, and every viewer that connects asks for one. A WHEP offer waits
// (Options.StreamWait) for its stream to go live, then answers 404. When the
// publisher leaves, the stream ends and its viewers' sessions are closed.
package whiprelay

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"
)

// Options configure a Server. The zero value is an open relay.
type Options struct {
	// Token is the bearer token every request must carry; empty means
	// none is needed.
	Token string
	// ICEServers are named in Link headers of every 201 answer and of
	// OPTIONS answers to clients that show the token.
	ICEServers []webrtc.ICEServer
	// StreamWait is how long a WHEP offer waits for its stream's
	// publisher; 0 means 5 s.
	StreamWait time.Duration
}

// Server is a running relay.
type Server struct {
	// URL is the server's base address, http://127.0.0.1:<port>.
	URL string

	opts   Options
	api    *webrtc.API
	hs     *http.Server
	served chan struct{} // closed when hs.Serve returns
	closed chan struct{}
	once   sync.Once

	mu        sync.Mutex
	streams   map[string]*stream
	resources map[string]*Resource
	deleted   []string
	requests  []Request
}

// Resource is one session the server holds.
type Resource struct {
	// Path is the resource's URL path, /resource/<id>.
	Path string
	// Protocol is "WHIP" or "WHEP".
	Protocol string
	// Stream is the stream published or viewed.
	Stream string

	pc *webrtc.PeerConnection
}

// Request is one request the server saw.
type Request struct {
	Method, Path string
	// Authorized says the request carried the token (always true when the
	// server needs none).
	Authorized bool
}

type stream struct {
	name string
	pub  *Resource
	want int // tracks the publisher's offer announced
	// tracks are what viewers get; live is closed when all of the
	// publisher's tracks have been seen.
	tracks    map[webrtc.RTPCodecType]*webrtc.TrackLocalStaticRTP
	live      chan struct{}
	videoSSRC uint32
	viewers   map[string]*Resource
	video     atomic.Uint64
	audio     atomic.Uint64
}

// Start runs a relay on a free port of 127.0.0.1 until Close.
func Start(opts Options) (*Server, error) {
	if opts.StreamWait <= 0 {
		opts.StreamWait = 5 * time.Second
	}
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		return nil, fmt.Errorf("whiprelay: %w", err)
	}
	reg := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(m, reg); err != nil {
		return nil, fmt.Errorf("whiprelay: %w", err)
	}
	se := webrtc.SettingEngine{}
	se.SetLite(true)
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("whiprelay: %w", err)
	}
	s := &Server{
		URL:       "http://" + ln.Addr().String(),
		opts:      opts,
		api:       webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se)),
		closed:    make(chan struct{}),
		served:    make(chan struct{}),
		streams:   map[string]*stream{},
		resources: map[string]*Resource{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /whip/{stream}", s.publish)
	mux.HandleFunc("POST /whep/{stream}", s.view)
	mux.HandleFunc("OPTIONS /whip/{stream}", s.options)
	mux.HandleFunc("OPTIONS /whep/{stream}", s.options)
	mux.HandleFunc("DELETE /resource/{id}", s.delete)
	mux.HandleFunc("PATCH /resource/{id}", func(w http.ResponseWriter, r *http.Request) {
		// Neither trickle ICE nor ICE restarts (RFC 9725).
		w.Header().Set("Allow", "DELETE")
		http.Error(w, "this server takes complete offers only", http.StatusMethodNotAllowed)
	})
	s.hs = &http.Server{Handler: s.record(mux), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		defer close(s.served)
		// Serve ends with Close (or a broken listener, which leaves the
		// relay deaf: its clients' requests fail and say so).
		s.hs.Serve(ln)
	}()
	return s, nil
}

// WHIP is the WHIP endpoint of a stream.
func (s *Server) WHIP(stream string) string { return s.URL + "/whip/" + stream }

// WHEP is the WHEP endpoint of a stream.
func (s *Server) WHEP(stream string) string { return s.URL + "/whep/" + stream }

// Resources lists the sessions the server holds.
func (s *Server) Resources() []Resource {
	s.mu.Lock()
	defer s.mu.Unlock()
	var rs []Resource
	for _, r := range s.resources {
		rs = append(rs, Resource{Path: r.Path, Protocol: r.Protocol, Stream: r.Stream})
	}
	return rs
}

// Deleted lists the resource paths DELETEd, in order.
func (s *Server) Deleted() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.deleted...)
}

// Requests lists the requests seen, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Received counts the RTP packets a stream's publishers have sent.
func (s *Server) Received(stream string) (video, audio uint64) {
	s.mu.Lock()
	st := s.streams[stream]
	s.mu.Unlock()
	if st == nil {
		return 0, 0
	}
	return st.video.Load(), st.audio.Load()
}

// Close stops the server, waiting for the requests under way (offers
// waiting for a stream give up at once), and hangs up every session. It is
// idempotent.
func (s *Server) Close() {
	s.once.Do(func() {
		close(s.closed)
		s.hs.Shutdown(context.Background())
		<-s.served
		s.mu.Lock()
		var pcs []*webrtc.PeerConnection
		for _, r := range s.resources {
			pcs = append(pcs, r.pc)
		}
		s.resources = map[string]*Resource{}
		s.mu.Unlock()
		for _, pc := range pcs {
			pc.Close()
		}
	})
}

func (s *Server) record(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Authorized: s.authorized(r)})
		s.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

func (s *Server) authorized(r *http.Request) bool {
	return s.opts.Token == "" || r.Header.Get("Authorization") == "Bearer "+s.opts.Token
}

// authorize answers 401 to a request without the token (RFC 6750 §3).
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) bool {
	if s.authorized(r) {
		return true
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="whiptest"`)
	http.Error(w, "missing or wrong bearer token", http.StatusUnauthorized)
	return false
}

func (s *Server) options(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Allow", "OPTIONS, POST")
	w.Header().Set("Accept-Post", "application/sdp")
	if s.authorized(r) {
		s.links(w.Header())
	}
	w.WriteHeader(http.StatusNoContent)
}

// links names the ICE servers (RFC 9725).
func (s *Server) links(h http.Header) {
	for _, is := range s.opts.ICEServers {
		for _, u := range is.URLs {
			l := fmt.Sprintf(`<%s>; rel="ice-server"`, u)
			if is.Username != "" {
				l += fmt.Sprintf(`; username=%q; credential=%q; credential-type="password"`, is.Username, fmt.Sprint(is.Credential))
			}
			h.Add("Link", l)
		}
	}
}
