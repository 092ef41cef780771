// Package lkframe is the frame format of LiveKit's end-to-end encryption,
// written for roomd from a reading of livekit-client 2.23.0 (the JavaScript
// SDK from npm: src/e2ee/worker/FrameCryptor.ts, ParticipantKeyHandler.ts,
// naluUtils.ts, sifPayload.ts, src/e2ee/utils.ts and constants.ts), so a
// room and browser participants that share a passphrase read each other's
// media and the SFU reads none of it.
//
// # Format
//
// An encrypted frame is
//
//	clear header | AES-GCM ciphertext and tag | IV (12) | 12 | key index
//
// The clear header is the part of the encoded frame the SDK leaves readable
// (the Opus TOC byte; 10 bytes of a VP8 key frame, 3 of a delta frame; an
// H.264 access unit up to the first two bytes of its first slice) and is
// the AEAD's additional data. The IV is SSRC | RTP timestamp | timestamp
// minus a per-SSRC frame count. For H.264 everything after the clear header
// gets emulation-prevention bytes so no start code appears in it.
//
// Keys come from a [KeyRing]: PBKDF2-SHA-256 of the passphrase, salt
// "LKFrameEncryptionKey", 100 000 iterations, 128-bit AES-GCM; up to 16 key
// indexes, rotated by index. docs/e2ee.md has the details and the SDK's file
// names.
package lkframe

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
)

// Codec is the encoding of the frames of a track.
type Codec int

// The codecs roomd sends and receives.
const (
	Opus Codec = iota
	VP8
	H264
)

func (c Codec) String() string {
	switch c {
	case Opus:
		return "opus"
	case VP8:
		return "vp8"
	case H264:
		return "h264"
	}
	return fmt.Sprintf("Codec(%d)", int(c))
}

// Frame is one encoded frame with what the SDK reads beside its bytes.
type Frame struct {
	Codec Codec
	// KeyFrame is the frame type a browser's encoder or depacketiser
	// reports (for VP8 the inverse of the frame tag's P bit). It decides the
	// clear bytes of VP8 frames, and of H.264 frames without a slice.
	KeyFrame  bool
	SSRC      uint32
	Timestamp uint32 // RTP timestamp
	Data      []byte
}

const (
	ivLen      = 12
	trailerLen = 2 // IV length, key index
)

// Clear bytes per frame kind (the SDK's UNENCRYPTED_BYTES).
const (
	clearKeyFrame   = 10 // VP8 frame tag, start code, width and height
	clearDeltaFrame = 3  // VP8 frame tag
	clearAudio      = 1  // Opus TOC byte
)

// Errors of [Decryptor.Decrypt].
var (
	// ErrDecrypt: the frame did not authenticate with the key its index
	// names: another passphrase, or a changed frame.
	ErrDecrypt = errors.New("lkframe: frame does not decrypt with this key (wrong passphrase or changed in transit)")
	// ErrMalformed: the frame is too short or its trailer is not the SDK's.
	ErrMalformed = errors.New("lkframe: not an encrypted frame")
)

// layout is how much of a frame stays clear, and whether the H.264
// escaping applies.
func layout(f Frame) (clear int, nalu bool) {
	switch f.Codec {
	case Opus:
		return clearAudio, false
	case H264:
		if n, err := naluClearBytes(f.Data); err == nil {
			return n, true
		}
	}
	// VP8, and H.264 the SDK could not parse: the VP8 rule.
	if f.KeyFrame {
		return clearKeyFrame, false
	}
	return clearDeltaFrame, false
}

// Encryptor encrypts the frames a participant sends with its ring's current
// key. It is safe for concurrent use.
type Encryptor struct {
	ring *KeyRing

	mu     sync.Mutex
	counts map[uint32]uint32 // frames sent per SSRC, from a random start
}

// NewEncryptor encrypts with ring.
func NewEncryptor(ring *KeyRing) *Encryptor {
	return &Encryptor{ring: ring, counts: make(map[uint32]uint32)}
}

// iv is SSRC | timestamp | timestamp minus the SSRC's frame count (mod
// 0xffff), the SDK's makeIV.
func (e *Encryptor) iv(ssrc, ts uint32) ([ivLen]byte, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	n, ok := e.counts[ssrc]
	if !ok {
		var r [2]byte
		if _, err := rand.Read(r[:]); err != nil {
			return [ivLen]byte{}, err
		}
		n = uint32(binary.BigEndian.Uint16(r[:])) % 0xffff
	}
	e.counts[ssrc] = n + 1
	var iv [ivLen]byte
	binary.BigEndian.PutUint32(iv[0:], ssrc)
	binary.BigEndian.PutUint32(iv[4:], ts)
	binary.BigEndian.PutUint32(iv[8:], ts-n%0xffff)
	return iv, nil
}

