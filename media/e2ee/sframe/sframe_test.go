package sframe

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"testing"

	"github.com/roomd/roomd/media/e2ee"
)

// hexBytes is a byte string in the test vectors' JSON.
type hexBytes []byte

func (h *hexBytes) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := hex.DecodeString(s)
	*h = v
	return err
}

// vectors is testdata/rfc9605-test-vectors.json: RFC 9605 Appendix C.
type vectors struct {
	Header []struct {
		KID     uint64   `json:"kid"`
		CTR     uint64   `json:"ctr"`
		Encoded hexBytes `json:"encoded"`
	} `json:"header"`
	AESCTRHMAC []struct {
		Suite   CipherSuite `json:"cipher_suite"`
		Key     hexBytes    `json:"key"`
		EncKey  hexBytes    `json:"enc_key"`
		AuthKey hexBytes    `json:"auth_key"`
		Nonce   hexBytes    `json:"nonce"`
		AAD     hexBytes    `json:"aad"`
		PT      hexBytes    `json:"pt"`
		CT      hexBytes    `json:"ct"`
	} `json:"aes_ctr_hmac"`
	SFrame []struct {
		Suite      CipherSuite `json:"cipher_suite"`
		KID        uint64      `json:"kid"`
		CTR        uint64      `json:"ctr"`
		BaseKey    hexBytes    `json:"base_key"`
		KeyLabel   hexBytes    `json:"sframe_key_label"`
		SaltLabel  hexBytes    `json:"sframe_salt_label"`
		SFrameKey  hexBytes    `json:"sframe_key"`
		SFrameSalt hexBytes    `json:"sframe_salt"`
		Metadata   hexBytes    `json:"metadata"`
		Nonce      hexBytes    `json:"nonce"`
		AAD        hexBytes    `json:"aad"`
		PT         hexBytes    `json:"pt"`
		CT         hexBytes    `json:"ct"`
	} `json:"sframe"`
}

func loadVectors(t testing.TB) vectors {
	t.Helper()
	b, err := os.ReadFile("testdata/rfc9605-test-vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v vectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Header) == 0 || len(v.AESCTRHMAC) == 0 || len(v.SFrame) == 0 {
		t.Fatal("test vectors file lost a section")
	}
	return v
}

// TestRFC9605HeaderVectors encodes and decodes every header of Appendix C.1.
func TestRFC9605HeaderVectors(t *testing.T) {
	for _, tv := range loadVectors(t).Header {
		h := Header{KID: tv.KID, CTR: tv.CTR}
		if got := h.Append(nil); !bytes.Equal(got, tv.Encoded) {
			t.Errorf("encode kid=%d ctr=%d = %x, want %x", tv.KID, tv.CTR, got, tv.Encoded)
		}
		if h.Len() != len(tv.Encoded) {
			t.Errorf("Len kid=%d ctr=%d = %d, want %d", tv.KID, tv.CTR, h.Len(), len(tv.Encoded))
		}
		got, n, err := ParseHeader(append(append([]byte(nil), tv.Encoded...), 0xaa, 0xbb))
		if err != nil || got != h || n != len(tv.Encoded) {
			t.Errorf("parse %x = %+v, %d, %v; want %+v, %d", tv.Encoded, got, n, err, h, len(tv.Encoded))
		}
		if len(tv.Encoded) > 1 {
			if _, _, err := ParseHeader(tv.Encoded[:len(tv.Encoded)-1]); !errors.Is(err, ErrMalformedHeader) {
				t.Errorf("parse of truncated %x: err %v, want ErrMalformedHeader", tv.Encoded, err)
			}
		}
	}
}

