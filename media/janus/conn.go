package janus

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// writeTimeout bounds one WebSocket write. It is separate from callers'
// contexts because an interrupted write closes the whole connection.
const writeTimeout = 10 * time.Second

// conn is one WebSocket to Janus: it numbers transactions, hands replies to
// the callers waiting for them and everything else to events.
type conn struct {
	ws     *websocket.Conn
	log    *slog.Logger
	events chan *message
	// lost is called once by the reader when the connection fails while
	// nobody is closing it.
	lost func(error)

	nextTx  atomic.Uint64
	mu      sync.Mutex
	pending map[string]*waiter
	closing bool
	stop    chan struct{} // closed by close: nobody reads events any more
	closed  chan struct{} // closed when the reader has stopped
}

// waiter is a caller waiting for the reply to one transaction.
type waiter struct {
	async bool // the reply is "ack" then an "event"; wait for the event
	reply chan *message
}

func dial(ctx context.Context, url string, log *slog.Logger) (*conn, error) {
	ws, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{"janus-protocol"}})
	if err != nil {
		return nil, err
	}
	if ws.Subprotocol() != "janus-protocol" {
		ws.Close(websocket.StatusProtocolError, "janus-protocol expected")
		return nil, fmt.Errorf("server at %s does not speak janus-protocol", url)
	}
	ws.SetReadLimit(4 << 20) // SDPs of many-stream subscriptions are large
	return &conn{
		ws:      ws,
		log:     log,
		events:  make(chan *message, 64),
		lost:    func(error) {},
		pending: map[string]*waiter{},
		stop:    make(chan struct{}),
		closed:  make(chan struct{}),
	}, nil
}

// read is the connection's one reader goroutine.
func (c *conn) read() {
	defer close(c.closed)
	for {
		_, b, err := c.ws.Read(context.Background())
		if err != nil {
			c.mu.Lock()
			closing := c.closing
			c.closing = true
			c.mu.Unlock()
			if !closing {
				c.lost(err)
			}
			return
		}
		var m message
		if err := json.Unmarshal(b, &m); err != nil {
			c.log.Warn("janus: undecodable message", "err", err, "len", len(b))
			continue
		}
		c.dispatch(&m)
	}
}

func (c *conn) dispatch(m *message) {
	if m.Transaction != "" {
		c.mu.Lock()
		w := c.pending[m.Transaction]
		if w != nil && !(w.async && m.Janus == "ack") {
			delete(c.pending, m.Transaction)
		}
		c.mu.Unlock()
		if w != nil {
			if !(w.async && m.Janus == "ack") {
				w.reply <- m
			}
			return
		}
		if m.Janus == "ack" {
			return // fire-and-forget requests such as trickle
		}
	}
	select {
	case c.events <- m:
	case <-c.stop:
	}
}

// send writes req without waiting for an answer.
func (c *conn) send(req *request) error {
	if req.Transaction == "" {
		req.Transaction = "t" + strconv.FormatUint(c.nextTx.Add(1), 10)
	}
	b, err := json.Marshal(req)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	defer cancel()
	if err := c.ws.Write(ctx, websocket.MessageText, b); err != nil {
		return fmt.Errorf("%w: sending %s: %v", ErrSessionGone, req.Janus, err)
	}
	return nil
}

// call sends req and waits for its reply: "success" or "ack" for core
// requests, the plugin's event for async plugin messages. sent, if not nil,
// runs once the request is on the wire. Error answers become *Error.
func (c *conn) call(ctx context.Context, name string, req *request, async bool, sent func()) (*message, error) {
	req.Transaction = "t" + strconv.FormatUint(c.nextTx.Add(1), 10)
	w := &waiter{async: async, reply: make(chan *message, 1)}
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return nil, fmt.Errorf("janus: %s: %w", name, ErrSessionGone)
	}
	c.pending[req.Transaction] = w
	c.mu.Unlock()
	forget := func() {
		c.mu.Lock()
		delete(c.pending, req.Transaction)
		c.mu.Unlock()
	}
	if err := c.send(req); err != nil {
		forget()
		return nil, err
	}
	if sent != nil {
		sent()
	}
	select {
	case m := <-w.reply:
		if err := m.failure(name); err != nil {
			return m, err
		}
		return m, nil
	case <-ctx.Done():
		forget()
		return nil, fmt.Errorf("janus: %s: no answer: %w", name, ctx.Err())
	case <-c.closed:
		return nil, fmt.Errorf("janus: %s: %w", name, ErrSessionGone)
	}
}

// close ends the connection; the reader stops and lost is not called.
func (c *conn) close() {
	c.mu.Lock()
	c.closing = true
	select {
	case <-c.stop:
	default:
		close(c.stop)
	}
	c.mu.Unlock()
	c.ws.Close(websocket.StatusNormalClosure, "")
	<-c.closed
}
