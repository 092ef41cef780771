// Package sframe is SFrame, RFC 9605: end-to-end authenticated encryption
// of whole media frames, so a media server forwarding them (Janus, an SFU)
// reads the SFrame header and nothing else.
//
// # Format
//
// An SFrame ciphertext is a header (the key id KID and the counter CTR in
// the RFC's compact encoding, see [Header]) followed by the AEAD ciphertext
// of the frame, tag included. The AEAD key and salt come from the base key
// of that KID through HKDF with the labels "SFrame 1.0 Secret key " and
// "SFrame 1.0 Secret salt " followed by the KID (eight bytes) and the
// cipher suite (two bytes); the nonce is the salt XOR the counter. The
// header and the application's metadata are the AAD.
//
// # Use
//
// A [Sender] owns one KID and counts frames; it never reuses a counter. A
// [Receiver] holds the keys of every KID it may see and, beyond the RFC's
// minimum, refuses a frame it has already accepted (a replay window per
// KID). Base keys travel as [e2ee.Secret] so they are never printed.
//
// The test vectors of RFC 9605 Appendix C are in testdata/ and pass.
package sframe

import (
	"crypto/cipher"
	"crypto/hkdf"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sync"

	"github.com/roomd/roomd/media/e2ee"
)

// Sentinel errors from [Receiver.Decrypt] and [Sender.Encrypt].
var (
	// ErrAuth: the frame was changed, or was encrypted with another key.
	ErrAuth = errors.New("sframe: frame failed authentication (wrong key or changed in transit)")
	// ErrUnknownKey: no key for the frame's KID yet. RFC 9605 §4.4.4 lets
	// the caller keep the frame and retry once the key arrives.
	ErrUnknownKey = errors.New("sframe: no key for this key id")
	// ErrReplay: a frame with this KID and CTR was accepted already, or is
	// older than the replay window.
	ErrReplay = errors.New("sframe: frame replayed or too old")
	// ErrCounterExhausted: the sender used every counter of its key; give
	// it a new key (a new KID).
	ErrCounterExhausted = errors.New("sframe: counter exhausted; rotate to a new key id")
)

// keyState is the AEAD and salt derived from one KID's base key.
type keyState struct {
	aead cipher.AEAD
	salt [nonceLen]byte
}

// deriveKeySalt is derive_key_salt of RFC 9605 §4.4.2.
func deriveKeySalt(suite CipherSuite, kid uint64, baseKey []byte) (key, salt []byte, err error) {
	p, err := suite.params()
	if err != nil {
		return nil, nil, err
	}
	h, nk := p.hash, p.nk
	secret, err := hkdf.Extract(h, baseKey, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("sframe: hkdf extract: %w", err)
	}
	if key, err = hkdf.Expand(h, secret, label("SFrame 1.0 Secret key ", suite, kid), nk); err != nil {
		return nil, nil, fmt.Errorf("sframe: hkdf expand: %w", err)
	}
	if salt, err = hkdf.Expand(h, secret, label("SFrame 1.0 Secret salt ", suite, kid), nonceLen); err != nil {
		return nil, nil, fmt.Errorf("sframe: hkdf expand: %w", err)
	}
	return key, salt, nil
}

// label is prefix + KID (8 bytes) + cipher suite (2 bytes), big-endian.
func label(prefix string, suite CipherSuite, kid uint64) string {
	b := binary.BigEndian.AppendUint64([]byte(prefix), kid)
	return string(binary.BigEndian.AppendUint16(b, uint16(suite)))
}

func newKeyState(suite CipherSuite, kid uint64, baseKey e2ee.Secret) (*keyState, error) {
	if baseKey.IsZero() {
		return nil, fmt.Errorf("sframe: empty base key for key id %d", kid)
	}
	key, salt, err := deriveKeySalt(suite, kid, baseKey.Bytes())
	if err != nil {
		return nil, err
	}
	p, _ := suite.params()
	aead, err := p.newAEAD(key)
	if err != nil {
		return nil, err
	}
	k := &keyState{aead: aead}
	copy(k.salt[:], salt)
	return k, nil
}

// nonce is the salt XOR the counter, big-endian in Nn bytes.
func (k *keyState) nonce(ctr uint64) [nonceLen]byte {
	n := k.salt
	var c [8]byte
	binary.BigEndian.PutUint64(c[:], ctr)
	for i := range c {
		n[nonceLen-8+i] ^= c[i]
	}
	return n
}

// seal appends header + AEAD(frame) to dst.
func (k *keyState) seal(dst []byte, h Header, plaintext, metadata []byte) []byte {
	start := len(dst)
	dst = h.Append(dst)
	nonce := k.nonce(h.CTR)
	aad := append(dst[start:len(dst):len(dst)], metadata...)
	return k.aead.Seal(dst, nonce[:], plaintext, aad)
}

// Sender encrypts the frames of one sender under one KID. It is safe for
// concurrent use; each frame gets the next counter.
type Sender struct {
	suite CipherSuite
	kid   uint64
	key   *keyState

	mu        sync.Mutex
	ctr       uint64
	exhausted bool
}

