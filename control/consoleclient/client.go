// Package consoleclient speaks roomd's control console protocol from the
// client side, over the local Unix socket: [Dial] a session, [Client.Exec]
// one request at a time, or [Client.Bridge] an interactive user to it.
// roomctl uses it; so do the tests that drive a real roomd.
//
// It is apart from package serial (the console server and its grammar) so
// that a client links neither the server nor the room's vocabulary.
// docs/serial-protocol.md describes the protocol.
package consoleclient

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"
)

// ReplyError is a request the server answered with ERROR.
type ReplyError struct {
	Reason string
}

func (e *ReplyError) Error() string { return "consoleclient: request failed: " + e.Reason }

// Client runs requests on a console session over the Unix socket, one at a
// time. Feedback pushes that arrive while it waits for a reply are skipped.
type Client struct {
	mu     sync.Mutex
	conn   net.Conn
	r      *bufio.Reader
	broken error
}

// Dial connects to the console socket at path and turns echo off.
func Dial(path string) (*Client, error) {
	conn, err := net.DialTimeout("unix", path, 5*time.Second)
	if err != nil {
		return nil, fmt.Errorf("consoleclient: connecting to %s: %w; is roomd running?", path, err)
	}
	c := &Client{conn: conn, r: bufio.NewReaderSize(conn, 64<<10)}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.Exec(ctx, "echo off"); err != nil {
		conn.Close()
		return nil, err
	}
	return c, nil
}

// Close ends the session.
func (c *Client) Close() error { return c.conn.Close() }

// Exec sends one request line and returns its reply: in terminal mode its
// lines through "** end" and OK or ERROR, in JSON mode (after xPreferences
// OutputMode JSON) its one object. An ERROR reply returns its lines and a
// *ReplyError; other errors leave the client unusable.
func (c *Client) Exec(ctx context.Context, line string) ([]string, error) {
	if strings.ContainsAny(line, "\r\n") {
		return nil, errors.New("consoleclient: one request per Exec; the line holds a line break")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.broken != nil {
		return nil, c.broken
	}
	if d, ok := ctx.Deadline(); ok {
		c.conn.SetDeadline(d)
	}
	stop := context.AfterFunc(ctx, func() { c.conn.SetDeadline(time.Unix(1, 0)) })
	defer func() {
		stop()
		c.conn.SetDeadline(time.Time{})
	}()
	lines, err := c.exec(line)
	if err != nil {
		var re *ReplyError
		if !errors.As(err, &re) {
			if ctx.Err() != nil {
				err = ctx.Err()
			}
			// The reply may be half read: the session is out of step.
			c.broken = fmt.Errorf("consoleclient: the session is unusable after an earlier failure: %w", err)
		}
		return lines, err
	}
	return lines, nil
}

func (c *Client) exec(line string) ([]string, error) {
	if _, err := io.WriteString(c.conn, line+"\r\n"); err != nil {
		return nil, fmt.Errorf("consoleclient: sending: %w", err)
	}
	return c.readReply()
}

func (c *Client) readLine() (string, error) {
	l, err := c.r.ReadString('\n')
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return "", fmt.Errorf("consoleclient: reading the reply: %w", err)
	}
	return strings.TrimRight(l, "\r\n"), nil
}

// readReply skips feedback pushes and returns the reply. It reads both
// modes, as the reply to xPreferences is already in the new one: a JSON
// object (terminal lines never start with '{') is a reply when it carries
// "Result"; a terminal block ending in "** end" is a reply when OK or ERROR
// follows.
func (c *Client) readReply() ([]string, error) {
	var block []string
	ended := func() bool { return len(block) > 0 && block[len(block)-1] == "** end" }
	for {
		l, err := c.readLine()
		if err != nil {
			return nil, err
		}
		switch {
		case strings.HasPrefix(l, "{"):
			var v struct {
				Result *string
				Reason string
			}
			if err := json.Unmarshal([]byte(l), &v); err != nil {
				return []string{l}, fmt.Errorf("consoleclient: reply is not JSON: %w", err)
			}
			if v.Result == nil {
				continue // a push
			}
			if *v.Result != "OK" {
				return []string{l}, &ReplyError{Reason: v.Reason}
			}
			return []string{l}, nil
		case ended() && l == "OK":
			return append(block, l), nil
		case ended() && strings.HasPrefix(l, "ERROR: "):
			return append(block, l), &ReplyError{Reason: strings.TrimPrefix(l, "ERROR: ")}
		case ended():
			block = append(block[:0], l) // what came before was a push
		default:
			block = append(block, l)
		}
	}
}

// Bridge connects an interactive user to the session: in is sent as typed,
// output is copied to out (without carriage returns), until the server
// closes the session (bye), in ends, or ctx is cancelled.
func (c *Client) Bridge(ctx context.Context, in io.Reader, out io.Writer) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	done := make(chan error, 1)
	go func() {
		_, err := io.Copy(crlfWriter{out}, c.r)
		done <- err
	}()
	go func() {
		io.Copy(c.conn, in)
		if uc, ok := c.conn.(*net.UnixConn); ok {
			uc.CloseWrite() // the server ends the session at EOF
		}
	}()
	select {
	case err := <-done:
		if errors.Is(err, net.ErrClosed) {
			err = nil
		}
		return err
	case <-ctx.Done():
		c.conn.Close()
		<-done
		return nil
	}
}

// crlfWriter drops carriage returns so output reads well in a shell pipe.
type crlfWriter struct{ w io.Writer }

func (w crlfWriter) Write(p []byte) (int, error) {
	if _, err := w.w.Write([]byte(strings.ReplaceAll(string(p), "\r", ""))); err != nil {
		return 0, err
	}
	return len(p), nil
}
