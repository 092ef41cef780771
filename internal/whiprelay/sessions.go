package whiprelay

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

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
