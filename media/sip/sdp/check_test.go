package sdp

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckOffer: the check an inbound INVITE's offer gets before the room
// rings refuses broken and unusable offers with the class that picks the
// SIP answer, and passes every offer in testdata/offers that Answer takes.
func TestCheckOffer(t *testing.T) {
	const head = "v=0\r\no=- 1 1 IN IP4 192.0.2.9\r\ns=-\r\n"
	const conn = "c=IN IP4 192.0.2.9\r\nt=0 0\r\n"
	for _, tc := range []struct {
		name, offer string
		want        error // nil, ErrMalformed or ErrNotAcceptable
	}{
		{"plain PCMU", head + conn + "m=audio 6000 RTP/AVP 0\r\n", nil},
		{"SAVPF with video", head + conn + "m=video 6002 RTP/SAVPF 96\r\nm=audio 6000 RTP/SAVPF 0\r\n", nil},
		{"huge unknown attribute", head + conn + "m=audio 6000 RTP/AVP 0\r\na=x-pad:" + strings.Repeat("A", 9000) + "\r\n", nil},
		{"not SDP", "this is not a session description\r\n", ErrMalformed},
		{"port past 65535", head + conn + "m=audio 99999 RTP/AVP 0\r\n", ErrMalformed},
		{"no c= line", head + "t=0 0\r\nm=audio 6000 RTP/AVP 0\r\n", ErrMalformed},
		{"too many m-lines", head + conn + strings.Repeat("m=audio 6000 RTP/AVP 0\r\n", MaxMediaLines+1), ErrMalformed},
		{"unregistered profile", head + conn + "m=audio 6000 RTP/XYZ 0\r\n", ErrMalformed},
		{"profile that is not RTP", head + conn + "m=audio 6000 TCP/MRCPv2 0\r\n", ErrNotAcceptable},
		{"every stream rejected", head + conn + "m=audio 0 RTP/AVP 0\r\n", ErrNotAcceptable},
		{"video only", head + conn + "m=video 6002 RTP/AVP 96\r\n", ErrNotAcceptable},
		{"no formats", head + conn + "m=audio 6000 RTP/AVP x\r\n", ErrNotAcceptable},
	} {
		err := CheckOffer([]byte(tc.offer))
		switch {
		case tc.want == nil && err != nil:
			t.Errorf("%s: refused: %v", tc.name, err)
		case tc.want != nil && !errors.Is(err, tc.want):
			t.Errorf("%s: %v; want %v", tc.name, err, tc.want)
		}
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "offers", "*.sdp"))
	if len(files) == 0 {
		t.Fatal("no offers in testdata/offers")
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		s := newSession(t, roomConfig("192.0.2.1", 40000, func(c *Config) {
			withDTLS(c)
			c.Encryption = EncryptionPreferred
		}))
		if _, _, aerr := s.Answer(b, SendRecv); aerr == nil {
			if err := CheckOffer(b); err != nil {
				t.Errorf("%s: Answer takes it, CheckOffer refuses it: %v", name, err)
			}
		}
	}
}
