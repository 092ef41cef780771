package serial

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/roomd/roomd/control"
	"github.com/roomd/roomd/control/feedback"
	"github.com/roomd/roomd/room"
)

// maxFeeds bounds one session's feedback registrations.
const maxFeeds = 64

// session is one console conversation. The reader goroutine parses and runs
// requests; a feed goroutine pushes the feedback hub's batches.
type session struct {
	srv *Server
	rw  io.ReadWriter
	src room.Source

	// mu is held while a request runs and while anything is written, so a
	// reply is never split by a push and pushes caused by a command follow
	// its reply.
	mu    sync.Mutex
	json  bool
	cisco bool           // Cisco's dialect: LF line ends, Cisco's JSON shapes, multi-line bodies (cisco.go)
	feeds []control.Path // canonical, rooted at Status, Configuration or Event
	werr  error

	// reader goroutine only
	echo    bool
	authed  bool
	line    []byte
	lastCR  bool
	tooLong bool
	tail    []byte // the end of a line that is too long, for its resultId
	esc     escState
	frame   int    // bytes still to come of a {N} multi-line request (Cisco dialect)
	body    []byte // the multi-line request so far
	feedWG  sync.WaitGroup
	cancel  context.CancelFunc
	sessCtx context.Context

	// The feed goroutine records the number of the last batch it handled,
	// so a request can wait for changes made before it to be pushed first.
	handledSeq atomic.Uint64
	handledNew chan struct{}
}

// catchUpLimit bounds how long a request waits for earlier changes to be
// pushed, so a stuck hub slows a console down but never hangs it.
const catchUpLimit = 250 * time.Millisecond

// session runs one conversation on rw. bye is true when the client said
// bye. A cisco session speaks Cisco's dialect from the start and is
// greeted, after the PIN when it needs one, with a reply ending in OK.
func (s *Server) session(ctx context.Context, rw io.ReadWriter, src room.Source, cisco bool) (bye bool, err error) {
	ctx, cancel := context.WithCancel(ctx)
	ss := &session{srv: s, rw: rw, src: src, echo: src.Kind == room.FromSerial, cisco: cisco, cancel: cancel, sessCtx: ctx, handledNew: make(chan struct{}, 1)}
	defer ss.feedWG.Wait()
	defer cancel()
	s.log.Info("serial: session started", "source", src.String())
	defer s.log.Info("serial: session ended", "source", src.String())

	if s.needsLogin(src) {
		ss.write([]byte("PIN: "))
	} else {
		ss.loggedIn()
		if cisco {
			ss.write([]byte(ss.welcome()))
		}
	}
	buf := make([]byte, 1024)
	for {
		n, rerr := rw.Read(buf)
		if n > 0 && ss.input(buf[:n]) {
			return true, nil
		}
		ss.mu.Lock()
		werr := ss.werr
		ss.mu.Unlock()
		switch {
		case werr != nil:
			return false, werr
		case rerr == io.EOF || ctx.Err() != nil:
			return false, nil
		case rerr != nil:
			return false, rerr
		}
	}
}

// loggedIn starts feedback; the tree at login is the baseline for changes.
func (ss *session) loggedIn() {
	ss.authed = true
	batches := ss.srv.hub.Subscribe(ss.sessCtx)
	ss.feedWG.Add(1)
	go func() {
		defer ss.feedWG.Done()
		ss.feed(batches)
	}()
}

