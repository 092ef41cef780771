package xapiws

import (
	"bytes"
	"net"
	"testing"
)

// recordConn is a net.Conn that keeps what is written.
type recordConn struct {
	net.Conn
	buf bytes.Buffer
}

func (r *recordConn) Write(p []byte) (int, error) { return r.buf.Write(p) }

// TestCloseCode: an empty close frame is written with 1000; every other
// frame, including payload bytes that look like one, passes unchanged,
// however the writes split the frames.
func TestCloseCode(t *testing.T) {
	long := bytes.Repeat([]byte{0x88, 0x00}, 100) // 200 bytes: a 2-byte length
	var in, want []byte
	in = append(in, 0x81, 0x04, 0x88, 0x00, 0x88, 0x00) // text "\x88\x00\x88\x00"
	in = append(in, 0x82, 126, 0x00, 200)
	in = append(in, long...)
	in = append(in, 0x89, 0x00)             // ping, empty
	in = append(in, 0x88, 0x02, 0x03, 0xf0) // close 1008: unchanged
	want = append(want, in...)
	in = append(in, 0x88, 0x00)
	want = append(want, 0x88, 0x02, 0x03, 0xe8)
	for _, step := range []int{1, 2, 3, 7, len(in)} {
		rec := &recordConn{}
		c := &closeCodeConn{Conn: rec}
		for i := 0; i < len(in); i += step {
			chunk := in[i:min(i+step, len(in))]
			if n, err := c.Write(chunk); n != len(chunk) || err != nil {
				t.Fatalf("step %d: Write = %d, %v", step, n, err)
			}
		}
		if !bytes.Equal(rec.buf.Bytes(), want) {
			t.Errorf("step %d: wrote\n%x\nwant\n%x", step, rec.buf.Bytes(), want)
		}
	}
}
