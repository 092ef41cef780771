package lkframe

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/roomd/roomd/media/e2ee"
)

// TestRoundTrip encrypts and decrypts every sample frame and checks what
// stays clear: the bytes the SDK leaves for the SFU and the decoder.
func TestRoundTrip(t *testing.T) {
	t.Parallel() // each PBKDF2 derivation is a second under -race
	r := ring(t, 0, "pass")
	enc, dec := NewEncryptor(r), NewDecryptor(r, nil)
	wantClear := []int{10, 3, 25, 6, 1} // VP8 key, VP8 delta, H.264 IDR (after normalising), H.264 P slice, Opus
	for i, f := range sampleFrames() {
		ct, err := enc.Encrypt(nil, f)
		if err != nil {
			t.Fatal(err)
		}
		clear, _ := layout(Frame{Codec: f.Codec, KeyFrame: f.KeyFrame, Data: ct})
		if clear != wantClear[i] {
			t.Errorf("%v key=%v: %d clear bytes, want %d", f.Codec, f.KeyFrame, clear, wantClear[i])
		}
		if ct[len(ct)-2] != ivLen || ct[len(ct)-1] != 0 {
			t.Errorf("%v: trailer %x, want 0c00", f.Codec, ct[len(ct)-2:])
		}
		got, err := dec.Decrypt(nil, Frame{Codec: f.Codec, KeyFrame: f.KeyFrame, Data: ct})
		if err != nil {
			t.Fatalf("%v: %v", f.Codec, err)
		}
		if f.Codec != H264 && !bytes.Equal(got.Data, f.Data) {
			t.Errorf("%v: round trip changed the frame", f.Codec)
		}
	}
	if _, err := enc.Encrypt(nil, Frame{Codec: VP8, KeyFrame: true, Data: []byte{0x50, 0x42, 0, 0x9d, 1}}); err == nil {
		t.Error("a VP8 key frame shorter than its 10 clear bytes was encrypted")
	}
	if out, err := enc.Encrypt(nil, Frame{Codec: Opus}); err != nil || len(out) != 0 {
		t.Errorf("empty (DTX) frame: %x, %v; want it passed on empty", out, err)
	}
}

// TestRotationAndWrongKey rotates key indexes and refuses frames for
// missing keys, other passphrases and any flipped bit.
func TestRotationAndWrongKey(t *testing.T) {
	t.Parallel() // each PBKDF2 derivation is a second under -race
	sender := ring(t, 0, "first")
	receiver := ring(t, 0, "first")
	enc, dec := NewEncryptor(sender), NewDecryptor(receiver, nil)
	f := sampleFrames()[1]
	old, _ := enc.Encrypt(nil, f)

	if err := sender.SetPassphrase(17, e2ee.Passphrase("second"), true); err != nil { // wraps to 1
		t.Fatal(err)
	}
	if sender.Current() != 1 {
		t.Fatalf("current index %d, want 17 mod 16 = 1", sender.Current())
	}
	rotated, _ := enc.Encrypt(nil, f)
	if _, err := dec.Decrypt(nil, Frame{Codec: VP8, Data: rotated}); !errors.Is(err, ErrMissingKey) {
		t.Fatalf("frame at index 1 before the receiver has it: %v, want ErrMissingKey", err)
	}
	_ = receiver.SetPassphrase(1, e2ee.Passphrase("second"), false)
	for _, ct := range [][]byte{old, rotated} {
		if _, err := dec.Decrypt(nil, Frame{Codec: VP8, Data: ct}); err != nil {
			t.Errorf("index %d: %v", ct[len(ct)-1], err)
		}
	}
	_ = receiver.SetPassphrase(1, e2ee.Passphrase("not second"), false)
	if _, err := dec.Decrypt(nil, Frame{Codec: VP8, Data: rotated}); !errors.Is(err, ErrDecrypt) {
		t.Errorf("wrong passphrase: %v, want ErrDecrypt", err)
	}
	_ = receiver.SetPassphrase(1, e2ee.Passphrase("second"), false)
	for i := range (len(rotated) - 1) * 8 { // the key index byte picks another key
		bad := append([]byte(nil), rotated...)
		bad[i/8] ^= 1 << (i % 8)
		if got, err := dec.Decrypt(nil, Frame{Codec: VP8, Data: bad}); err == nil {
			t.Fatalf("bit %d flipped: accepted as %x", i, got.Data)
		}
	}
}

