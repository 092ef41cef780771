package xapiws

import (
	"bufio"
	"encoding/binary"
	"net"
	"net/http"
)

// jsxapi closes its WebSocket with a close frame that carries no status
// code; the WebSocket library answers it in kind, Node's ws reports that
// as 1005, and jsxapi raises "WebSocket closed unexpectedly" for anything
// but 1000 (an unhandled 'error' ends an integrator's script). RoomOS
// answers 1000. closeCodeWriter makes the server's empty close frames
// carry 1000 (normal closure), which RFC 6455 allows in answer to any
// close.

// normalClosure hijacks the connection through w with closeCodeWriter on
// its writes.
type normalClosure struct{ http.ResponseWriter }

func (w normalClosure) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, http.ErrNotSupported
	}
	c, rw, err := hj.Hijack()
	if err != nil {
		return nil, nil, err
	}
	cc := &closeCodeConn{Conn: c}
	rw.Writer.Reset(cc)
	return cc, rw, nil
}

func (w normalClosure) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// closeCodeConn follows the server's frames as they are written (server
// frames are unmasked: a 2-byte header, 0, 2 or 8 bytes of length, the
// payload) and writes an empty close frame as a close frame with 1000.
type closeCodeConn struct {
	net.Conn
	hdr  []byte // the header being read
	skip uint64 // payload bytes still to pass through
}

func (c *closeCodeConn) Write(p []byte) (int, error) {
	out := make([]byte, 0, len(p)+2)
	for i := 0; i < len(p); {
		if c.skip > 0 {
			n := min(uint64(len(p)-i), c.skip)
			out = append(out, p[i:i+int(n)]...)
			i += int(n)
			c.skip -= n
			continue
		}
		c.hdr = append(c.hdr, p[i])
		i++
		need := 2
		if len(c.hdr) >= 2 {
			switch c.hdr[1] & 0x7f {
			case 126:
				need += 2
			case 127:
				need += 8
			}
			if c.hdr[1]&0x80 != 0 {
				need += 4
			}
		}
		if len(c.hdr) < need {
			continue
		}
		size := uint64(c.hdr[1] & 0x7f)
		switch size {
		case 126:
			size = uint64(binary.BigEndian.Uint16(c.hdr[2:4]))
		case 127:
			size = binary.BigEndian.Uint64(c.hdr[2:10])
		}
		if c.hdr[0] == 0x88 && c.hdr[1] == 0x00 { // FIN, close, no payload
			out = append(out, 0x88, 0x02, 0x03, 0xe8)
		} else {
			out = append(out, c.hdr...)
		}
		c.hdr, c.skip = c.hdr[:0], size
	}
	if _, err := c.Conn.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}