// TestRFC9605AESCTRHMACVectors runs the synthetic AEAD of §4.5.1 on
// Appendix C.2.
func TestRFC9605AESCTRHMACVectors(t *testing.T) {
	for _, tv := range loadVectors(t).AESCTRHMAC {
		t.Run(tv.Suite.String(), func(t *testing.T) {
			p, err := tv.Suite.params()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(tv.Key[:p.ctrHMACNka], tv.EncKey) || !bytes.Equal(tv.Key[p.ctrHMACNka:], tv.AuthKey) {
				t.Fatal("subkey split differs from the vector")
			}
			aead, err := p.newAEAD(tv.Key)
			if err != nil {
				t.Fatal(err)
			}
			if got := aead.Seal(nil, tv.Nonce, tv.PT, tv.AAD); !bytes.Equal(got, tv.CT) {
				t.Errorf("Seal = %x, want %x", got, tv.CT)
			}
			pt, err := aead.Open(nil, tv.Nonce, tv.CT, tv.AAD)
			if err != nil || !bytes.Equal(pt, tv.PT) {
				t.Errorf("Open = %x, %v; want %x", pt, err, tv.PT)
			}
			bad := append([]byte(nil), tv.CT...)
			bad[0] ^= 1
			if _, err := aead.Open(nil, tv.Nonce, bad, tv.AAD); !errors.Is(err, ErrAuth) {
				t.Errorf("Open of a changed ciphertext: %v, want ErrAuth", err)
			}
		})
	}
}

