package rtpmedia

import (
	"encoding/binary"
	"errors"
	"math/bits"

	"github.com/pion/rtcp"
)

// TMMBR and TMMBN (RFC 5104 §4.2.1, §4.2.2): transport-layer feedback
// (PT 205) with FMT 3 and 4, which pion/rtcp does not parse.
const (
	fmtTMMBR = 3
	fmtTMMBN = 4
)

// TMMBEntry is one FCI entry: the maximum total media bitrate a receiver
// asks for (TMMBR) or the sender took (TMMBN) for one SSRC.
type TMMBEntry struct {
	SSRC     uint32
	Bitrate  uint64 // bit/s
	Overhead uint16 // measured overhead per packet, bytes (9 bits)
}

// TMMB is a TMMBR or a TMMBN packet.
type TMMB struct {
	Notification bool // TMMBN; false for TMMBR
	SenderSSRC   uint32
	Entries      []TMMBEntry
}

var _ rtcp.Packet = (*TMMB)(nil)

var errNotTMMB = errors.New("rtpmedia: not a TMMBR or TMMBN packet")

// DestinationSSRC returns the SSRCs the entries are about.
func (t *TMMB) DestinationSSRC() []uint32 {
	out := make([]uint32, len(t.Entries))
	for i, e := range t.Entries {
		out[i] = e.SSRC
	}
	return out
}

// MarshalSize is the packet's size in bytes.
func (t *TMMB) MarshalSize() int { return 12 + 8*len(t.Entries) }

// Marshal encodes the packet; bitrates round down to what 17 bits of
// mantissa hold.
func (t *TMMB) Marshal() ([]byte, error) {
	b := make([]byte, t.MarshalSize())
	h := rtcp.Header{Count: fmtTMMBR, Type: rtcp.TypeTransportSpecificFeedback, Length: uint16(len(b)/4 - 1)}
	if t.Notification {
		h.Count = fmtTMMBN
	}
	hb, err := h.Marshal()
	if err != nil {
		return nil, err
	}
	copy(b, hb)
	binary.BigEndian.PutUint32(b[4:], t.SenderSSRC)
	// b[8:12], the media source SSRC, is always 0 (RFC 5104 §4.2.1.2).
	for i, e := range t.Entries {
		exp := 0
		mant := e.Bitrate
		if n := bits.Len64(mant); n > 17 {
			exp = n - 17
			mant >>= exp
		}
		if exp > 63 {
			return nil, errors.New("rtpmedia: TMMBR bitrate too large to encode")
		}
		o := 12 + 8*i
		binary.BigEndian.PutUint32(b[o:], e.SSRC)
		binary.BigEndian.PutUint32(b[o+4:], uint32(exp)<<26|uint32(mant)<<9|uint32(e.Overhead&0x1ff))
	}
	return b, nil
}

// Unmarshal decodes a TMMBR or TMMBN packet.
func (t *TMMB) Unmarshal(b []byte) error {
	var h rtcp.Header
	if err := h.Unmarshal(b); err != nil {
		return err
	}
	if h.Type != rtcp.TypeTransportSpecificFeedback || (h.Count != fmtTMMBR && h.Count != fmtTMMBN) {
		return errNotTMMB
	}
	end := 4 * (int(h.Length) + 1)
	if end > len(b) || end < 12 || (end-12)%8 != 0 {
		return errors.New("rtpmedia: TMMBR/TMMBN packet of a bad length")
	}
	t.Notification = h.Count == fmtTMMBN
	t.SenderSSRC = binary.BigEndian.Uint32(b[4:])
	t.Entries = t.Entries[:0]
	for o := 12; o < end; o += 8 {
		v := binary.BigEndian.Uint32(b[o+4:])
		t.Entries = append(t.Entries, TMMBEntry{
			SSRC:     binary.BigEndian.Uint32(b[o:]),
			Bitrate:  uint64(v>>9&0x1ffff) << (v >> 26),
			Overhead: uint16(v & 0x1ff),
		})
	}
	return nil
}
