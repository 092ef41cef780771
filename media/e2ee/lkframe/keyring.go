package lkframe

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/pbkdf2"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"

	"github.com/roomd/roomd/media/e2ee"
)

// The SDK's defaults (livekit-client src/e2ee/constants.ts, KEY_PROVIDER_DEFAULTS).
const (
	// DefaultSalt is the salt of every derivation and ratchet.
	DefaultSalt = "LKFrameEncryptionKey"
	// DefaultKeyRingSize is how many key indexes a ring holds.
	DefaultKeyRingSize = 16
	// PBKDF2Iterations is the SDK's iteration count for passphrases.
	PBKDF2Iterations = 100000
	// hkdfInfoLen is the length of the all-zero HKDF info the SDK passes.
	hkdfInfoLen = 128
)

// ErrMissingKey is returned when a frame names a key index the ring has no
// key for, or when the current index has no key to encrypt with.
var ErrMissingKey = errors.New("lkframe: no key at this key index; set the meeting's passphrase")

// Options tune a [KeyRing]; nil means the SDK's defaults. Both ends must
// agree on them.
type Options struct {
	Salt    string // "" means DefaultSalt
	Size    int    // key indexes, 1-256; 0 means DefaultKeyRingSize
	KeyBits int    // AES key size, 128 or 256; 0 means 128
}

// kdf is how a key's material becomes an AES key: PBKDF2 for a passphrase,
// HKDF for random bytes (the SDK's two kinds of key material).
type kdf int

const (
	kdfPBKDF2 kdf = iota
	kdfHKDF
)

// slot is one key index: the material it came from (kept for ratcheting)
// and the AEAD derived from it.
type slot struct {
	kdf      kdf
	material e2ee.Secret
	aead     cipher.AEAD
}

// KeyRing holds the keys of a participant, or the one shared key set of a
// meeting with a shared passphrase, by key index, as the SDK's
// ParticipantKeyHandler does. Frames are encrypted with the current index and
// decrypted with the index their trailer names. It is safe for concurrent use.
type KeyRing struct {
	salt    []byte
	keyLen  int
	mu      sync.RWMutex
	slots   []*slot
	current int
}

// NewKeyRing makes an empty ring.
func NewKeyRing(opts *Options) (*KeyRing, error) {
	o := Options{Salt: DefaultSalt, Size: DefaultKeyRingSize, KeyBits: 128}
	if opts != nil {
		if opts.Salt != "" {
			o.Salt = opts.Salt
		}
		if opts.Size != 0 {
			o.Size = opts.Size
		}
		if opts.KeyBits != 0 {
			o.KeyBits = opts.KeyBits
		}
	}
	if o.Size < 1 || o.Size > 256 {
		return nil, fmt.Errorf("lkframe: key ring size %d: use 1 to 256", o.Size)
	}
	if o.KeyBits != 128 && o.KeyBits != 256 {
		return nil, fmt.Errorf("lkframe: %d-bit keys: use 128 or 256", o.KeyBits)
	}
	return &KeyRing{salt: []byte(o.Salt), keyLen: o.KeyBits / 8, slots: make([]*slot, o.Size)}, nil
}

// SetPassphrase derives the key at index from a shared passphrase (PBKDF2
// with SHA-256, the salt, 100 000 iterations), as the SDK's
// ExternalE2EEKeyProvider.setKey does with a string. With makeCurrent the
// ring encrypts with it from now on. Indexes wrap at the ring size, as in
// the SDK.
func (r *KeyRing) SetPassphrase(index int, passphrase e2ee.Secret, makeCurrent bool) error {
	if passphrase.IsZero() {
		return errors.New("lkframe: empty passphrase; the meeting link or calendar must carry one")
	}
	return r.set(index, kdfPBKDF2, passphrase, makeCurrent)
}

// SetRawKey derives the key at index from random key bytes with HKDF
// (SHA-256, the salt, 128 zero bytes of info), as the SDK does when given an
// ArrayBuffer instead of a string.
func (r *KeyRing) SetRawKey(index int, key e2ee.Secret, makeCurrent bool) error {
	if key.IsZero() {
		return errors.New("lkframe: empty key")
	}
	return r.set(index, kdfHKDF, key, makeCurrent)
}

func (r *KeyRing) set(index int, k kdf, material e2ee.Secret, makeCurrent bool) error {
	if index < 0 {
		return fmt.Errorf("lkframe: key index %d is negative", index)
	}
	aead, err := r.derive(k, material.Bytes(), r.keyLen)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	index %= len(r.slots)
	r.slots[index] = &slot{kdf: k, material: material, aead: aead}
	if makeCurrent {
		r.current = index
	}
	return nil
}

// derive turns material into n bytes with the ring's KDF and salt, and an
// AES-GCM AEAD when n is a key length.
func (r *KeyRing) deriveBytes(k kdf, material []byte, n int) ([]byte, error) {
	if k == kdfHKDF {
		return hkdf.Key(sha256.New, material, r.salt, string(make([]byte, hkdfInfoLen)), n)
	}
	return pbkdf2.Key(sha256.New, string(material), r.salt, PBKDF2Iterations, n)
}

func (r *KeyRing) derive(k kdf, material []byte, keyLen int) (cipher.AEAD, error) {
	key, err := r.deriveBytes(k, material, keyLen)
	if err != nil {
		return nil, fmt.Errorf("lkframe: deriving a key: %w", err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// Ratchet replaces the key at index by the next one of its chain: the new
// material is 32 bytes derived from the old with the same KDF and salt, as
// the SDK's ratchetKey does. Every participant must ratchet alike.
func (r *KeyRing) Ratchet(index int) error {
	r.mu.RLock()
	s := r.slots[index%len(r.slots)]
	r.mu.RUnlock()
	if s == nil {
		return fmt.Errorf("%w %d: nothing to ratchet", ErrMissingKey, index)
	}
	next, err := r.deriveBytes(s.kdf, s.material.Bytes(), 32)
	if err != nil {
		return fmt.Errorf("lkframe: ratchet: %w", err)
	}
	// The SDK imports the chain key as material of the same algorithm.
	return r.set(index, s.kdf, e2ee.NewSecret(next), false)
}

// SetCurrent makes index the key index frames are encrypted with.
func (r *KeyRing) SetCurrent(index int) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if index < 0 {
		return fmt.Errorf("lkframe: key index %d is negative", index)
	}
	r.current = index % len(r.slots)
	return nil
}

// Current is the key index frames are encrypted with.
func (r *KeyRing) Current() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.current
}

// current returns the AEAD and index to encrypt with.
func (r *KeyRing) encryptKey() (cipher.AEAD, int, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	s := r.slots[r.current]
	if s == nil {
		return nil, 0, fmt.Errorf("%w %d", ErrMissingKey, r.current)
	}
	return s.aead, r.current, nil
}

// decryptKey returns the AEAD of a key index read from a frame.
func (r *KeyRing) decryptKey(index int) (cipher.AEAD, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if index >= len(r.slots) || r.slots[index] == nil {
		return nil, fmt.Errorf("%w %d", ErrMissingKey, index)
	}
	return r.slots[index].aead, nil
}
