package sdp

import (
	"bytes"
	"net/netip"
	"strconv"
	"strings"

	psdp "github.com/pion/sdp/v3"
)

// remoteMedia is one of the far end's m-lines, read once into maps so
// that the rest of the work is linear in the description's size.
type remoteMedia struct {
	index   int
	media   string // audio, video, application ...
	port    int
	proto   string // RTP/AVP, RTP/SAVPF, UDP/TLS/RTP/SAVPF ...
	formats []string
	// pts are the formats that are payload types, in order.
	pts     []uint8
	addr    netip.Addr // c= of the media, else of the session
	rtpmaps map[uint8]rtpmap
	fmtps   map[uint8]string
	// fb holds a=rtcp-fb values by payload type; 255 stands for '*'.
	fb        map[uint8][]string
	rtcpMux   bool
	rtcpPort  int
	rtcpAddr  netip.Addr
	dir       Direction
	crypto    []cryptoLine
	fps       []Fingerprint
	setup     string
	ice       *ICE
	bandwidth int // bit/s from b=TIAS, else b=AS
	content   string
	ptime     int
}

// ptAny is '*' in a=rtcp-fb.
const ptAny = 255

// cryptoLine is one a=crypto attribute.
type cryptoLine struct {
	tag           int
	suite         string
	keyParams     string
	sessionParams []string
}

// remoteSession is the far end's description, parsed.
type remoteSession struct {
	origin psdp.Origin
	media  []*remoteMedia
}

// parse bounds, unmarshals and reads a far end's description.
func parse(body []byte) (*remoteSession, error) {
	if len(body) > MaxSize {
		return nil, malformed("%d bytes, more than the %d roomd reads", len(body), MaxSize)
	}
	if n := bytes.Count(body, []byte("\nm=")); n > MaxMediaLines {
		return nil, malformed("%d m-lines, more than the %d roomd reads", n, MaxMediaLines)
	}
	var d psdp.SessionDescription
	if err := d.Unmarshal(body); err != nil {
		return nil, malformed("%v", err)
	}
	if len(d.MediaDescriptions) > MaxMediaLines {
		return nil, malformed("%d m-lines, more than the %d roomd reads", len(d.MediaDescriptions), MaxMediaLines)
	}
	sessAddr, ok := connectionAddr(d.ConnectionInformation)
	if !ok && d.ConnectionInformation != nil {
		return nil, malformed("the connection address %q is not an IP address", d.ConnectionInformation.Address)
	}
	sess := newRemoteMedia(-1, sessAddr)
	readAttributes(sess, d.Attributes)
	rs := &remoteSession{origin: d.Origin}
	for i, md := range d.MediaDescriptions {
		m := newRemoteMedia(i, sessAddr)
		m.media, m.port, m.formats = md.MediaName.Media, md.MediaName.Port.Value, md.MediaName.Formats
		m.proto = strings.ToUpper(strings.Join(md.MediaName.Protos, "/"))
		m.dir, m.fps, m.setup = sess.dir, sess.fps, sess.setup
		if m.port < 0 || m.port > 65535 {
			return nil, malformed("m-line %d has port %d", i, m.port)
		}
		if md.ConnectionInformation != nil {
			a, ok := connectionAddr(md.ConnectionInformation)
			if !ok {
				return nil, malformed("m-line %d's connection address %q is not an IP address", i, md.ConnectionInformation.Address)
			}
			m.addr = a
		}
		if m.port != 0 && !m.addr.IsValid() {
			return nil, malformed("m-line %d has no connection address (c=)", i)
		}
		seen := map[uint8]bool{}
		for _, f := range m.formats {
			if pt, err := strconv.ParseUint(f, 10, 7); err == nil && !seen[uint8(pt)] {
				seen[uint8(pt)] = true
				m.pts = append(m.pts, uint8(pt))
			}
		}
		m.bandwidth = bandwidth(d.Bandwidth)
		if b := bandwidth(md.Bandwidth); b > 0 {
			m.bandwidth = b
		}
		readAttributes(m, md.Attributes)
		if sess.ice != nil {
			m.ice = mergeICE(sess.ice, m.ice)
		}
		rs.media = append(rs.media, m)
	}
	return rs, nil
}

