package sdp

import (
	"strconv"
	"strings"

	psdp "github.com/pion/sdp/v3"

	"github.com/roomd/roomd/media/sip/srtpkey"
)

// format is one payload format roomd writes into an m-line.
type format struct {
	pt       uint8
	name     string
	clock    int
	channels int // written only when above 1
	fmtp     string
	fb       []string
	// mode is H.264's packetization-mode (-1 for other codecs), which
	// tells two H.264 formats apart.
	mode int
}

// sameCodec reports whether a far end's format r with H.264 mode mode is
// this format.
func (f format) sameCodec(r rtpmap, mode int) bool {
	if !strings.EqualFold(f.name, r.name) || f.clock != r.clock {
		return false
	}
	return f.mode < 0 || f.mode == mode
}

// sdesLine is one a=crypto roomd writes.
type sdesLine struct {
	tag   int
	suite srtpkey.Suite
	key   srtpkey.Key
}

// line is one m-line roomd writes.
type line struct {
	kind    Kind
	media   string // for rejected lines of other media
	port    int    // 0 rejects
	proto   string
	formats []format
	// rejectedFormats are the formats of a rejected line (the offer's).
	rejectedFormats []string
	dir             Direction
	rtcpMux         bool
	sdes            []sdesLine
	fingerprints    []Fingerprint
	setup           string
	ice             *ICE
	bitrate         int // b=AS/TIAS in bit/s, 0 none
	ptime           int
	// offer marks a line of an offer, which names its RTCP port for a far
	// end that does not take rtcp-mux (RFC 5761 §5.1.3).
	offer bool
}

// audioPTime is the packet duration roomd sends audio in.
const audioPTime = 20

func (l line) describe() *psdp.MediaDescription {
	md := &psdp.MediaDescription{MediaName: psdp.MediaName{
		Media:  l.media,
		Port:   psdp.RangedPort{Value: l.port},
		Protos: strings.Split(l.proto, "/"),
	}}
	if md.MediaName.Media == "" {
		md.MediaName.Media = l.kind.String()
	}
	if l.port == 0 {
		md.MediaName.Formats = l.rejectedFormats
		if len(md.MediaName.Formats) == 0 {
			for _, f := range l.formats {
				md.MediaName.Formats = append(md.MediaName.Formats, strconv.Itoa(int(f.pt)))
			}
		}
		if len(md.MediaName.Formats) == 0 {
			md.MediaName.Formats = []string{"0"}
		}
		return md
	}
	if l.bitrate > 0 {
		md.Bandwidth = []psdp.Bandwidth{
			{Type: "AS", Bandwidth: uint64(l.bitrate / 1000)},
			{Type: "TIAS", Bandwidth: uint64(l.bitrate)},
		}
	}
	attr := func(k, v string) { md.Attributes = append(md.Attributes, psdp.Attribute{Key: k, Value: v}) }
	for _, f := range l.formats {
		pt := strconv.Itoa(int(f.pt))
		md.MediaName.Formats = append(md.MediaName.Formats, pt)
		enc := f.name + "/" + strconv.Itoa(f.clock)
		if f.channels > 1 {
			enc += "/" + strconv.Itoa(f.channels)
		}
		attr("rtpmap", pt+" "+enc)
		if f.fmtp != "" {
			attr("fmtp", pt+" "+f.fmtp)
		}
		for _, fb := range f.fb {
			attr("rtcp-fb", pt+" "+fb)
		}
	}
	if l.ptime > 0 {
		attr("ptime", strconv.Itoa(l.ptime))
	}
	if l.offer || !l.rtcpMux {
		attr("rtcp", strconv.Itoa(l.port+1))
	}
	if l.rtcpMux {
		attr("rtcp-mux", "")
	}
	for _, c := range l.sdes {
		attr("crypto", strconv.Itoa(c.tag)+" "+c.suite.String()+" "+c.key.Inline())
	}
	if len(l.fingerprints) > 0 {
		for _, fp := range l.fingerprints {
			attr("fingerprint", fp.String())
		}
		attr("setup", l.setup)
	}
	if l.ice != nil {
		attr("ice-ufrag", l.ice.Ufrag)
		attr("ice-pwd", l.ice.Pwd)
		if l.ice.Options != "" {
			attr("ice-options", l.ice.Options)
		}
		for _, c := range l.ice.Candidates {
			attr("candidate", c)
		}
	}
	attr(l.dir.String(), "")
	return md
}

// describeSession writes a whole description.
func (s *Session) describeSession(lines []line) *psdp.SessionDescription {
	addrType := "IP4"
	if s.cfg.Address.Is6() && !s.cfg.Address.Is4In6() {
		addrType = "IP6"
	}
	addr := s.cfg.Address.Unmap().String()
	d := &psdp.SessionDescription{
		Origin: psdp.Origin{
			Username: s.cfg.UserName, SessionID: s.id, SessionVersion: s.version,
			NetworkType: "IN", AddressType: addrType, UnicastAddress: addr,
		},
		SessionName:           "roomd",
		ConnectionInformation: &psdp.ConnectionInformation{NetworkType: "IN", AddressType: addrType, Address: &psdp.Address{Address: addr}},
		TimeDescriptions:      []psdp.TimeDescription{{}},
	}
	for _, l := range lines {
		if l.ice != nil && l.ice.Lite {
			d.Attributes = []psdp.Attribute{{Key: "ice-lite"}}
		}
		d.MediaDescriptions = append(d.MediaDescriptions, l.describe())
	}
	return d
}

// marshal writes lines as the next body: the o= version goes up when the
// body differs from the last one roomd sent (RFC 3264 §8).
func (s *Session) marshal(lines []line) ([]byte, error) {
	body, err := s.describeSession(lines).Marshal()
	if err != nil {
		return nil, err
	}
	if s.last != nil && withoutOrigin(body) != withoutOrigin(s.last) {
		s.version++
		if body, err = s.describeSession(lines).Marshal(); err != nil {
			return nil, err
		}
	}
	s.last = body
	return body, nil
}

// withoutOrigin drops the v= and o= lines.
func withoutOrigin(body []byte) string {
	s := string(body)
	for range 2 {
		_, s, _ = strings.Cut(s, "\n")
	}
	return s
}
