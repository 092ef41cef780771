package call

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/roomd/roomd/media/e2ee"
	"github.com/roomd/roomd/media/e2ee/sframe"
	"github.com/roomd/roomd/meetinglink"
	"github.com/roomd/roomd/room"
)

// End-to-end encryption (SFrame, RFC 9605) between roomd rooms in a Janus
// VideoRoom, asked for by the link (e2ee=sframe; docs/e2ee.md, "SFrame over
// Janus"):
//
//   - Every room in the meeting holds the same base key (the link's key=).
//   - Each sent track (video, audio) is its own SFrame sender with a random
//     64-bit KID, new whenever the track's encoder is made again, so no two
//     senders ever share a key and nonce.
//   - A receiver derives the key of any KID it meets from the same base key,
//     and drops it again if the frame does not authenticate: nothing has to
//     be announced, and junk cannot fill the key store.
//   - The whole encoded frame is encrypted (VP8 and Opus alike): roomd sends
//     neither simulcast nor SVC, so Janus never looks inside a frame. H.264 is
//     refused (its payloader splits frames at start codes, which ciphertext
//     would be full of): an E2EE call sends VP8.
//   - A frame that cannot be encrypted is dropped, never sent in the clear.

// e2eeSuite is the cipher suite of roomd's SFrame calls.
const e2eeSuite = sframe.AES128GCMSHA256_128

// ErrE2EEKey is why an end-to-end encrypted meeting cannot be joined
// without its key.
var ErrE2EEKey = errors.New("call: this meeting is end-to-end encrypted (e2ee=sframe) and its key is missing or unreadable; give key=<base64url, 16 bytes or more> in the link or in the meeting's passcode as key.PIN")

// frameCrypt is one call's end-to-end frame encryption; nil means none.
type frameCrypt struct {
	key e2ee.Secret
}

// e2eeOf reads the frame key of meeting m, whose link asks for scheme, and
// returns the PIN the meeting server wants. A link without e2ee= gives no
// frameCrypt and the passcode as the PIN.
func e2eeOf(scheme string, m room.Meeting) (*frameCrypt, string, error) {
	if scheme == "" {
		return nil, m.Passcode, nil
	}
	key, pin, ok := meetinglink.SplitJanusE2EESecret(m.Passcode)
	if !ok {
		return nil, "", fmt.Errorf("%w: %w", ErrUnsupportedLink, ErrE2EEKey)
	}
	return &frameCrypt{key: e2ee.NewSecret(key)}, pin, nil
}

// e2eeCodecs keeps the video codecs an end-to-end encrypted call can send.
func e2eeCodecs(codecs []string) []string {
	return slices.DeleteFunc(slices.Clone(codecs), func(c string) bool { return !strings.EqualFold(c, "video/VP8") })
}

// describe is the call's encryption for status (Call Encryption).
func (c *frameCrypt) describe() string {
	return "end-to-end (SFrame " + e2eeSuite.String() + ")"
}

// sealer encrypts one sent track's frames; a nil sealer passes them through.
type sealer struct {
	s *sframe.Sender
}

// newSealer makes the sender of one track under a fresh random KID.
func (c *frameCrypt) newSealer() (*sealer, error) {
	if c == nil {
		return nil, nil
	}
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("call: no random key id for end-to-end encryption: %w", err)
	}
	s, err := sframe.NewSender(e2eeSuite, binary.BigEndian.Uint64(b[:]), c.key)
	if err != nil {
		return nil, fmt.Errorf("call: end-to-end encryption: %w", err)
	}
	return &sealer{s: s}, nil
}

// seal returns frame encrypted, or frame itself without end-to-end
// encryption. On error the frame must be dropped.
func (s *sealer) seal(frame []byte) ([]byte, error) {
	if s == nil {
		return frame, nil
	}
	return s.s.Encrypt(make([]byte, 0, len(frame)+sframe.MaxHeaderLen+e2eeSuite.Overhead()), frame, nil)
}

// opener decrypts one received track's frames and counts the outcome
// for its participant; a nil opener passes them through.
type opener struct {
	e   *Engine
	id  string
	key e2ee.Secret
	r   *sframe.Receiver
}

// newOpener makes the receiver of one of participant id's tracks.
func (c *frameCrypt) newOpener(e *Engine, id string) (*opener, error) {
	if c == nil {
		return nil, nil
	}
	r, err := sframe.NewReceiver(e2eeSuite, nil)
	if err != nil {
		return nil, fmt.Errorf("call: end-to-end encryption: %w", err)
	}
	return &opener{e: e, id: id, key: c.key, r: r}, nil
}

// open returns the frame decrypted, or ok false (the frame is dropped and
// counted as a failure).
func (o *opener) open(frame []byte) ([]byte, bool) {
	if o == nil {
		return frame, true
	}
	if len(frame) == 0 {
		return nil, false // padding, not a frame: nothing to count
	}
	out, err := o.decrypt(frame)
	o.e.countDecrypt(o.id, err == nil)
	return out, err == nil
}

func (o *opener) decrypt(frame []byte) ([]byte, error) {
	out, _, err := o.r.Decrypt(nil, frame, nil)
	if !errors.Is(err, sframe.ErrUnknownKey) {
		return out, err
	}
	// A sender we have not met (or one that made its encoder again):
	// every sender's key comes from the meeting's base key.
	h, _, herr := sframe.ParseHeader(frame)
	if herr != nil {
		return nil, herr
	}
	if err := o.r.SetKey(h.KID, o.key); err != nil {
		return nil, err
	}
	out, _, err = o.r.Decrypt(nil, frame, nil)
	if err != nil {
		o.r.RemoveKey(h.KID) // not the meeting's key: keep no state for it
	}
	return out, err
}

// undecryptableAfter is how many frames in a row must fail before a
// participant is shown as one whose media cannot be decrypted.
const undecryptableAfter = 3

// Decryption is how a participant's end-to-end encrypted frames fare.
type Decryption struct {
	OK, Failed uint64
	// Failing is set once undecryptableAfter frames in a row failed and
	// cleared by the next frame that decrypts.
	Failing bool

	run int // failures in a row
}

// cannotDecrypt is the label a participant's tile shows while their
// frames do not decrypt.
const cannotDecrypt = "cannot decrypt"

// countDecrypt counts one of participant id's frames, and labels their
// tile while their frames fail.
func (e *Engine) countDecrypt(id string, ok bool) {
	e.mu.Lock()
	d := e.stats.Decrypt[id]
	was := d.Failing
	if ok {
		d.OK++
		d.run = 0
		d.Failing = false
	} else {
		d.Failed++
		d.run++
		d.Failing = d.Failing || d.run >= undecryptableAfter
	}
	e.stats.Decrypt[id] = d
	e.mu.Unlock()
	if d.Failing != was && e.cfg.Compositor != nil {
		if d.Failing {
			e.cfg.Compositor.SetLabel(id, cannotDecrypt)
		} else {
			e.cfg.Compositor.SetLabel(id, "")
		}
	}
}

// encryptionLocked is Call Encryption: the provider's transport encryption,
// or for an end-to-end encrypted call the scheme and the participants
// still in the meeting whose frames do not decrypt.
func (e *Engine) encryptionLocked() string {
	if e.crypt == nil {
		return encryption(e.prov)
	}
	s := e.crypt.describe()
	var bad []string
	for _, id := range e.stats.Participants {
		if e.stats.Decrypt[id].Failing {
			bad = append(bad, id)
		}
	}
	if len(bad) > 0 {
		s += "; " + cannotDecrypt + ": " + strings.Join(bad, ", ")
	}
	return s
}
