// Package whiptest runs a small WHIP (RFC 9725) and WHEP
// (draft-ietf-wish-whep) relay on 127.0.0.1 for tests: what a publisher
// sends to /whip/<stream> is forwarded to every viewer of /whep/<stream>.
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
package whiptest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
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
	hs     *httptest.Server
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

// Start runs a relay until the test ends.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	if opts.StreamWait <= 0 {
		opts.StreamWait = 5 * time.Second
	}
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	reg := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(m, reg); err != nil {
		t.Fatal(err)
	}
	se := webrtc.SettingEngine{}
	se.SetLite(true)
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	s := &Server{
		opts:      opts,
		api:       webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se)),
		closed:    make(chan struct{}),
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
	s.hs = httptest.NewServer(s.record(mux))
	s.URL = s.hs.URL
	t.Cleanup(s.Close)
	return s
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

// Close stops the server and hangs up every session. It is idempotent.
func (s *Server) Close() {
	s.once.Do(func() {
		close(s.closed)
		s.hs.Close()
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

// readOffer checks and reads a POSTed offer.
func (s *Server) readOffer(w http.ResponseWriter, r *http.Request) (string, bool) {
	if !s.authorize(w, r) {
		return "", false
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/sdp" {
		http.Error(w, "offers are application/sdp", http.StatusUnsupportedMediaType)
		return "", false
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil || !strings.HasPrefix(string(body), "v=0") {
		http.Error(w, "the body is not an SDP offer", http.StatusBadRequest)
		return "", false
	}
	return string(body), true
}

func (s *Server) stream(name string) *stream {
	st := s.streams[name]
	if st == nil {
		st = &stream{name: name, tracks: map[webrtc.RTPCodecType]*webrtc.TrackLocalStaticRTP{},
			live: make(chan struct{}), viewers: map[string]*Resource{}}
		s.streams[name] = st
	}
	return st
}

func (s *Server) publish(w http.ResponseWriter, r *http.Request) {
	offer, ok := s.readOffer(w, r)
	if !ok {
		return
	}
	name := r.PathValue("stream")
	pc, err := s.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	res := &Resource{Path: "/resource/" + newID(), Protocol: "WHIP", Stream: name, pc: pc}
	s.mu.Lock()
	st := s.stream(name)
	if st.pub != nil {
		s.mu.Unlock()
		pc.Close()
		http.Error(w, "the stream has a publisher already", http.StatusConflict)
		return
	}
	st.pub = res
	s.mu.Unlock()

	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) { s.relay(st, res, tr) })
	sdp, err := s.answer(pc, offer, func() {
		n := 0
		for _, t := range pc.GetTransceivers() {
			if t.Direction() == webrtc.RTPTransceiverDirectionRecvonly {
				n++
			}
		}
		s.mu.Lock()
		st.want = n
		s.mu.Unlock()
	})
	if err != nil {
		s.endPublisher(st, res)
		pc.Close()
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.created(w, res, sdp)
}

// relay copies one publisher track to the stream's shared track.
func (s *Server) relay(st *stream, pub *Resource, tr *webrtc.TrackRemote) {
	local, err := webrtc.NewTrackLocalStaticRTP(tr.Codec().RTPCodecCapability, tr.Kind().String(), "whiptest-"+st.name)
	if err != nil {
		return
	}
	s.mu.Lock()
	if st.pub != pub {
		s.mu.Unlock()
		return
	}
	st.tracks[tr.Kind()] = local
	if tr.Kind() == webrtc.RTPCodecTypeVideo {
		st.videoSSRC = uint32(tr.SSRC())
	}
	if len(st.tracks) == st.want {
		close(st.live)
	}
	s.mu.Unlock()
	count := &st.audio
	if tr.Kind() == webrtc.RTPCodecTypeVideo {
		count = &st.video
	}
	for {
		pkt, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		count.Add(1)
		pkt.Header.Extension = false
		pkt.Header.ExtensionProfile = 0
		pkt.Header.Extensions = nil
		// An error here is one viewer going away; the others still want
		// the packet.
		_ = local.WriteRTP(pkt)
	}
}

func (s *Server) view(w http.ResponseWriter, r *http.Request) {
	offer, ok := s.readOffer(w, r)
	if !ok {
		return
	}
	name := r.PathValue("stream")
	s.mu.Lock()
	st := s.stream(name)
	live := st.live
	s.mu.Unlock()
	select {
	case <-live:
	case <-time.After(s.opts.StreamWait):
		http.Error(w, "stream "+name+" is not live", http.StatusNotFound)
		return
	case <-r.Context().Done():
		return
	case <-s.closed:
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	pc, err := s.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	res := &Resource{Path: "/resource/" + newID(), Protocol: "WHEP", Stream: name, pc: pc}
	s.mu.Lock()
	if st.live != live { // the publisher left meanwhile
		s.mu.Unlock()
		pc.Close()
		http.Error(w, "stream "+name+" ended", http.StatusNotFound)
		return
	}
	var tracks []*webrtc.TrackLocalStaticRTP
	for _, t := range st.tracks {
		tracks = append(tracks, t)
	}
	st.viewers[res.Path] = res
	s.mu.Unlock()
	for _, t := range tracks {
		sender, err := pc.AddTrack(t)
		if err != nil {
			s.dropViewer(st, res)
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		go s.feedback(st, sender)
	}
	pc.OnConnectionStateChange(func(cs webrtc.PeerConnectionState) {
		if cs == webrtc.PeerConnectionStateConnected {
			s.keyFrame(st)
		}
	})
	sdp, err := s.answer(pc, offer, nil)
	if err != nil {
		s.dropViewer(st, res)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.created(w, res, sdp)
}

// feedback reads a viewer's RTCP (which drives the NACK responder) and
// passes its key-frame requests to the publisher.
func (s *Server) feedback(st *stream, sender *webrtc.RTPSender) {
	for {
		pkts, _, err := sender.ReadRTCP()
		if err != nil {
			return
		}
		for _, p := range pkts {
			switch p.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				s.keyFrame(st)
			}
		}
	}
}

func (s *Server) keyFrame(st *stream) {
	s.mu.Lock()
	pub, ssrc := st.pub, st.videoSSRC
	s.mu.Unlock()
	if pub != nil && ssrc != 0 {
		pub.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}})
	}
}

// answer applies an offer and answers it with every candidate (no trickle).
func (s *Server) answer(pc *webrtc.PeerConnection, offer string, applied func()) (string, error) {
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return "", fmt.Errorf("unusable offer: %w", err)
	}
	if applied != nil {
		applied()
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		return "", fmt.Errorf("cannot answer: %w", err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(answer); err != nil {
		return "", fmt.Errorf("cannot answer: %w", err)
	}
	select {
	case <-gathered:
	case <-s.closed:
	}
	return pc.LocalDescription().SDP, nil
}

// created registers a session and answers 201 Created (RFC 9725).
func (s *Server) created(w http.ResponseWriter, res *Resource, sdp string) {
	s.mu.Lock()
	s.resources[res.Path] = res
	s.mu.Unlock()
	res.pc.OnICEConnectionStateChange(func(st webrtc.ICEConnectionState) {
		if st == webrtc.ICEConnectionStateFailed {
			s.end(res)
		}
	})
	h := w.Header()
	h.Set("Content-Type", "application/sdp")
	h.Set("Location", res.Path) // relative: clients resolve it
	h.Set("ETag", `"`+strings.TrimPrefix(res.Path, "/resource/")+`"`)
	s.links(h)
	w.WriteHeader(http.StatusCreated)
	io.WriteString(w, sdp)
}

func (s *Server) delete(w http.ResponseWriter, r *http.Request) {
	if !s.authorize(w, r) {
		return
	}
	path := "/resource/" + r.PathValue("id")
	s.mu.Lock()
	res := s.resources[path]
	if res != nil {
		s.deleted = append(s.deleted, path)
	}
	s.mu.Unlock()
	if res == nil {
		http.Error(w, "no such resource", http.StatusNotFound)
		return
	}
	s.end(res)
	w.WriteHeader(http.StatusOK)
}

// end forgets a session and hangs it up; a publisher takes its stream's
// viewers with it.
func (s *Server) end(res *Resource) {
	s.mu.Lock()
	delete(s.resources, res.Path)
	st := s.streams[res.Stream]
	s.mu.Unlock()
	switch {
	case st == nil:
	case res.Protocol == "WHIP":
		for _, v := range s.endPublisher(st, res) {
			s.end(v)
		}
	default:
		s.dropViewer(st, res)
	}
	res.pc.Close()
}

// endPublisher ends a stream's publishing and returns its viewers.
func (s *Server) endPublisher(st *stream, res *Resource) []*Resource {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st.pub != res {
		return nil
	}
	st.pub, st.want, st.videoSSRC = nil, 0, 0
	st.tracks = map[webrtc.RTPCodecType]*webrtc.TrackLocalStaticRTP{}
	select {
	case <-st.live:
		st.live = make(chan struct{})
	default:
	}
	var vs []*Resource
	for _, v := range st.viewers {
		vs = append(vs, v)
	}
	return vs
}

func (s *Server) dropViewer(st *stream, res *Resource) {
	s.mu.Lock()
	delete(st.viewers, res.Path)
	delete(s.resources, res.Path)
	s.mu.Unlock()
	res.pc.Close()
}

func newID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}
