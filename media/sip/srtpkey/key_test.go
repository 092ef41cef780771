package srtpkey

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/pion/rtp"
)

// rfc4568Key is the key of RFC 4568 §4's example.
const rfc4568Key = "inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:4"

func TestParseKeyParams(t *testing.T) {
	for _, tc := range []struct {
		params  string
		wantMKI bool
		wantErr bool
	}{
		{params: rfc4568Key, wantMKI: true},
		{params: "inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR"},
		{params: "inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^31"},
		{params: "inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|1048576"},
		{params: "inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:4;inline:QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVowMTIz|2^20|2:4", wantMKI: true},
		{params: "inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^x", wantErr: true},
		{params: "inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|1:9", wantErr: true},
		{params: "inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|300:1", wantErr: true},
		{params: "inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|1:4|2^20|x", wantErr: true},
		{params: "inline:c2hvcnQ=", wantErr: true},
		{params: "inline:!!!notbase64!!!!!!!!!!!!!!!!!!!!!!!!!!!", wantErr: true},
		{params: "uri:https://keys.example/k1", wantErr: true},
		{params: "", wantErr: true},
	} {
		k, err := ParseKeyParams(tc.params)
		if tc.wantErr {
			if !errors.Is(err, ErrBadKey) {
				t.Errorf("%q: err %v, want ErrBadKey", tc.params, err)
			}
			if err != nil && strings.Contains(err.Error(), "PS1uQ") {
				t.Errorf("%q: error %q shows the key", tc.params, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.params, err)
			continue
		}
		if k.HasMKI() != tc.wantMKI {
			t.Errorf("%q: HasMKI %v, want %v", tc.params, k.HasMKI(), tc.wantMKI)
		}
		if got := k.Inline(); got != strings.Split(tc.params, "|")[0] {
			t.Errorf("%q: Inline() = %q", tc.params, got)
		}
	}
}

func TestKeyNeverPrints(t *testing.T) {
	k, err := ParseKeyParams(rfc4568Key)
	if err != nil {
		t.Fatal(err)
	}
	type holder struct {
		Exported Key
		hidden   Key
		ptr      *Key
	}
	h := holder{Exported: k, hidden: k, ptr: &k}
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("keys", "key", k, "holder", h)
	outs := []string{logged.String(), k.String(), k.GoString()}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
		outs = append(outs, fmt.Sprintf(verb, k), fmt.Sprintf(verb, h), fmt.Sprintf(verb, &h), fmt.Sprintf(verb, []Key{k}))
	}
	secret := []string{"PS1uQ", "3d2d6e40", "3D2D6E40", "61 45"} // base64, hex of the first key bytes, decimal bytes
	for _, out := range outs {
		for _, s := range secret {
			if strings.Contains(out, s) {
				t.Errorf("output %q shows the key (%q)", out, s)
			}
		}
	}
	if !strings.Contains(fmt.Sprint(k), "redacted") {
		t.Errorf("Sprint(key) = %q, want it to say redacted", fmt.Sprint(k))
	}
}

