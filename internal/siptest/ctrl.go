package siptest

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Baresip 1.0.0 event types (src/event.c uag_event_str) that tests wait for.
const (
	EventRegistering     = "REGISTERING"
	EventRegisterOK      = "REGISTER_OK"
	EventRegisterFail    = "REGISTER_FAIL"
	EventCallIncoming    = "CALL_INCOMING"
	EventCallRinging     = "CALL_RINGING"
	EventCallProgress    = "CALL_PROGRESS"
	EventCallEstablished = "CALL_ESTABLISHED"
	EventCallClosed      = "CALL_CLOSED"
	EventCallDTMFStart   = "CALL_DTMF_START"
	EventCallDTMFEnd     = "CALL_DTMF_END"
	EventCallRTPEstab    = "CALL_RTPESTAB"
	EventCallRTCP        = "CALL_RTCP"
	EventCallMenc        = "CALL_MENC"
	EventCallRemoteSDP   = "CALL_REMOTE_SDP"
	EventCallLocalSDP    = "CALL_LOCAL_SDP"
)

// Event is one event from baresip's ctrl_tcp stream.
type Event struct {
	Type       string // e.g. CALL_ESTABLISHED
	Class      string // "call", "register", ...
	Param      string // the close reason, the DTMF key, "audio"/"video", the peer URI ...
	AccountAOR string `json:"accountaor"`
	Direction  string // "incoming" or "outgoing"
	PeerURI    string `json:"peeruri"`
	ID         string // the call's identifier
	// Raw is the whole JSON object (CALL_RTCP carries rtcp_stats).
	Raw json.RawMessage `json:"-"`
}

func (e Event) String() string {
	if e.Param != "" {
		return e.Type + "(" + e.Param + ")"
	}
	return e.Type
}

type ctrlResponse struct {
	OK    bool   `json:"ok"`
	Data  string `json:"data"`
	Token string `json:"token"`
}

// ctrlConn is the connection to ctrl_tcp: commands one at a time, events
// collected as they come.
type ctrlConn struct {
	conn net.Conn

	cmdMu sync.Mutex // one command in flight
	resp  chan ctrlResponse

	mu      sync.Mutex
	events  []Event
	cursor  int           // events before it were consumed by WaitEvent
	changed chan struct{} // closed and replaced when events grow or the reader ends
	readErr error
	token   int
}

func dialCtrl(addr string) (*ctrlConn, error) {
	conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return nil, fmt.Errorf("connecting to ctrl_tcp at %s: %w", addr, err)
	}
	c := &ctrlConn{conn: conn, resp: make(chan ctrlResponse, 1), changed: make(chan struct{})}
	go c.read()
	return c, nil
}

func (c *ctrlConn) close() { _ = c.conn.Close() }

// read parses netstrings ("<len>:<json>,") until the connection ends.
func (c *ctrlConn) read() {
	r := bufio.NewReader(c.conn)
	var err error
	for {
		var msg []byte
		msg, err = readNetstring(r)
		if err != nil {
			break
		}
		var kind struct {
			Response bool `json:"response"`
			Event    any  `json:"event"`
		}
		if json.Unmarshal(msg, &kind) != nil {
			continue
		}
		if kind.Response {
			var resp ctrlResponse
			_ = json.Unmarshal(msg, &resp)
			select {
			case c.resp <- resp:
			default: // nobody waits (a timed-out command's late answer)
			}
			continue
		}
		var ev Event
		if json.Unmarshal(msg, &ev) != nil {
			continue
		}
		ev.Raw = append(json.RawMessage(nil), msg...)
		c.mu.Lock()
		c.events = append(c.events, ev)
		close(c.changed)
		c.changed = make(chan struct{})
		c.mu.Unlock()
	}
	c.mu.Lock()
	c.readErr = err
	close(c.changed)
	c.changed = make(chan struct{})
	c.mu.Unlock()
}

// maxNetstring bounds one message; ctrl_tcp's own limit is far lower.
const maxNetstring = 1 << 20

func readNetstring(r *bufio.Reader) ([]byte, error) {
	head, err := r.ReadString(':')
	if err != nil {
		return nil, err
	}
	n, err := strconv.Atoi(strings.TrimSpace(head[:len(head)-1]))
	if err != nil || n < 0 || n > maxNetstring {
		return nil, fmt.Errorf("siptest: bad netstring length %q", head)
	}
	buf := make([]byte, n+1)
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, err
	}
	if buf[n] != ',' {
		return nil, errors.New("siptest: netstring without its trailing comma")
	}
	return buf[:n], nil
}

// command sends one command and waits for its response.
func (c *ctrlConn) command(cmd, params string, timeout time.Duration) (string, error) {
	c.cmdMu.Lock()
	defer c.cmdMu.Unlock()
	c.mu.Lock()
	c.token++
	token := strconv.Itoa(c.token)
	c.mu.Unlock()
	req := map[string]string{"command": cmd, "token": token}
	if params != "" {
		req["params"] = params
	}
	body, _ := json.Marshal(req)
	frame := append([]byte(strconv.Itoa(len(body))+":"), body...)
	frame = append(frame, ',')
	_ = c.conn.SetWriteDeadline(time.Now().Add(timeout))
	if _, err := c.conn.Write(frame); err != nil {
		return "", fmt.Errorf("siptest: sending %q to baresip: %w", cmd, err)
	}
	deadline := time.After(timeout)
	for {
		select {
		case resp := <-c.resp:
			if resp.Token != token {
				continue // a late answer to an earlier, timed-out command
			}
			if !resp.OK {
				return resp.Data, fmt.Errorf("siptest: baresip refused %q: %s", cmd, strings.TrimSpace(resp.Data))
			}
			return resp.Data, nil
		case <-deadline:
			return "", fmt.Errorf("siptest: baresip did not answer %q within %v: %w", cmd, timeout, ErrTimeout)
		}
	}
}

// waitEvent returns the first event after the cursor that match accepts and
// moves the cursor past it.
func (c *ctrlConn) waitEvent(timeout time.Duration, match func(Event) bool) (Event, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		for i := c.cursor; i < len(c.events); i++ {
			if match(c.events[i]) {
				c.cursor = i + 1
				ev := c.events[i]
				c.mu.Unlock()
				return ev, nil
			}
		}
		changed, readErr := c.changed, c.readErr
		c.mu.Unlock()
		if readErr != nil {
			return Event{}, fmt.Errorf("siptest: baresip's control connection ended: %w", readErr)
		}
		select {
		case <-changed:
		case <-deadline.C:
			return Event{}, ErrTimeout
		}
	}
}

func (c *ctrlConn) allEvents() []Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Event(nil), c.events...)
}