// Encrypt appends the encrypted form of f to dst, which must not overlap
// f.Data. An empty frame (Opus DTX) stays empty, as in the SDK.
func (e *Encryptor) Encrypt(dst []byte, f Frame) ([]byte, error) {
	if len(f.Data) == 0 {
		return dst, nil
	}
	aead, index, err := e.ring.encryptKey()
	if err != nil {
		return nil, err
	}
	iv, err := e.iv(f.SSRC, f.Timestamp)
	if err != nil {
		return nil, fmt.Errorf("lkframe: random frame count: %w", err)
	}
	clear, nalu := layout(f)
	if clear > len(f.Data) {
		// The receiver would count clear bytes that are not there.
		return nil, fmt.Errorf("lkframe: a %d-byte %v frame is shorter than its %d clear bytes; pass whole encoded frames", len(f.Data), f.Codec, clear)
	}
	header := f.Data[:clear]
	if nalu {
		header = normaliseStartCodes(header)
	}
	dst = append(dst, header...)
	seal := func(b []byte) []byte {
		b = aead.Seal(b, iv[:], f.Data[clear:], header)
		b = append(b, iv[:]...)
		return append(b, ivLen, byte(index))
	}
	if nalu {
		return escape(dst, seal(make([]byte, 0, len(f.Data)-clear+aead.Overhead()+ivLen+trailerLen))), nil
	}
	return seal(dst), nil
}

// DecryptorOptions tune a [Decryptor]; nil means none.
type DecryptorOptions struct {
	// SIFTrailer is the trailer the LiveKit server appends to frames it
	// injects itself (its join response carries it). Such frames are not
	// encrypted; one of the server's known filler payloads passes through,
	// anything else is refused.
	SIFTrailer []byte
}

// Decryptor decrypts the frames of a remote participant with a ring. It is
// safe for concurrent use.
type Decryptor struct {
	ring       *KeyRing
	sifTrailer []byte
}

// NewDecryptor decrypts with ring.
func NewDecryptor(ring *KeyRing, opts *DecryptorOptions) *Decryptor {
	d := &Decryptor{ring: ring}
	if opts != nil {
		d.sifTrailer = append([]byte(nil), opts.SIFTrailer...)
	}
	return d
}

// Decrypted is a decrypted frame.
type Decrypted struct {
	Data     []byte
	KeyIndex int
	// ServerInjected: a filler frame the LiveKit server made, never
	// encrypted; it says nothing about the sender's key.
	ServerInjected bool
}

// Decrypt appends the plain form of f to dst, which must not overlap
// f.Data. Errors wrap [ErrMissingKey],
// [ErrDecrypt] or [ErrMalformed]; nothing of a failed frame is returned.
func (d *Decryptor) Decrypt(dst []byte, f Frame) (Decrypted, error) {
	data := f.Data
	if len(data) == 0 {
		return Decrypted{Data: dst}, nil
	}
	if len(d.sifTrailer) > 0 && bytes.HasSuffix(data, d.sifTrailer) {
		payload := data[:len(data)-len(d.sifTrailer)]
		if !isServerFiller(payload) {
			return Decrypted{}, fmt.Errorf("%w: server-injected frame with an unknown payload", ErrMalformed)
		}
		return Decrypted{Data: append(dst, payload...), ServerInjected: true}, nil
	}
	index := int(data[len(data)-1])
	aead, err := d.ring.decryptKey(index)
	if err != nil {
		return Decrypted{KeyIndex: index}, err
	}
	clear, nalu := layout(f)
	if clear > len(data) {
		return Decrypted{KeyIndex: index}, fmt.Errorf("%w: %d bytes", ErrMalformed, len(data))
	}
	header, body := data[:clear], data[clear:]
	if nalu && needsUnescape(body) {
		body = unescape(body)
	}
	if len(body) < trailerLen || body[len(body)-2] != ivLen || len(body) < trailerLen+ivLen+aead.Overhead() {
		return Decrypted{KeyIndex: index}, fmt.Errorf("%w: trailer", ErrMalformed)
	}
	iv := body[len(body)-trailerLen-ivLen : len(body)-trailerLen]
	ct := body[:len(body)-trailerLen-ivLen]
	out := append(dst, header...)
	out, err = aead.Open(out, iv, ct, header)
	if err != nil {
		return Decrypted{KeyIndex: index}, fmt.Errorf("%w (key index %d)", ErrDecrypt, index)
	}
	return Decrypted{Data: out, KeyIndex: index}, nil
}