func TestGenerate(t *testing.T) {
	a, err := Generate(nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Generate(nil)
	if err != nil {
		t.Fatal(err)
	}
	if a.Equal(b) || a.IsZero() {
		t.Error("two generated keys are equal or empty")
	}
	back, err := ParseKeyParams(a.Inline())
	if err != nil || !back.Equal(a) {
		t.Errorf("Inline does not round-trip: %v", err)
	}
	m := a.Material()
	if len(m) != 30 || base64.StdEncoding.EncodeToString(m) != strings.TrimPrefix(a.Inline(), "inline:") {
		t.Errorf("Material is %d bytes and not the inline key", len(m))
	}
	m[0]++
	if !bytes.Equal(a.Material()[1:], m[1:]) || a.Material()[0] == m[0] {
		t.Error("Material returned the key itself, not a copy")
	}
	if (Key{}).Material() != nil || (Key{}).Inline() != "" || !(Key{}).IsZero() || (Key{}).String() != "none" {
		t.Error("the zero Key is not empty")
	}
	if _, err := Generate(strings.NewReader("short")); err == nil {
		t.Error("Generate from a short reader succeeded")
	}
}

func TestParseSuite(t *testing.T) {
	for _, s := range Suites() {
		got, err := ParseSuite(s.String())
		if err != nil || got != s {
			t.Errorf("ParseSuite(%v) = %v, %v", s, got, err)
		}
		if _, err := s.Profile(); err != nil {
			t.Errorf("%v: %v", s, err)
		}
	}
	for _, name := range []string{"AES_256_CM_HMAC_SHA1_80", "F8_128_HMAC_SHA1_80", "none", ""} {
		if _, err := ParseSuite(name); !errors.Is(err, ErrUnknownSuite) {
			t.Errorf("ParseSuite(%q): %v, want ErrUnknownSuite", name, err)
		}
	}
	if got := Suite(9).String(); got != "Suite(9)" {
		t.Errorf("Suite(9).String() = %q", got)
	}
}

// TestContextsRoundTrip sends packets both ways between two ends keyed as
// an SDES offer/answer keys them, for both suites and with a far-end MKI.
func TestContextsRoundTrip(t *testing.T) {
	for _, suite := range Suites() {
		for _, withMKI := range []bool{false, true} {
			t.Run(fmt.Sprintf("%v/mki=%v", suite, withMKI), func(t *testing.T) {
				ours, err := Generate(nil)
				if err != nil {
					t.Fatal(err)
				}
				theirs, err := Generate(nil)
				if err != nil {
					t.Fatal(err)
				}
				// The far end's key as roomd reads it from its a=crypto line.
				params := theirs.Inline()
				if withMKI {
					params += "|2^20|1:4"
				}
				theirsSeen, err := ParseKeyParams(params)
				if err != nil {
					t.Fatal(err)
				}
				enc, dec, err := NewContexts(suite, ours, theirsSeen)
				if err != nil {
					t.Fatal(err)
				}
				// The far end encrypts with its key (tagging the MKI) and
				// decrypts with ours: the same two keyings, roles swapped.
				farDec, farEnc, err := NewContexts(suite, ours, theirsSeen)
				if err != nil {
					t.Fatal(err)
				}
				pkt := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: 7, Timestamp: 160, SSRC: 0x1234}, Payload: []byte("hello far end")}
				raw, err := pkt.Marshal()
				if err != nil {
					t.Fatal(err)
				}
				sealed, err := enc.EncryptRTP(nil, raw, nil)
				if err != nil {
					t.Fatal(err)
				}
				if bytes.Contains(sealed, pkt.Payload) {
					t.Fatal("the payload travels in the clear")
				}
				opened, err := farDec.DecryptRTP(nil, sealed, nil)
				if err != nil || !bytes.Equal(opened, raw) {
					t.Fatalf("far end cannot open roomd's packet: %v", err)
				}
				back, err := farEnc.EncryptRTP(nil, raw, nil)
				if err != nil {
					t.Fatal(err)
				}
				opened, err = dec.DecryptRTP(nil, back, nil)
				if err != nil || !bytes.Equal(opened, raw) {
					t.Fatalf("roomd cannot open the far end's packet: %v", err)
				}
				if _, err := dec.DecryptRTP(nil, back, nil); err == nil {
					t.Error("a replayed packet was accepted")
				}
				if _, err := farDec.DecryptRTP(nil, back, nil); err == nil {
					t.Error("a packet under the wrong key was accepted")
				}
			})
		}
	}
}

func TestNewContextsRefuses(t *testing.T) {
	k, _ := Generate(nil)
	withMKI, _ := ParseKeyParams(rfc4568Key)
	for name, f := range map[string]func() error{
		"no suite":   func() error { _, _, err := NewContexts(SuiteNone, k, k); return err },
		"no remote":  func() error { _, _, err := NewContexts(AESCM128HMACSHA180, k, Key{}); return err },
		"local MKI":  func() error { _, _, err := NewContexts(AESCM128HMACSHA180, withMKI, k); return err },
		"zero local": func() error { _, _, err := NewContexts(AESCM128HMACSHA132, Key{}, k); return err },
	} {
		if f() == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