// TestPassphraseKDF checks the ring's key is PBKDF2-SHA-256 with the SDK's
// salt and iterations, computed here independently.
func TestPassphraseKDF(t *testing.T) {
	t.Parallel() // each PBKDF2 derivation is a second under -race
	key, err := pbkdf2.Key(sha256.New, "pass", []byte("LKFrameEncryptionKey"), 100000, 16)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := aes.NewCipher(key)
	ref, _ := cipher.NewGCM(block)
	r := ring(t, 0, "pass")
	aead, _, _ := r.encryptKey()
	iv := make([]byte, 12)
	if ct := aead.Seal(nil, iv, []byte("x"), nil); !bytes.Equal(ct, ref.Seal(nil, iv, []byte("x"), nil)) {
		t.Fatal("the ring's key is not PBKDF2-SHA-256(passphrase, LKFrameEncryptionKey, 100000)")
	}
	// And the ring must not show the key or the passphrase when printed.
	var logs strings.Builder
	slog.New(slog.NewTextHandler(&logs, nil)).Info("ring", "ring", r, "slots", r.slots)
	printed := fmt.Sprintf("%v %+v %#v %s", r, r, r, logs.String())
	if strings.Contains(printed, "pass\"") || strings.Contains(printed, hex.EncodeToString(key)) || strings.Contains(printed, fmt.Sprint(key)) {
		t.Errorf("printing a key ring shows its secrets: %s", printed)
	}
}

// TestServerInjectedFrames lets the LiveKit server's filler frames through
// when they carry the session's trailer, and nothing else.
func TestServerInjectedFrames(t *testing.T) {
	t.Parallel()      // each PBKDF2 derivation is a second under -race
	sums := []string{ // sifPayload.ts CryptoHashes: proves the fillers were copied right
		"ef0161653d8b2b23aad46624b420af1d03ce48950e9fc85718028f91b50f9219",
		"f0a0e09647d891d6d50aa898bce7108090375d0d55e50a2bb21147afee558e44",
		"61d9665eed71b6d424ae9539330a3bdd5cb386d4d781c808219a6e36750493a7",
		"faffc26b68a2fc09096fa20f3351e706398b6f838a7500c8063472c2e476e90d",
		"aad8d31fc56b2802ca500e58c2fb9d0b29ad71bb7cb52cd6530251eade188988",
	}
	for i, f := range serverFillers {
		if sum := sha256.Sum256(f); hex.EncodeToString(sum[:]) != sums[i] {
			t.Errorf("filler %d differs from the SDK's", i)
		}
	}
	trailer := []byte("LKROCKS1")
	dec := NewDecryptor(ring(t, 0, "p"), &DecryptorOptions{SIFTrailer: trailer})
	got, err := dec.Decrypt(nil, Frame{Codec: VP8, KeyFrame: true, Data: append(append([]byte(nil), serverFillers[0]...), trailer...)})
	if err != nil || !got.ServerInjected || !bytes.Equal(got.Data, serverFillers[0]) {
		t.Errorf("filler frame: %+v, %v", got, err)
	}
	if _, err := dec.Decrypt(nil, Frame{Codec: VP8, Data: append([]byte("anything else"), trailer...)}); !errors.Is(err, ErrMalformed) {
		t.Errorf("unknown payload with the trailer: %v, want ErrMalformed", err)
	}
}

