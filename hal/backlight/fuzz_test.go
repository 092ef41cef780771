package backlight

import (
	"bytes"
	"io"
	"testing"
	"time"
)

// Whatever a display answers, the DDC/CI reader never panics, and a
// brightness it accepts is within the range the display reported.
func FuzzDDCReply(f *testing.F) {
	good := []byte{0x6E, 0x88, 0x02, 0x00, 0x10, 0x00, 0x00, 0x64, 0x00, 0x32}
	s := byte(0x50)
	for _, b := range good {
		s ^= b
	}
	f.Add(append(good, s))
	f.Add(append(good, s^1))
	f.Add([]byte{0x6E, 0x88, 0x02, 0x01, 0x10, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, reply []byte) {
		d, err := NewDDC("fuzz", struct {
			io.Reader
			io.Writer
		}{bytes.NewReader(reply), io.Discard}, func(time.Duration) {})
		if err != nil {
			return
		}
		if d.max <= 0 {
			t.Fatalf("accepted a range of %d", d.max)
		}
		if len(reply) < 11 {
			t.Fatalf("accepted a %d-byte reply", len(reply))
		}
	})
}
