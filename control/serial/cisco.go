package serial

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/roomd/roomd/control"
	"github.com/roomd/roomd/room"
)

// ServeCisco is [Server.Serve] for a session in Cisco's dialect from its
// first byte, greeted with a reply ending in the line "OK" as RoomOS's SSH
// console greets, so a client that waits for it (jsxapi's TSH backend over
// SSH) needs to send nothing first. A source that must log in gets the
// greeting after the right PIN.
func (s *Server) ServeCisco(ctx context.Context, rw io.ReadWriteCloser, src room.Source) error {
	return s.serve(ctx, rw, src, true)
}

// maxFrame bounds a multi-line request: RoomOS's bodies are macros and
// certificates; roomd takes none, so this only has to hold a refused one.
const maxFrame = 64 << 10

// dialect switches the session's dialect; the reply is already in it, so a
// Cisco client that waits for the line "OK" sees one.
func (ss *session) dialect(name string) *reply {
	switch {
	case strings.EqualFold(name, "Cisco"):
		ss.cisco = true
	case strings.EqualFold(name, "roomd"):
		ss.cisco = false
	default:
		return &reply{err: fmt.Errorf("dialect %q is not Cisco or roomd", name)}
	}
	return &reply{}
}

// ciscoDocument answers RoomOS's form of xDocument (Format: Path: Schema:),
// which jsxapi sends for its schema queries. roomd documents its schema
// whole; the refusal says so in Cisco's error shape.
func (ss *session) ciscoDocument() *reply {
	if !ss.cisco {
		return &reply{err: fmt.Errorf("%w: %s takes no Name: value parameters", ErrSyntax, XDocument)}
	}
	return &reply{err: errors.New("xDocument Format:/Path:/Schema: is not supported; send xDocument Schema for roomd's whole schema")}
}

// startFrame begins a multi-line request when line is RoomOS's frame
// header "{N}" in a logged-in Cisco session. It reports whether it took the
// line; a frame too long is refused at once and its bytes then run as lines.
func (ss *session) startFrame(line string, tooLong bool) bool {
	if !ss.cisco || !ss.authed || tooLong {
		return false
	}
	t := strings.TrimRight(line, " \t")
	if len(t) < 3 || t[0] != '{' || t[len(t)-1] != '}' {
		return false
	}
	n, err := strconv.Atoi(t[1 : len(t)-1])
	if err != nil || n < 0 || strings.ContainsAny(t[1:len(t)-1], "+-") {
		return false
	}
	if n > maxFrame {
		ss.catchUp()
		ss.mu.Lock()
		ss.writeReply(&reply{err: fmt.Errorf("a multi-line request of %d bytes is longer than the %d allowed; nothing was done", n, maxFrame)})
		ss.mu.Unlock()
		return true
	}
	ss.frame, ss.body = n, ss.body[:0]
	return true
}

// framed takes one byte of a multi-line request and runs the request once
// it is whole: its first line is the request, the rest its body.
func (ss *session) framed(c byte) (bye bool) {
	ss.body = append(ss.body, c)
	if ss.frame--; ss.frame > 0 {
		return false
	}
	text := string(ss.body)
	line, body, _ := strings.Cut(text, "\n")
	line = strings.TrimSuffix(line, "\r")
	body = strings.TrimSuffix(body, "\n")
	return ss.handle(line, false, "", []byte(body))
}

// refuseBody answers a request that came with a multi-line body: no roomd
// command takes one, so it is refused, in the command's own result when the
// command is known.
func (ss *session) refuseBody(req Request) *reply {
	if req.Verb != XCommand {
		return &reply{err: fmt.Errorf("%w: only xCommand takes a multi-line body", ErrSyntax)}
	}
	cmd, err := control.ParseCommand(control.Path(req.Words), req.Args)
	if err != nil {
		return &reply{result: cmd.Result, err: err}
	}
	return &reply{result: cmd.Result, err: fmt.Errorf("xCommand %s takes no multi-line body; nothing was done", cmd.Path)}
}