func newRemoteMedia(index int, addr netip.Addr) *remoteMedia {
	return &remoteMedia{
		index: index, addr: addr, dir: SendRecv,
		rtpmaps: map[uint8]rtpmap{}, fmtps: map[uint8]string{}, fb: map[uint8][]string{},
	}
}

// connectionAddr reads c='s address ("192.0.2.1", "224.2.1.1/127").
func connectionAddr(c *psdp.ConnectionInformation) (netip.Addr, bool) {
	if c == nil || c.Address == nil {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(strings.TrimSpace(c.Address.Address))
	return a, err == nil
}

// bandwidth reads b=TIAS (bit/s) or b=AS (kbit/s).
func bandwidth(bs []psdp.Bandwidth) int {
	as := 0
	for _, b := range bs {
		switch strings.ToUpper(b.Type) {
		case "TIAS":
			if b.Bandwidth > 0 && b.Bandwidth < 1<<31 {
				return int(b.Bandwidth)
			}
		case "AS":
			if b.Bandwidth > 0 && b.Bandwidth < 1<<21 {
				as = int(b.Bandwidth) * 1000
			}
		}
	}
	return as
}

// readAttributes fills m from a=lines (session or media level).
func readAttributes(m *remoteMedia, attrs []psdp.Attribute) {
	var fps []Fingerprint // media-level fingerprints replace the session's
	defer func() {
		if len(fps) > 0 {
			m.fps = fps
		}
	}()
	for _, a := range attrs {
		v := strings.TrimSpace(a.Value)
		switch strings.ToLower(a.Key) {
		case "rtpmap":
			if pt, r, ok := parseRtpmap(v); ok {
				m.rtpmaps[pt] = r
			}
		case "fmtp":
			if ptStr, params, ok := strings.Cut(v, " "); ok {
				if pt, err := strconv.ParseUint(ptStr, 10, 7); err == nil {
					m.fmtps[uint8(pt)] = strings.TrimSpace(params)
				}
			}
		case "rtcp-fb":
			ptStr, fb, ok := strings.Cut(v, " ")
			if !ok {
				continue
			}
			fb = strings.ToLower(strings.Join(strings.Fields(fb), " "))
			if ptStr == "*" {
				m.fb[ptAny] = append(m.fb[ptAny], fb)
			} else if pt, err := strconv.ParseUint(ptStr, 10, 7); err == nil {
				m.fb[uint8(pt)] = append(m.fb[uint8(pt)], fb)
			}
		case "rtcp-mux":
			m.rtcpMux = true
		case "rtcp":
			readRTCP(m, v)
		case "sendrecv":
			m.dir = SendRecv
		case "sendonly":
			m.dir = SendOnly
		case "recvonly":
			m.dir = RecvOnly
		case "inactive":
			m.dir = Inactive
		case "crypto":
			if c, ok := parseCrypto(v); ok {
				m.crypto = append(m.crypto, c)
			}
		case "fingerprint":
			if alg, val, ok := strings.Cut(v, " "); ok && len(fps) < maxCandidates {
				fps = append(fps, Fingerprint{Algorithm: strings.ToLower(alg), Value: strings.ToUpper(strings.TrimSpace(val))})
			}
		case "setup":
			m.setup = strings.ToLower(v)
		case "ice-ufrag":
			m.iceOrNew().Ufrag = v
		case "ice-pwd":
			m.iceOrNew().Pwd = v
		case "ice-lite":
			m.iceOrNew().Lite = true
		case "ice-options":
			m.iceOrNew().Options = v
		case "candidate":
			if ice := m.iceOrNew(); len(ice.Candidates) < maxCandidates {
				ice.Candidates = append(ice.Candidates, v)
			}
		case "content":
			m.content = strings.ToLower(v)
		case "ptime":
			m.ptime, _ = strconv.Atoi(v)
		}
	}
}

func (m *remoteMedia) iceOrNew() *ICE {
	if m.ice == nil {
		m.ice = &ICE{}
	}
	return m.ice
}

// mergeICE lets media-level ICE attributes override the session's.
func mergeICE(sess, media *ICE) *ICE {
	out := *sess
	out.Candidates = nil
	if media == nil {
		return &out
	}
	if media.Ufrag != "" {
		out.Ufrag = media.Ufrag
	}
	if media.Pwd != "" {
		out.Pwd = media.Pwd
	}
	if media.Options != "" {
		out.Options = media.Options
	}
	out.Lite = out.Lite || media.Lite
	out.Candidates = media.Candidates
	return &out
}

// readRTCP reads a=rtcp:PORT [IN IP4 ADDR] (RFC 3605).
func readRTCP(m *remoteMedia, v string) {
	f := strings.Fields(v)
	if len(f) == 0 {
		return
	}
	if p, err := strconv.Atoi(f[0]); err == nil && p > 0 && p <= 65535 {
		m.rtcpPort = p
	}
	if len(f) == 4 {
		if a, err := netip.ParseAddr(f[3]); err == nil {
			m.rtcpAddr = a
		}
	}
}

// parseCrypto reads "TAG SUITE KEYPARAMS [SESSIONPARAMS...]".
func parseCrypto(v string) (cryptoLine, bool) {
	f := strings.Fields(v)
	if len(f) < 3 {
		return cryptoLine{}, false
	}
	tag, err := strconv.Atoi(f[0])
	if err != nil || tag < 0 || tag > 999999999 {
		return cryptoLine{}, false
	}
	return cryptoLine{tag: tag, suite: f[1], keyParams: f[2], sessionParams: f[3:]}, true
}

// format names the format pt as the far end described it ("H264",
// "G729"), for refusals.
func (m *remoteMedia) format(pt uint8) rtpmap {
	if r, ok := m.rtpmaps[pt]; ok {
		return r
	}
	if r, ok := staticFormats[pt]; ok {
		return r
	}
	return rtpmap{name: "payload type " + strconv.Itoa(int(pt))}
}

// formatNames lists the far end's formats for a refusal: "H263, H261".
func (m *remoteMedia) formatNames() string {
	var names []string
	seen := map[string]bool{}
	for _, pt := range m.pts {
		n := m.format(pt).name
		if strings.EqualFold(n, TelephoneEvent) || seen[strings.ToUpper(n)] {
			continue
		}
		seen[strings.ToUpper(n)] = true
		names = append(names, n)
		if len(names) == 8 {
			names = append(names, "…")
			break
		}
	}
	if len(names) == 0 {
		return "nothing"
	}
	return strings.Join(names, ", ")
}

// feedback returns the rtcp-fb values the far end gave for pt.
func (m *remoteMedia) feedback(pt uint8) []string {
	return append(append([]string(nil), m.fb[ptAny]...), m.fb[pt]...)
}

// remoteAddr is where to send RTP and RTCP.
func (m *remoteMedia) remoteAddrs() (rtp, rtcp netip.AddrPort) {
	if !m.addr.IsValid() || m.addr.IsUnspecified() || m.port == 0 {
		return netip.AddrPort{}, netip.AddrPort{}
	}
	rtp = netip.AddrPortFrom(m.addr, uint16(m.port))
	switch {
	case m.rtcpMux:
		rtcp = rtp
	case m.rtcpPort != 0 && m.rtcpAddr.IsValid() && !m.rtcpAddr.IsUnspecified():
		rtcp = netip.AddrPortFrom(m.rtcpAddr, uint16(m.rtcpPort))
	case m.rtcpPort != 0:
		rtcp = netip.AddrPortFrom(m.addr, uint16(m.rtcpPort))
	case m.port < 65535:
		rtcp = netip.AddrPortFrom(m.addr, uint16(m.port+1))
	}
	return rtp, rtcp
}

// holds reports the RFC 2543 way of holding: c=0.0.0.0 (which, beside ICE
// candidates, only means the default address is not known yet).
func (m *remoteMedia) holds() bool {
	return m.addr.IsValid() && m.addr.IsUnspecified() && (m.ice == nil || len(m.ice.Candidates) == 0)
}
