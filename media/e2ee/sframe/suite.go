package sframe

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"sync"
)

// CipherSuite is an entry of the SFrame Cipher Suites registry (RFC 9605 §8.1).
type CipherSuite uint16

// The cipher suites RFC 9605 §4.5 defines, with their registry values.
const (
	AES128CTRHMACSHA256_80 CipherSuite = 0x0001
	AES128CTRHMACSHA256_64 CipherSuite = 0x0002
	AES128CTRHMACSHA256_32 CipherSuite = 0x0003
	AES128GCMSHA256_128    CipherSuite = 0x0004
	AES256GCMSHA512_128    CipherSuite = 0x0005
)

// ErrUnknownSuite is returned for a cipher suite RFC 9605 does not define.
var ErrUnknownSuite = errors.New("sframe: unknown cipher suite")

// nonceLen is Nn, the same for every suite.
const nonceLen = 12

// params are a suite's constants from RFC 9605 Table 2, plus Nka, the AES
// key length inside Nk for the CTR+HMAC suites.
type params struct {
	name       string
	hash       func() hash.Hash
	nk, nt     int
	ctrHMACNka int // 0 for the GCM suites
}

func (s CipherSuite) params() (params, error) {
	switch s {
	case AES128CTRHMACSHA256_80:
		return params{"AES_128_CTR_HMAC_SHA256_80", sha256.New, 48, 10, 16}, nil
	case AES128CTRHMACSHA256_64:
		return params{"AES_128_CTR_HMAC_SHA256_64", sha256.New, 48, 8, 16}, nil
	case AES128CTRHMACSHA256_32:
		return params{"AES_128_CTR_HMAC_SHA256_32", sha256.New, 48, 4, 16}, nil
	case AES128GCMSHA256_128:
		return params{"AES_128_GCM_SHA256_128", sha256.New, 16, 16, 0}, nil
	case AES256GCMSHA512_128:
		return params{"AES_256_GCM_SHA512_128", sha512.New, 32, 16, 0}, nil
	}
	return params{}, fmt.Errorf("%w 0x%04x: use one of 0x0001-0x0005", ErrUnknownSuite, uint16(s))
}

// String is the suite's name in the registry.
func (s CipherSuite) String() string {
	p, err := s.params()
	if err != nil {
		return fmt.Sprintf("CipherSuite(0x%04x)", uint16(s))
	}
	return p.name
}

// Overhead is Nt, the bytes the suite's tag adds to a frame (the header
// comes on top).
func (s CipherSuite) Overhead() int {
	p, _ := s.params()
	return p.nt
}

// newAEAD builds the suite's AEAD over key (Nk bytes).
func (p params) newAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != p.nk {
		return nil, fmt.Errorf("sframe: %s needs a %d-byte key, got %d", p.name, p.nk, len(key))
	}
	if p.ctrHMACNka == 0 {
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, err
		}
		return cipher.NewGCM(block)
	}
	block, err := aes.NewCipher(key[:p.ctrHMACNka])
	if err != nil {
		return nil, err
	}
	authKey := append([]byte(nil), key[p.ctrHMACNka:]...)
	c := &ctrHMAC{block: block, tagLen: p.nt}
	c.macs.New = func() any { return hmac.New(p.hash, authKey) }
	return c, nil
}

// ctrHMAC is the AES-CTR plus truncated HMAC AEAD of RFC 9605 §4.5.1,
// encrypt-then-MAC as in SRTP.
type ctrHMAC struct {
	block  cipher.Block
	tagLen int
	macs   sync.Pool // keyed HMAC states, reset after use: one per frame in flight
}

func (c *ctrHMAC) NonceSize() int { return nonceLen }
func (c *ctrHMAC) Overhead() int  { return c.tagLen }

// counterBlock is the nonce followed by a 32-bit block counter at zero.
func counterBlock(nonce []byte) []byte {
	iv := make([]byte, aes.BlockSize)
	copy(iv, nonce)
	return iv
}

// tag is HMAC over len(aad) || len(ct) || Nt || nonce || aad || ct, each
// length eight bytes big-endian, truncated to Nt.
func (c *ctrHMAC) tag(dst, nonce, aad, ct []byte) []byte {
	m := c.macs.Get().(hash.Hash)
	defer func() {
		m.Reset()
		c.macs.Put(m)
	}()
	var lens [24]byte
	binary.BigEndian.PutUint64(lens[0:], uint64(len(aad)))
	binary.BigEndian.PutUint64(lens[8:], uint64(len(ct)))
	binary.BigEndian.PutUint64(lens[16:], uint64(c.tagLen))
	m.Write(lens[:])
	m.Write(nonce)
	m.Write(aad)
	m.Write(ct)
	return m.Sum(dst)[:len(dst)+c.tagLen]
}

func (c *ctrHMAC) Seal(dst, nonce, plaintext, aad []byte) []byte {
	if len(nonce) != nonceLen {
		panic("sframe: bad nonce length") // as crypto/cipher's AEADs do
	}
	n := len(dst)
	out := append(dst, make([]byte, len(plaintext))...)
	cipher.NewCTR(c.block, counterBlock(nonce)).XORKeyStream(out[n:], plaintext)
	var sum [sha512.Size]byte
	t := c.tag(sum[:0], nonce, aad, out[n:])
	return append(out, t...)
}

func (c *ctrHMAC) Open(dst, nonce, ciphertext, aad []byte) ([]byte, error) {
	if len(nonce) != nonceLen || len(ciphertext) < c.tagLen {
		return nil, ErrAuth
	}
	ct, got := ciphertext[:len(ciphertext)-c.tagLen], ciphertext[len(ciphertext)-c.tagLen:]
	var sum [sha512.Size]byte
	if subtle.ConstantTimeCompare(c.tag(sum[:0], nonce, aad, ct), got) != 1 {
		return nil, ErrAuth
	}
	n := len(dst)
	out := append(dst, make([]byte, len(ct))...)
	cipher.NewCTR(c.block, counterBlock(nonce)).XORKeyStream(out[n:], ct)
	return out, nil
}
