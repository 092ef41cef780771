package sdp

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzNegotiate reads arbitrary bytes as a far end's offer and as its
// answer to roomd's offer: no panic, every error classified, every
// accepted description answered with one pion/sdp and roomd can read
// back, and CheckOffer passing every offer Answer takes.
func FuzzNegotiate(f *testing.F) {
	for _, dir := range []string{"offers", "answers"} {
		files, _ := filepath.Glob(filepath.Join("testdata", dir, "*.sdp"))
		for _, name := range files {
			b, err := os.ReadFile(name)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	f.Add([]byte("v=0\r\no=- 0 0 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		cfg := roomConfig("192.0.2.1", 40000, func(c *Config) {
			withDTLS(c)
			withICE(c) // offers with ICE are answered with ICE-lite
			c.Encryption = EncryptionPreferred
			c.Rand = newSeeded()
		})
		s := newSession(t, cfg)
		answer, neg, err := s.Answer(body, SendRecv)
		checkOutcome(t, err, neg)
		// The check before ringing never refuses what Answer takes.
		if cerr := CheckOffer(body); err == nil && cerr != nil {
			t.Fatalf("CheckOffer refuses an offer Answer takes: %v", cerr)
		} else if cerr != nil && !errors.Is(cerr, ErrMalformed) && !errors.Is(cerr, ErrNotAcceptable) {
			t.Fatalf("CheckOffer: unclassified error %v", cerr)
		}
		if err == nil {
			rs := reparse(t, answer)
			offer, _ := parse(body)
			if len(rs.media) != len(offer.media) {
				t.Fatalf("answer has %d m-lines for %d offered", len(rs.media), len(offer.media))
			}
		}
		o := newSession(t, cfg)
		if _, err := o.Offer(SendRecv); err != nil {
			t.Fatal(err)
		}
		neg, err = o.Answered(body)
		checkOutcome(t, err, neg)
	})
}

func checkOutcome(t *testing.T, err error, neg *Negotiated) {
	t.Helper()
	if err != nil {
		if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrNotAcceptable) {
			t.Fatalf("unclassified error %v", err)
		}
		return
	}
	if neg.Audio == nil || len(neg.Audio.Codecs) == 0 || (neg.Video != nil && len(neg.Video.Codecs) == 0) {
		t.Fatalf("accepted without codecs: %v", neg)
	}
	_ = neg.String()
}

// TestHostileSizes: descriptions at roomd's bounds cost little, and one
// past them is refused unread.
func TestHostileSizes(t *testing.T) {
	// 16 m-lines, each with every payload type (static 0 is PCMU) and
	// the rest of 64 KiB in rtpmaps and candidates.
	var b strings.Builder
	b.WriteString("v=0\r\no=- 1 1 IN IP4 192.0.2.9\r\ns=-\r\nc=IN IP4 192.0.2.9\r\nt=0 0\r\n")
	for i := range MaxMediaLines {
		b.WriteString("m=audio " + itoa(10000+2*i) + " RTP/AVP")
		for pt := range 128 {
			b.WriteString(" " + itoa(pt))
		}
		b.WriteString("\r\n")
		for pt := 96; pt < 128 && b.Len() < MaxSize-4096; pt++ {
			b.WriteString("a=rtpmap:" + itoa(pt) + " X-" + itoa(pt) + "/8000\r\na=candidate:1 1 udp 1 192.0.2.9 " + itoa(pt) + " typ host\r\n")
		}
	}
	body := []byte(b.String())
	if len(body) > MaxSize {
		t.Fatalf("test body %d bytes", len(body))
	}
	s := newSession(t, roomConfig("192.0.2.1", 40000, func(c *Config) { c.Encryption = EncryptionPreferred }))
	start := time.Now()
	answer, neg, err := s.Answer(body, SendRecv)
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	if len(reparse(t, answer).media) != MaxMediaLines || neg.Audio.Codec().Name != PCMU {
		t.Errorf("answer to %d m-lines: %v", MaxMediaLines, neg)
	}
	t.Logf("%d bytes, %d m-lines answered in %v", len(body), MaxMediaLines, took)

	for name, huge := range map[string][]byte{
		"bytes":   append(body, make([]byte, MaxSize)...),
		"m-lines": []byte("v=0\r\no=- 1 1 IN IP4 192.0.2.9\r\ns=-\r\nt=0 0\r\n" + strings.Repeat("m=audio 0 RTP/AVP 0\r\n", MaxMediaLines+1)),
	} {
		if _, _, err := s.Answer(huge, SendRecv); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v, want ErrMalformed", name, err)
		}
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