// NewSender derives the key for kid from baseKey. The RFC forbids two
// senders sharing a key: give every sender its own KID or base key.
func NewSender(suite CipherSuite, kid uint64, baseKey e2ee.Secret) (*Sender, error) {
	k, err := newKeyState(suite, kid, baseKey)
	if err != nil {
		return nil, err
	}
	return &Sender{suite: suite, kid: kid, key: k}, nil
}

// KID is the key id the sender writes in every header.
func (s *Sender) KID() uint64 { return s.kid }

// Encrypt appends the SFrame ciphertext of plaintext to dst. metadata is
// authenticated, not sent: the receiver must pass the same bytes.
func (s *Sender) Encrypt(dst, plaintext, metadata []byte) ([]byte, error) {
	s.mu.Lock()
	if s.exhausted {
		s.mu.Unlock()
		return nil, ErrCounterExhausted
	}
	ctr := s.ctr
	if ctr == math.MaxUint64 {
		s.exhausted = true
	} else {
		s.ctr++
	}
	s.mu.Unlock()
	return s.key.seal(dst, Header{KID: s.kid, CTR: ctr}, plaintext, metadata), nil
}

// ReceiverOptions tune a [Receiver]; nil means the defaults.
type ReceiverOptions struct {
	// ReplayWindow is how many counters back, per KID, a late frame is still
	// accepted (once). 0 means DefaultReplayWindow; negative turns replay
	// protection off.
	ReplayWindow int
}

// DefaultReplayWindow covers about four seconds of 30 fps video arriving
// out of order.
const DefaultReplayWindow = 128

// Receiver decrypts frames from any sender whose KID it has a key for. It is
// safe for concurrent use.
type Receiver struct {
	suite  CipherSuite
	window int

	mu   sync.Mutex
	keys map[uint64]*receiveKey
}

type receiveKey struct {
	key    *keyState
	replay *replayWindow // nil when off
}

// NewReceiver makes a receiver for suite with no keys.
func NewReceiver(suite CipherSuite, opts *ReceiverOptions) (*Receiver, error) {
	if _, err := suite.params(); err != nil {
		return nil, err
	}
	window := DefaultReplayWindow
	if opts != nil && opts.ReplayWindow != 0 {
		window = opts.ReplayWindow
	}
	return &Receiver{suite: suite, window: window, keys: make(map[uint64]*receiveKey)}, nil
}

// SetKey installs (or replaces) the base key of kid. Replacing resets the
// replay window: the counters belong to the old key.
func (r *Receiver) SetKey(kid uint64, baseKey e2ee.Secret) error {
	k, err := newKeyState(r.suite, kid, baseKey)
	if err != nil {
		return err
	}
	rk := &receiveKey{key: k}
	if r.window > 0 {
		rk.replay = newReplayWindow(uint64(r.window))
	}
	r.mu.Lock()
	r.keys[kid] = rk
	r.mu.Unlock()
	return nil
}

// RemoveKey forgets kid, for a participant who left or an old epoch.
func (r *Receiver) RemoveKey(kid uint64) {
	r.mu.Lock()
	delete(r.keys, kid)
	r.mu.Unlock()
}

// Decrypt checks and decrypts one SFrame ciphertext, appending the frame to
// dst, and returns the header it carried. Errors wrap [ErrMalformedHeader],
// [ErrUnknownKey], [ErrReplay] or [ErrAuth]; nothing of a failed frame is
// returned.
func (r *Receiver) Decrypt(dst, frame, metadata []byte) ([]byte, Header, error) {
	h, n, err := ParseHeader(frame)
	if err != nil {
		return nil, Header{}, err
	}
	r.mu.Lock()
	rk := r.keys[h.KID]
	if rk == nil {
		r.mu.Unlock()
		return nil, h, fmt.Errorf("%w %d", ErrUnknownKey, h.KID)
	}
	if rk.replay != nil && !rk.replay.fresh(h.CTR) {
		r.mu.Unlock()
		return nil, h, fmt.Errorf("%w: key id %d counter %d", ErrReplay, h.KID, h.CTR)
	}
	r.mu.Unlock()

	nonce := rk.key.nonce(h.CTR)
	aad := append(frame[:n:n], metadata...)
	out, err := rk.key.aead.Open(dst, nonce[:], frame[n:], aad)
	if err != nil {
		return nil, h, fmt.Errorf("%w: key id %d counter %d", ErrAuth, h.KID, h.CTR)
	}
	if rk.replay != nil {
		// Only an authenticated frame moves the window; a second copy
		// decrypted concurrently loses here.
		r.mu.Lock()
		ok := rk.replay.accept(h.CTR)
		r.mu.Unlock()
		if !ok {
			return nil, h, fmt.Errorf("%w: key id %d counter %d", ErrReplay, h.KID, h.CTR)
		}
	}
	return out, h, nil
}