// TestRFC9605SFrameVectors derives keys and encrypts/decrypts whole frames
// for all five suites of Appendix C.3.
func TestRFC9605SFrameVectors(t *testing.T) {
	for _, tv := range loadVectors(t).SFrame {
		t.Run(tv.Suite.String(), func(t *testing.T) {
			if got := label("SFrame 1.0 Secret key ", tv.Suite, tv.KID); got != string(tv.KeyLabel) {
				t.Errorf("key label %x, want %x", got, tv.KeyLabel)
			}
			if got := label("SFrame 1.0 Secret salt ", tv.Suite, tv.KID); got != string(tv.SaltLabel) {
				t.Errorf("salt label %x, want %x", got, tv.SaltLabel)
			}
			key, salt, err := deriveKeySalt(tv.Suite, tv.KID, tv.BaseKey)
			if err != nil || !bytes.Equal(key, tv.SFrameKey) || !bytes.Equal(salt, tv.SFrameSalt) {
				t.Fatalf("derive = %x %x %v, want %x %x", key, salt, err, tv.SFrameKey, tv.SFrameSalt)
			}
			s, err := NewSender(tv.Suite, tv.KID, e2ee.NewSecret(tv.BaseKey))
			if err != nil {
				t.Fatal(err)
			}
			if n := s.key.nonce(tv.CTR); !bytes.Equal(n[:], tv.Nonce) {
				t.Errorf("nonce %x, want %x", n, tv.Nonce)
			}
			s.ctr = tv.CTR
			ct, err := s.Encrypt(nil, tv.PT, tv.Metadata)
			if err != nil || !bytes.Equal(ct, tv.CT) {
				t.Errorf("Encrypt = %x, %v; want %x", ct, err, tv.CT)
			}
			r, err := NewReceiver(tv.Suite, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := r.SetKey(tv.KID, e2ee.NewSecret(tv.BaseKey)); err != nil {
				t.Fatal(err)
			}
			pt, h, err := r.Decrypt(nil, tv.CT, tv.Metadata)
			if err != nil || !bytes.Equal(pt, tv.PT) || h != (Header{KID: tv.KID, CTR: tv.CTR}) {
				t.Errorf("Decrypt = %x %+v %v; want %x", pt, h, err, tv.PT)
			}
			if _, _, err := r.Decrypt(nil, tv.CT, tv.Metadata); !errors.Is(err, ErrReplay) {
				t.Errorf("second Decrypt of the same frame: %v, want ErrReplay", err)
			}
			// The metadata is authenticated: other metadata fails.
			r2, _ := NewReceiver(tv.Suite, nil)
			_ = r2.SetKey(tv.KID, e2ee.NewSecret(tv.BaseKey))
			if _, _, err := r2.Decrypt(nil, tv.CT, []byte("other")); !errors.Is(err, ErrAuth) {
				t.Errorf("Decrypt with other metadata: %v, want ErrAuth", err)
			}
		})
	}
}

// TestDecryptRefuses covers every way a receiver turns a frame down.
func TestDecryptRefuses(t *testing.T) {
	for _, suite := range []CipherSuite{AES128CTRHMACSHA256_80, AES128CTRHMACSHA256_32, AES128GCMSHA256_128, AES256GCMSHA512_128} {
		t.Run(suite.String(), func(t *testing.T) {
			key := e2ee.NewSecret([]byte("0123456789abcdef"))
			s, err := NewSender(suite, 300, key)
			if err != nil {
				t.Fatal(err)
			}
			r, _ := NewReceiver(suite, &ReceiverOptions{ReplayWindow: 4})
			frames := make([][]byte, 8)
			for i := range frames {
				if frames[i], err = s.Encrypt(nil, []byte("frame payload"), nil); err != nil {
					t.Fatal(err)
				}
			}
			if _, _, err := r.Decrypt(nil, frames[0], nil); !errors.Is(err, ErrUnknownKey) {
				t.Fatalf("no key: %v, want ErrUnknownKey", err)
			}
			if err := r.SetKey(300, e2ee.NewSecret([]byte("another key....."))); err != nil {
				t.Fatal(err)
			}
			if _, _, err := r.Decrypt(nil, frames[0], nil); !errors.Is(err, ErrAuth) {
				t.Fatalf("wrong key: %v, want ErrAuth", err)
			}
			_ = r.SetKey(300, key)
			// Every single-bit change anywhere, header included, is refused.
			for i := range len(frames[1]) * 8 {
				bad := append([]byte(nil), frames[1]...)
				bad[i/8] ^= 1 << (i % 8)
				if pt, _, err := r.Decrypt(nil, bad, nil); err == nil {
					t.Fatalf("bit %d flipped: accepted as %q", i, pt)
				}
			}
			for _, i := range []int{5, 3, 6} { // out of order within the window
				if _, _, err := r.Decrypt(nil, frames[i], nil); err != nil {
					t.Fatalf("frame %d: %v", i, err)
				}
			}
			if _, _, err := r.Decrypt(nil, frames[3], nil); !errors.Is(err, ErrReplay) {
				t.Errorf("replayed frame: %v, want ErrReplay", err)
			}
			if _, _, err := r.Decrypt(nil, frames[2], nil); !errors.Is(err, ErrReplay) {
				t.Errorf("frame older than the window: %v, want ErrReplay", err)
			}
			if _, _, err := r.Decrypt(nil, frames[4], nil); err != nil {
				t.Errorf("late frame inside the window: %v", err)
			}
			r.RemoveKey(300)
			if _, _, err := r.Decrypt(nil, frames[7], nil); !errors.Is(err, ErrUnknownKey) {
				t.Errorf("removed key: %v, want ErrUnknownKey", err)
			}
		})
	}
}

// TestSenderCounterExhausted checks a sender never reuses a counter.
func TestSenderCounterExhausted(t *testing.T) {
	s, err := NewSender(AES128GCMSHA256_128, 1, e2ee.NewSecret([]byte("k")))
	if err != nil {
		t.Fatal(err)
	}
	s.ctr = 1<<64 - 2
	for range 2 {
		if _, err := s.Encrypt(nil, []byte("x"), nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Encrypt(nil, []byte("x"), nil); !errors.Is(err, ErrCounterExhausted) {
		t.Fatalf("after the last counter: %v, want ErrCounterExhausted", err)
	}
}

// TestUnknownSuite checks suites outside RFC 9605 are refused.
func TestUnknownSuite(t *testing.T) {
	for _, s := range []CipherSuite{0, 6, 0xffff} {
		if _, err := NewReceiver(s, nil); !errors.Is(err, ErrUnknownSuite) {
			t.Errorf("suite %v: %v, want ErrUnknownSuite", s, err)
		}
		if _, err := NewSender(s, 0, e2ee.NewSecret([]byte("k"))); !errors.Is(err, ErrUnknownSuite) {
			t.Errorf("suite %v: %v, want ErrUnknownSuite", s, err)
		}
	}
	if _, err := NewSender(AES128GCMSHA256_128, 0, e2ee.Secret{}); err == nil {
		t.Error("an empty base key was accepted")
	}
}

// TestParseHeaderNonMinimal checks the one-encoding rule of §4.3.
func TestParseHeaderNonMinimal(t *testing.T) {
	for _, b := range [][]byte{
		{0x80, 0x05},       // KID 5 in one byte
		{0x08, 0x07},       // CTR 7 in one byte
		{0x09, 0x00, 0x10}, // CTR 16 in two bytes
	} {
		if _, _, err := ParseHeader(b); !errors.Is(err, ErrMalformedHeader) {
			t.Errorf("ParseHeader(%x): %v, want ErrMalformedHeader", b, err)
		}
	}
}