// input edits the line with p's bytes and runs each completed line. It
// reports whether the client said bye.
func (ss *session) input(p []byte) (bye bool) {
	var echo []byte
	flush := func() {
		if len(echo) > 0 {
			ss.mu.Lock()
			ss.write(echo)
			ss.mu.Unlock()
			echo = echo[:0]
		}
	}
	limit := ss.srv.opts.MaxLineLength
	for _, c := range p {
		if ss.esc != escNone && ss.inEscape(c) {
			ss.lastCR = false
			continue
		}
		// CRLF is one line end; inside a multi-line request every byte
		// counts, but the LF of the header's CRLF is not the body's.
		if ss.lastCR && c == '\n' && (ss.frame == 0 || len(ss.body) == 0) {
			ss.lastCR = false
			continue
		}
		if ss.frame > 0 {
			ss.lastCR = false
			if ss.framed(c) {
				return true
			}
			continue
		}
		ss.lastCR = c == '\r'
		switch {
		case c == '\r' || c == '\n':
			if ss.echo {
				echo = append(echo, ss.eol()...)
			}
			flush()
			line, tooLong, tag := string(ss.line), ss.tooLong, ""
			if !ss.authed {
				clear(ss.line) // do not keep a PIN in the reused buffer
				clear(ss.tail)
			} else if tooLong {
				tag = trailingTag(string(ss.tail))
			}
			ss.line, ss.tooLong, ss.tail = ss.line[:0], false, ss.tail[:0]
			if ss.startFrame(line, tooLong) {
				continue
			}
			if ss.handle(line, tooLong, tag, nil) {
				return true
			}
		case c == 0x08 || c == 0x7f: // backspace, delete
			if len(ss.line) > 0 && !ss.tooLong {
				_, n := utf8.DecodeLastRune(ss.line)
				ss.line = ss.line[:len(ss.line)-n]
				if ss.echo && ss.authed {
					echo = append(echo, "\b \b"...)
				}
			}
		case c == 0x1b: // an escape sequence (arrow and function keys) starts
			ss.esc = escStart
		case c < 0x20 && c != '\t': // other control characters
		default:
			if len(ss.line) >= limit {
				if !ss.tooLong { // the tag may have begun before the limit
					ss.tail = append(ss.tail[:0], ss.line[max(0, len(ss.line)-maxTail):]...)
				}
				ss.tooLong = true
				if ss.tail = append(ss.tail, c); len(ss.tail) > 2*maxTail {
					ss.tail = append(ss.tail[:0], ss.tail[len(ss.tail)-maxTail:]...)
				}
				continue
			}
			ss.line = append(ss.line, c)
			if ss.echo && ss.authed { // a PIN is never echoed
				echo = append(echo, c)
			}
		}
	}
	flush()
	return false
}

// escState tracks an escape sequence being dropped. Terminals send cursor
// and function keys as ESC [ <parameters> <final> (CSI, e.g. ESC [ A or
// ESC [ 1 ; 5 C) or ESC O <final> (SS3, e.g. ESC O B); the whole sequence
// is dropped, not just its ESC, so an arrow key never types "[A".
type escState uint8

const (
	escNone  escState = iota
	escStart          // after ESC
	escCSI            // after ESC [
	escSS3            // after ESC O
)

// inEscape takes c when it continues the escape sequence under way and
// reports whether it did. A byte that cannot continue it ends the sequence
// and is handled as typed, so CR still ends the line and ESC followed by
// text drops only the ESC.
func (ss *session) inEscape(c byte) bool {
	switch ss.esc {
	case escStart:
		switch c {
		case '[':
			ss.esc = escCSI
			return true
		case 'O':
			ss.esc = escSS3
			return true
		case 0x1b: // ESC ESC [ A: Alt+arrow on some terminals
			return true
		}
	case escCSI:
		switch {
		case c >= 0x20 && c <= 0x3f: // parameter and intermediate bytes
			return true
		case c >= 0x40 && c <= 0x7e: // the final byte
			ss.esc = escNone
			return true
		}
	case escSS3:
		if c >= 0x40 && c <= 0x7e {
			ss.esc = escNone
			return true
		}
	}
	ss.esc = escNone
	return false
}

// maxTail is how much of the end of a too-long line is kept: enough for
// the longest |resultId tag with spaces around it.
const maxTail = 2 * maxTag