// TestNALU covers the H.264 helpers on hand-made access units.
func TestNALU(t *testing.T) {
	for _, c := range []struct {
		name  string
		au    []byte
		clear int
		err   bool
	}{
		{"sps pps idr, 4-byte codes", []byte{0, 0, 0, 1, 0x67, 1, 2, 0, 0, 0, 1, 0x68, 3, 0, 0, 0, 1, 0x65, 0x88, 0x84, 9}, 19, false},
		{"3-byte code before the slice", []byte{0, 0, 0, 1, 0x09, 0xf0, 0, 0, 1, 0x41, 0x9a, 7, 7}, 11, false},
		{"no slice", []byte{0, 0, 0, 1, 0x67, 1, 2, 3, 0, 0, 0, 1, 0x68, 3, 4}, 0, true},
		{"leading data", []byte{7, 0, 0, 0, 1, 0x65, 1, 2}, 0, true},
	} {
		n, err := naluClearBytes(c.au)
		if n != c.clear || (err != nil) != c.err {
			t.Errorf("%s: %d, %v; want %d, error %v", c.name, n, err, c.clear, c.err)
		}
	}
	if got := normaliseStartCodes([]byte{0, 0, 1, 9, 0, 0, 0, 1, 5, 0, 0, 1, 6}); !bytes.Equal(got, []byte{0, 0, 0, 1, 9, 0, 0, 0, 1, 5, 0, 0, 0, 1, 6}) {
		t.Errorf("normaliseStartCodes = %x", got)
	}
	raw := []byte{0, 0, 0, 0, 0, 1, 0, 0, 2, 0, 0, 3, 0, 0, 4, 9}
	esc := escape(nil, raw)
	if want := []byte{0, 0, 3, 0, 0, 3, 0, 1, 0, 0, 3, 2, 0, 0, 3, 3, 0, 0, 4, 9}; !bytes.Equal(esc, want) {
		t.Errorf("escape = %x, want %x", esc, want)
	}
	if !needsUnescape(esc) || !bytes.Equal(unescape(esc), raw) {
		t.Errorf("unescape(%x) = %x, want %x", esc, unescape(esc), raw)
	}
}

// TestKeyRingOptions refuses rings the SDK would refuse.
func TestKeyRingOptions(t *testing.T) {
	for _, o := range []Options{{Size: 257}, {Size: -1}, {KeyBits: 192}} {
		if _, err := NewKeyRing(&o); err == nil {
			t.Errorf("NewKeyRing(%+v) accepted", o)
		}
	}
	r := ring(t)
	if err := r.SetPassphrase(0, e2ee.Secret{}, true); err == nil {
		t.Error("empty passphrase accepted")
	}
	if _, err := NewEncryptor(r).Encrypt(nil, sampleFrames()[0]); !errors.Is(err, ErrMissingKey) {
		t.Errorf("encrypt without a key: %v, want ErrMissingKey", err)
	}
	if err := r.Ratchet(2); !errors.Is(err, ErrMissingKey) {
		t.Errorf("ratchet of an empty index: %v, want ErrMissingKey", err)
	}
	raw, _ := NewKeyRing(&Options{KeyBits: 256})
	if err := raw.SetRawKey(0, e2ee.NewSecret(bytes.Repeat([]byte{7}, 32)), true); err != nil {
		t.Fatal(err)
	}
	ct, err := NewEncryptor(raw).Encrypt(nil, sampleFrames()[4])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewDecryptor(raw, nil).Decrypt(nil, Frame{Codec: Opus, Data: ct}); err != nil {
		t.Errorf("HKDF key, 256 bits: %v", err)
	}
}

// TestIV checks the IV the SDK's makeIV would write: SSRC, timestamp, and
// timestamp minus the SSRC's frame count, the count going up per frame.
func TestIV(t *testing.T) {
	t.Parallel() // each PBKDF2 derivation is a second under -race
	enc := NewEncryptor(ring(t, 0, "p"))
	enc.counts[0xa1b2c3d4] = 5
	for i, ts := range []uint32{3, 90000} {
		ct, err := enc.Encrypt(nil, Frame{Codec: Opus, SSRC: 0xa1b2c3d4, Timestamp: ts, Data: []byte{0x78, 9}})
		if err != nil {
			t.Fatal(err)
		}
		iv := ct[len(ct)-trailerLen-ivLen : len(ct)-trailerLen]
		want := fmt.Sprintf("a1b2c3d4%08x%08x", ts, ts-uint32(5+i))
		if hex.EncodeToString(iv) != want {
			t.Errorf("frame %d: IV %x, want %s", i, iv, want)
		}
	}
}