// xpath is where a request that named no known path pointed, for the XPath
// of Cisco's error.
func xpath(req Request) string {
	p := control.Path(req.Words)
	switch req.Verb {
	case XStatus:
		return append(control.Path{"Status"}, p...).Slash()
	case XConfiguration:
		return append(control.Path{"Configuration"}, p...).Slash()
	case XFeedback:
		if len(p) > 0 {
			return p[1:].Slash()
		}
	}
	return p.Slash()
}

// ciscoJSON renders r in Cisco's JSON shapes, on one line, or returns nil
// when r answers an untagged request and has nothing to say.
func (r *reply) ciscoJSON() []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	key := func(k string) {
		writeJSONString(&b, k)
		b.WriteByte(':')
	}
	switch {
	case r.err != nil:
		name := r.result
		if name == "" {
			name = "Result"
		}
		key("CommandResponse")
		b.WriteByte('{')
		key(name)
		b.WriteString(`{"status":"Error","Reason":{"Value":`)
		writeJSONString(&b, reason(r.err))
		b.WriteByte('}')
		if r.xpath != "" {
			b.WriteString(`,"XPath":{"Value":`)
			writeJSONString(&b, r.xpath)
			b.WriteByte('}')
		}
		b.WriteString("}}")
	case r.result != "":
		key("CommandResponse")
		b.WriteByte('{')
		key(r.result)
		b.WriteString(`{"status":"OK"}}`)
	case r.hasStatus || len(r.status) > 0:
		t := &tree{}
		for _, c := range r.status {
			t.setItem(c.Path, c.Value, c.Gone, control.IndexSlot(c.Path))
		}
		key("Status")
		t.writeCisco(&b)
	case r.hasConfig || len(r.config) > 0:
		t := &tree{}
		for _, l := range r.config {
			t.set(l.Path, l.Value, false)
		}
		key("Configuration")
		t.writeCisco(&b)
	case len(r.events) > 0:
		key("Event")
		eventTree(r.events).writeCisco(&b)
	case r.hasFeeds:
		key("Feedback")
		writeJSON(&b, append([]string{}, r.feedback...))
	case r.schema != nil:
		key("Schema")
		writeJSON(&b, r.schema)
	case r.resultID == "":
		return nil
	}
	if r.resultID != "" {
		if b.Len() > 1 {
			b.WriteByte(',')
		}
		key("ResultId")
		writeJSONString(&b, r.resultID)
	}
	b.WriteByte('}')
	return b.Bytes()
}

// setItem is set for Cisco's JSON, where slot is the position of an item's
// number in p (or -1): the items of that group are written as an array.
func (t *tree) setItem(p control.Path, v string, gone bool, slot int) {
	t.set(p, v, gone)
	if slot > 0 {
		n := t
		for _, e := range p[:slot] {
			n = n.child(e)
		}
		n.list = true
	}
}

// gone reports that every leaf under t is a ghost: the whole item left.
func (t *tree) gone() bool {
	if t.leaf {
		return t.null
	}
	for _, k := range t.kids {
		if !k.gone() {
			return false
		}
	}
	return len(t.kids) > 0
}

// writeCisco writes t in Cisco's JSON: a leaf is {"Value":"…"} (a leaf
// that is gone {"ghost":"True"}), and the items of a listed group are an
// array of objects carrying their number as "id".
func (t *tree) writeCisco(b *bytes.Buffer) {
	switch {
	case t.leaf && t.null:
		b.WriteString(`{"ghost":"True"}`)
	case t.leaf:
		b.WriteString(`{"Value":`)
		writeJSONString(b, t.value)
		b.WriteByte('}')
	case t.list:
		b.WriteByte('[')
		for i, item := range t.kids {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(`{"id":`)
			writeJSONString(b, item.key)
			if item.gone() {
				b.WriteString(`,"ghost":"True"}`)
				continue
			}
			writeMembers(b, item.kids, true, (*tree).writeCisco)
			b.WriteByte('}')
		}
		b.WriteByte(']')
	default:
		b.WriteByte('{')
		writeMembers(b, t.kids, false, (*tree).writeCisco)
		b.WriteByte('}')
	}
}