// handle runs one line: the PIN before login, a request after. tag is the
// resultId found at the end of a line that was too long to keep; body is
// the rest of a multi-line request, nil for a one-line request.
func (ss *session) handle(line string, tooLong bool, tag string, body []byte) (bye bool) {
	if !ss.authed {
		ss.login(line, tooLong)
		return false
	}
	ss.catchUp()
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if tooLong {
		ss.writeReply(&reply{resultID: tag, err: fmt.Errorf("the line is longer than %d bytes; nothing was done", ss.srv.opts.MaxLineLength)})
		return false
	}
	if strings.TrimSpace(line) == "" {
		return false
	}
	req, err := Parse(line)
	if err != nil {
		ss.writeReply(&reply{resultID: req.ResultID, err: err})
		return false
	}
	var r *reply
	if body != nil {
		r = ss.refuseBody(req)
	} else {
		r, bye = ss.exec(req)
	}
	r.resultID = req.ResultID
	if errors.Is(r.err, control.ErrUnknownPath) {
		r.xpath = xpath(req)
	}
	ss.writeReply(r)
	return bye
}

func (ss *session) login(pin string, tooLong bool) {
	if pin == "" && !tooLong {
		// Enter pressed to wake the console: ask again, and count nothing.
		ss.mu.Lock()
		defer ss.mu.Unlock()
		ss.write([]byte("PIN: "))
		return
	}
	var b []byte
	if !tooLong {
		b = []byte(pin)
	}
	ok, msg := ss.srv.checkPIN(b, ss.src)
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if !ok {
		ss.write([]byte("** end\r\nERROR: " + msg + "\r\nPIN: "))
		return
	}
	ss.loggedIn()
	ss.write([]byte(ss.welcome()))
}

// welcome is the reply to a right PIN, also the greeting of a Cisco
// session that needs none.
func (ss *session) welcome() string {
	return "*r Login successful" + ss.eol() + "** end" + ss.eol() + "OK" + ss.eol()
}

// exec carries out a parsed request. Nothing is applied unless every check
// passes and the room accepts it.
func (ss *session) exec(req Request) (r *reply, bye bool) {
	srv := ss.srv
	words := control.Path(req.Words)
	fail := func(format string, a ...any) (*reply, bool) {
		return &reply{err: fmt.Errorf(format, a...)}, false
	}
	switch req.Verb {
	case XStatus:
		prefix, err := control.StatusPrefix(words)
		if err != nil {
			return &reply{err: err}, false
		}
		r := &reply{hasStatus: true}
		status, _ := srv.hub.Now()
		for _, l := range control.Select(status, prefix) {
			r.status = append(r.status, control.Change{Leaf: l})
		}
		return r, false

	case XConfiguration:
		if !req.Set {
			prefix, err := control.ConfigPrefix(words)
			if err != nil {
				return &reply{err: err}, false
			}
			_, config := srv.hub.Now()
			return &reply{hasConfig: true, config: control.Select(config, prefix)}, false
		}
		// The edit runs on the room's goroutine, so writes from other
		// surfaces in between are never lost.
		return &reply{err: ss.do(room.EditSettings{What: "xConfiguration " + words.String(), Edit: func(s room.Settings) (room.Settings, error) {
			next, _, err := control.SetConfig(s, words, req.Value)
			return next, err
		}})}, false

	case XCommand:
		if len(words) == 0 {
			return fail("xCommand needs a command, such as xCommand Audio Microphones Mute")
		}
		cmd, err := control.ParseCommand(words, req.Args)
		if err != nil {
			return &reply{result: cmd.Result, err: err}, false
		}
		srv.log.Debug("serial: command", "source", ss.src.String(), "command", cmd.Path.String())
		return &reply{result: cmd.Result, err: ss.do(cmd.Action)}, false

	case XFeedback:
		return ss.feedback(words), false

	case XPreferences:
		if len(words) == 2 && strings.EqualFold(words[0], "Dialect") {
			return ss.dialect(words[1]), false
		}
		if len(words) != 2 || !strings.EqualFold(words[0], "OutputMode") {
			return fail("use xPreferences OutputMode Terminal, xPreferences OutputMode JSON or xPreferences Dialect Cisco")
		}
		switch {
		case strings.EqualFold(words[1], "Terminal"):
			ss.json = false
		case strings.EqualFold(words[1], "JSON"):
			ss.json = true
		default:
			return fail("output mode %q is not Terminal or JSON", words[1])
		}
		return &reply{}, false

	case XDocument:
		if len(req.Args) > 0 {
			return ss.ciscoDocument(), false
		}
		if len(words) != 1 || !strings.EqualFold(words[0], "Schema") {
			return fail("use xDocument Schema")
		}
		d := control.Export()
		return &reply{schema: &d}, false

	case Echo:
		if len(words) != 1 {
			return fail("use echo on or echo off")
		}
		switch {
		case strings.EqualFold(words[0], "on"):
			ss.echo = true
		case strings.EqualFold(words[0], "off"):
			ss.echo = false
		default:
			return fail("use echo on or echo off")
		}
		return &reply{}, false

	case Bye:
		if len(words) != 0 {
			return fail("bye takes nothing after it")
		}
		return &reply{}, true
	}
	return fail("%s is not handled", req.Verb)
}

// do sends an action to the room as this session's source.
func (ss *session) do(a room.Action) error {
	ctx, cancel := context.WithTimeout(ss.sessCtx, ss.srv.opts.RequestTimeout)
	defer cancel()
	err := ss.srv.room.Do(ctx, room.Command{From: ss.src, Do: a})
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("the room did not answer within %s; check xStatus to see whether the command took effect", ss.srv.opts.RequestTimeout)
	}
	return err
}

func (ss *session) feedback(words control.Path) *reply {
	fail := func(format string, a ...any) *reply { return &reply{err: fmt.Errorf(format, a...)} }
	if len(words) == 0 {
		return fail("xFeedback needs Register, Deregister, DeregisterAll or List")
	}
	sub, rest := words[0], words[1:]
	switch {
	case strings.EqualFold(sub, "Register"), strings.EqualFold(sub, "Deregister"):
		p, err := feedbackPath(rest)
		if err != nil {
			return &reply{err: err}
		}
		i := -1
		for j, f := range ss.feeds {
			if f.EqualFold(p) {
				i = j
			}
		}
		switch {
		case strings.EqualFold(sub, "Deregister"):
			if i >= 0 {
				ss.feeds = append(ss.feeds[:i], ss.feeds[i+1:]...)
			}
		case i >= 0: // already registered
		case len(ss.feeds) >= maxFeeds:
			return fail("a session may register at most %d feedback paths", maxFeeds)
		default:
			ss.feeds = append(ss.feeds, p)
		}
		return &reply{}
	case strings.EqualFold(sub, "DeregisterAll"):
		if len(rest) > 0 {
			return fail("xFeedback DeregisterAll takes no path")
		}
		ss.feeds = nil
		return &reply{}
	case strings.EqualFold(sub, "List"):
		if len(rest) > 0 {
			return fail("xFeedback List takes no path")
		}
		r := &reply{hasFeeds: true}
		for _, f := range ss.feeds {
			r.feedback = append(r.feedback, f.Slash())
		}
		return r
	}
	return fail("xFeedback %s: use Register, Deregister, DeregisterAll or List", sub)
}

// feedbackPath checks /Status/…, /Configuration/… or /Event/… and returns it canonical.
func feedbackPath(p control.Path) (control.Path, error) {
	if len(p) == 0 {
		return nil, errors.New("a feedback path is needed, such as /Status/Audio/Microphones/Mute")
	}
	root, rest := p[0], p[1:]
	switch {
	case strings.EqualFold(root, "Status"):
		c, err := control.StatusPrefix(rest)
		return append(control.Path{"Status"}, c...), err
	case strings.EqualFold(root, "Configuration"):
		c, err := control.ConfigPrefix(rest)
		return append(control.Path{"Configuration"}, c...), err
	case strings.EqualFold(root, "Event"):
		switch len(rest) {
		case 0:
			return control.Path{"Event"}, nil
		case 1:
			if e, ok := control.Event(rest[0]); ok {
				return control.Path{"Event", e.Name}, nil
			}
		}
		return nil, fmt.Errorf("%w: no event %q; send xDocument Schema for the list", control.ErrUnknownPath, rest.String())
	}
	return nil, fmt.Errorf("%w: feedback paths start with /Status, /Configuration or /Event, not /%s", control.ErrUnknownPath, root)
}

// feed pushes the changes the session registered for, until the
// subscription ends. After a resync (the session fell behind) it pushes what
// differs from the last tree it had.
func (ss *session) feed(batches <-chan feedback.Batch) {
	var status, config []control.Leaf
	started := false
	for b := range batches {
		sc, cc := b.StatusChanges, b.ConfigChanges
		switch {
		case !started:
			sc, cc, started = nil, nil, true
		case b.Resync:
			sc, cc = control.Diff(status, b.Status), control.Diff(config, b.Config)
		}
		status, config = b.Status, b.Config
		if len(sc)+len(cc)+len(b.Events) > 0 {
			ss.mu.Lock()
			ss.push(sc, cc, b.Events)
			ss.mu.Unlock()
		}
		ss.handledSeq.Store(b.Seq)
		select {
		case ss.handledNew <- struct{}{}:
		default:
		}
	}
}

// catchUp waits until the feed goroutine has handled the hub's batch that
// carries the room's current state, so that what a session registered
// before a request decides which earlier changes are pushed, and those
// pushes come before the reply. The wait is bounded by catchUpLimit.
func (ss *session) catchUp() {
	ctx, cancel := context.WithTimeout(ss.sessCtx, catchUpLimit)
	defer cancel()
	seq, err := ss.srv.hub.Sync(ctx)
	if err != nil {
		return
	}
	for ss.handledSeq.Load() < seq {
		select {
		case <-ss.handledNew:
		case <-ctx.Done():
			return
		}
	}
}

// push writes the registered part of one update: status, configuration,
// then each event, each block ending with ** end.
func (ss *session) push(sc, cc []control.Change, events []room.Event) {
	if len(ss.feeds) == 0 {
		return
	}
	wants := func(root string, p control.Path) bool {
		for _, f := range ss.feeds {
			if f[0] == root && p.HasPrefix(f[1:]) {
				return true
			}
		}
		return false
	}
	var st []control.Change
	for _, c := range sc {
		if wants("Status", c.Path) {
			st = append(st, c)
		}
	}
	if len(st) > 0 {
		ss.writeReply(&reply{status: st, push: true})
	}
	var cf []control.Leaf
	for _, c := range cc {
		if wants("Configuration", c.Path) && !c.Gone {
			cf = append(cf, c.Leaf)
		}
	}
	if len(cf) > 0 {
		ss.writeReply(&reply{config: cf, push: true})
	}
	for _, e := range events {
		spec, ok := control.Event(e.Name)
		if !ok { // not in this schema version: integrators never see unversioned output
			continue
		}
		if wants("Event", control.Path{spec.Name}) {
			ss.writeReply(&reply{events: []room.Event{{Name: spec.Name, Fields: e.Fields}}, push: true})
		}
	}
}

// writeReply renders r in the session's mode; ss.mu must be held.
func (ss *session) writeReply(r *reply) {
	switch {
	case ss.json && ss.cisco:
		if b := r.ciscoJSON(); b != nil { // nil: an untagged reply with nothing to say
			ss.write(append(b, '\n'))
		}
	case ss.json:
		ss.write(append(r.jsonLine(), '\r', '\n'))
	default:
		ss.write([]byte(strings.Join(r.terminal(), ss.eol()) + ss.eol()))
	}
}

// eol is the session's line ending: CR LF, or LF in Cisco's dialect.
func (ss *session) eol() string {
	if ss.cisco {
		return "\n"
	}
	return "\r\n"
}

// write sends b; the first failure ends the session. ss.mu must be held,
// except before the feed goroutine starts.
func (ss *session) write(b []byte) {
	if ss.werr != nil {
		return
	}
	if _, err := ss.rw.Write(b); err != nil {
		ss.werr = err
		ss.cancel()
	}
}
