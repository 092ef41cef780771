package serial_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roomd/roomd/control"
	"github.com/roomd/roomd/control/consoleclient"
	"github.com/roomd/roomd/control/serial"
	"github.com/roomd/roomd/room"
)

func newServer(t *testing.T, r serial.Room, o serial.Options) *serial.Server {
	t.Helper()
	if o.SoftwareVersion == "" {
		o.SoftwareVersion = testVersion
	}
	srv, err := serial.NewServer(r, o)
	if err != nil {
		t.Fatal(err)
	}
	return srv
}

// lineReader reads CRLF-terminated lines from a stream.
type lineReader struct {
	t *testing.T
	s *stream
}

// next returns the next line without its CRLF.
func (lr lineReader) next() string {
	lr.t.Helper()
	var line []byte
	for {
		b, err := lr.s.take(1, waitOutput)
		if err != nil {
			lr.t.Fatalf("reading a line (so far %q): %v", line, err)
		}
		line = append(line, b...)
		if bytes.HasSuffix(line, []byte("\r\n")) {
			return string(line[:len(line)-2])
		}
	}
}

// expectLines reads len(want) lines and compares them.
func (lr lineReader) expectLines(want ...string) {
	lr.t.Helper()
	for _, w := range want {
		if got := lr.next(); got != w {
			lr.t.Fatalf("got line %q, want %q", got, w)
		}
	}
}

func send(t *testing.T, w io.Writer, s string) {
	t.Helper()
	if _, err := io.WriteString(w, s); err != nil {
		t.Fatal(err)
	}
}

// TestJSONModeOneObjectPerLine: in JSON mode every reply and every push is
// exactly one JSON object on its own line, over a real pseudo-terminal.
func TestJSONModeOneObjectPerLine(t *testing.T) {
	r := startRoom(t, nil)
	line, master := ptyLine(t)
	serveLine(t, newServer(t, r, serial.Options{}), line)
	lr := lineReader{t, newStream(master)}

	send(t, master, "echo off\r")
	lr.expectLines("echo off", "** end", "OK")
	requests := []string{
		`xPreferences OutputMode JSON`,
		`xStatus |resultId="all"`,
		`xConfiguration`,
		`xFeedback Register /Status/Audio`,
		`xFeedback Register /Event`,
		`xFeedback Register /Configuration`,
		`xCommand Audio Volume Set Level: 20`,
		`xCommand Audio Microphones Unmute`,
		`xCommand Call Join Uri: "https://meet.example/x y" Title: "Tab\there"`,
		`xCommand Call Join Uri: https://meet.example/z`,
		`xConfiguration SystemUnit Name: "Room \"7\" <East> & more"`,
		`xCommand Nope`,
		`xStatus Nope |resultId="n"`,
		`xDocument Schema`,
		`xFeedback List`,
	}
	for _, q := range requests {
		send(t, master, q+"\r")
	}
	replies, pushes := 0, 0
	var results, pushLines []string
	pressed := false
	for replies < len(requests) || pushes < 5 {
		if replies == len(requests) && !pressed {
			// A change from another source, once the session's own
			// requests are answered, arrives as a push.
			if err := r.Do(context.Background(), room.Command{From: room.Source{Kind: room.FromButton}, Do: room.SetMicMute{Mute: true}}); err != nil {
				t.Fatal(err)
			}
			pressed = true
		}
		l := lr.next()
		var obj map[string]json.RawMessage
		if err := json.Unmarshal([]byte(l), &obj); err != nil {
			t.Fatalf("line %q is not one JSON object: %v", l, err)
		}
		if res, ok := obj["Result"]; ok {
			replies++
			results = append(results, string(res))
			continue
		}
		pushes++
		pushLines = append(pushLines, l)
		if _, ok := obj["Status"]; !ok {
			if _, ok := obj["Event"]; !ok {
				if _, ok := obj["Configuration"]; !ok {
					t.Errorf("push %s has neither Status, Event nor Configuration", l)
				}
			}
		}
	}
	// Pushes: the volume, CallJoining, CommandRefused (second join), the
	// name and the button's mute; the unmute changed nothing.
	if pushes != 5 {
		t.Errorf("%d pushes, want 5: %q", pushes, pushLines)
	}
	if extra := lr.s.drain(100 * time.Millisecond); len(extra) > 0 {
		t.Errorf("unexpected output %q", extra)
	}
	want := `"OK" "OK" "OK" "OK" "OK" "OK" "OK" "OK" "OK" "Error" "OK" "Error" "Error" "OK" "OK"`
	if got := strings.Join(results, " "); got != want {
		t.Errorf("results %s\nwant    %s", got, want)
	}
}

// TestSchemaExport: xDocument Schema in JSON mode is control.Export().
func TestSchemaExport(t *testing.T) {
	r := startRoom(t, nil)
	c, err := consoleclient.Dial(listen(t, newServer(t, r, serial.Options{})))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	if _, err := c.Exec(ctx, "xPreferences OutputMode JSON"); err != nil {
		t.Fatal(err)
	}
	lines, err := c.Exec(ctx, "xDocument Schema")
	if err != nil || len(lines) != 1 {
		t.Fatalf("xDocument Schema = %q, %v", lines, err)
	}
	var got struct {
		Schema control.Document
		Result string
	}
	if err := json.Unmarshal([]byte(lines[0]), &got); err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(control.Export())
	have, _ := json.Marshal(got.Schema)
	if !bytes.Equal(have, want) || got.Result != "OK" || got.Schema.SchemaVersion != control.SchemaVersion {
		t.Errorf("schema export:\n got %s\nwant %s", have, want)
	}
}

// TestLineLength: a line of exactly the limit is served; a longer one is
// refused as a whole and the session goes on.
func TestLineLength(t *testing.T) {
	r := startRoom(t, nil)
	line, master := ptyLine(t)
	serveLine(t, newServer(t, r, serial.Options{MaxLineLength: 200}), line)
	lr := lineReader{t, newStream(master)}
	send(t, master, "echo off\r")
	lr.expectLines("echo off", "** end", "OK")

	exact := "xCommand Audio Volume Set Level: 10" + strings.Repeat(" ", 200-len("xCommand Audio Volume Set Level: 10"))
	send(t, master, exact+"\r")
	lr.expectLines("*r VolumeSetResult (status=OK):", "** end", "OK")

	send(t, master, "xCommand Audio Volume Set Level: 90"+strings.Repeat(" ", 200)+"\r")
	lr.expectLines("** end", "ERROR: the line is longer than 200 bytes; nothing was done")
	send(t, master, "xStatus Audio Volume\r")
	lr.expectLines("*s Audio Volume: 10", "** end", "OK")

	// The default limit is 4096 bytes.
	line2, master2 := ptyLine(t)
	serveLine(t, newServer(t, r, serial.Options{}), line2)
	lr2 := lineReader{t, newStream(master2)}
	send(t, master2, "echo off\rxStatus Audio Volume"+strings.Repeat(" ", 4096)+"\r")
	lr2.expectLines("echo off", "** end", "OK", "** end", "ERROR: the line is longer than 4096 bytes; nothing was done")
}

// TestPINNeverShownOrLogged: neither the right PIN nor wrong ones appear in
// the output or the log.
func TestPINNeverShownOrLogged(t *testing.T) {
	const pin, wrong = "739184", "555123"
	var logs logBuffer
	r := startRoom(t, nil)
	line, master := ptyLine(t)
	srv := newServer(t, r, serial.Options{RequireLogin: true, PINHash: pinHash(t, pin), Logger: logs.logger()})
	serveLine(t, srv, line)
	out := newStream(master)
	lr := lineReader{t, out}

	var all bytes.Buffer
	take := func(n int) {
		b, err := out.take(n, waitOutput)
		if err != nil {
			t.Fatal(err)
		}
		all.Write(b)
	}
	take(len("PIN: "))
	send(t, master, wrong+"\r")
	take(len("\r\n** end\r\nERROR: wrong PIN\r\nPIN: "))
	send(t, master, pin+"9\x7f\r") // typed with a correction
	for _, want := range []string{"", "*r Login successful", "** end", "OK"} {
		l := lr.next()
		all.WriteString(l + "\r\n")
		if l != want {
			t.Fatalf("got %q, want %q", l, want)
		}
	}
	send(t, master, "xStatus SystemUnit Name\r")
	for range 4 {
		all.WriteString(lr.next() + "\r\n")
	}
	for _, secret := range []string{pin, wrong} {
		if strings.Contains(all.String(), secret) {
			t.Errorf("output shows the PIN %s:\n%s", secret, all.String())
		}
		if strings.Contains(logs.String(), secret) {
			t.Errorf("log shows the PIN %s:\n%s", secret, logs.String())
		}
	}
	if !strings.Contains(logs.String(), "wrong PIN") || !strings.Contains(logs.String(), "serial: login") {
		t.Errorf("log lacks the login events:\n%s", logs.String())
	}
}

// TestLockoutSharedAcrossSessions: wrong PINs on one port lock every port.
func TestLockoutSharedAcrossSessions(t *testing.T) {
	const pin = "2580"
	r := startRoom(t, nil)
	clock := newClock()
	srv := newServer(t, r, serial.Options{RequireLogin: true, PINHash: pinHash(t, pin), Now: clock.Now})
	lineA, masterA := ptyLine(t)
	lineB, masterB := ptyLine(t)
	serveLine(t, srv, lineA)
	serveLine(t, srv, lineB)
	a, b := newStream(masterA), newStream(masterB)
	prompt := func(s *stream) {
		t.Helper()
		if got, err := s.take(5, waitOutput); string(got) != "PIN: " {
			t.Fatalf("prompt %q, %v", got, err)
		}
	}
	prompt(a)
	prompt(b)
	for i := 1; i <= 5; i++ {
		send(t, masterA, fmt.Sprintf("%04d\r", i))
		want := "wrong PIN"
		if i == 5 {
			want = "wrong PIN; the console is locked for 30s after 5 wrong PINs"
		}
		lineReader{t, a}.expectLines("", "** end", "ERROR: "+want)
		prompt(a)
	}
	clock.Advance(5 * time.Second)
	send(t, masterB, pin+"\r")
	lineReader{t, b}.expectLines("", "** end", "ERROR: the console is locked after too many wrong PINs; try again in 25s")
	prompt(b)
	clock.Advance(25 * time.Second)
	send(t, masterB, pin+"\r")
	lineReader{t, b}.expectLines("", "*r Login successful", "** end", "OK")
	// Success reset the count for everyone.
	send(t, masterA, "0000\r")
	lineReader{t, a}.expectLines("", "** end", "ERROR: wrong PIN")
}

// TestLockoutParallel: many sessions guessing at once get no more than
// five tries between them.
func TestLockoutParallel(t *testing.T) {
	r := startRoom(t, nil)
	srv := newServer(t, r, serial.Options{RequireLogin: true, PINHash: pinHash(t, "1357"), Now: newClock().Now})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	const n = 12
	var streams []*stream
	var conns []net.Conn
	for i := range n {
		server, client := net.Pipe()
		wg.Add(1)
		go func() {
			defer wg.Done()
			srv.Serve(ctx, server, room.Source{Kind: room.FromSerial, ID: fmt.Sprintf("pipe%d", i)})
		}()
		s := newStream(client)
		if got, err := s.take(5, waitOutput); string(got) != "PIN: " {
			t.Fatalf("prompt %q, %v", got, err)
		}
		streams, conns = append(streams, s), append(conns, client)
	}
	for _, c := range conns {
		go io.WriteString(c, "9999\r")
	}
	wrong, locked := 0, 0
	for _, s := range streams {
		lr := lineReader{t, s}
		lr.expectLines("", "** end") // pipe sessions are serial: they echo the line end
		switch l := lr.next(); {
		case strings.HasPrefix(l, "ERROR: wrong PIN"):
			wrong++
		case strings.HasPrefix(l, "ERROR: the console is locked"):
			locked++
		default:
			t.Errorf("unexpected %q", l)
		}
	}
	if wrong != 5 || locked != n-5 {
		t.Errorf("%d sessions were told wrong PIN and %d locked; want 5 and %d", wrong, locked, n-5)
	}
}

// TestManySessionsOverSocket: sessions come and go, in parallel, without
// affecting each other or the call.
func TestManySessionsOverSocket(t *testing.T) {
	r := startRoom(t, nil)
	path := listen(t, newServer(t, r, serial.Options{}))
	ctx := context.Background()

	watcher, err := consoleclient.Dial(path)
	if err != nil {
		t.Fatal(err)
	}
	defer watcher.Close()
	if _, err := watcher.Exec(ctx, "xCommand Call Join Uri: https://meet.example/standup"); err != nil {
		t.Fatal(err)
	}
	seq := r.Snapshot().CallSeq

	// A raw session registered for feedback sees every volume change.
	feed := dialRaw(t, path)
	fr := bufio.NewReader(feed)
	io.WriteString(feed, "xFeedback Register /Status/Audio/Volume\r\n")
	for _, want := range []string{"** end", "OK"} {
		if l, _ := fr.ReadString('\n'); strings.TrimSpace(l) != want {
			t.Fatalf("register: %q", l)
		}
	}

	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i%4 == 0 {
				// Some leave abruptly in the middle of a request.
				raw, err := net.Dial("unix", path)
				if err != nil {
					errs <- err
					return
				}
				io.WriteString(raw, "echo off\r\nxStatus")
				raw.Close()
				return
			}
			c, err := consoleclient.Dial(path)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			level := fmt.Sprint(10 + i)
			lines, err := c.Exec(ctx, "xCommand Audio Volume Set Level: "+level+` |resultId="s`+level+`"`)
			if err != nil || strings.Join(lines, "|") != `*r VolumeSetResult (status=OK):|** resultId: "s`+level+`"|** end|OK` {
				errs <- fmt.Errorf("session %d: %q, %v", i, lines, err)
				return
			}
			lines, err = c.Exec(ctx, "xStatus Call State")
			if err != nil || lines[0] != "*s Call State: Joining" {
				errs <- fmt.Errorf("session %d: %q, %v", i, lines, err)
			}
			if i%3 == 0 {
				c.Exec(ctx, "bye")
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// Fifteen sessions set the volume; each change was pushed once.
	feed.SetReadDeadline(time.Now().Add(waitOutput))
	changes := 0
	for changes < 15 {
		l, err := fr.ReadString('\n')
		if err != nil {
			t.Fatalf("after %d changes: %v", changes, err)
		}
		if strings.HasPrefix(l, "*s Audio Volume: ") {
			changes++
		}
	}
	if s := r.Snapshot(); s.Call != room.Joining || s.CallSeq != seq {
		t.Errorf("sessions coming and going changed the call: %v seq %d (was %d)", s.Call, s.CallSeq, seq)
	}
	if lines, err := watcher.Exec(ctx, "xStatus Call MeetingId"); err != nil || lines[0] != `*s Call MeetingId: "https://meet.example/standup"` {
		t.Errorf("first session after the others: %q, %v", lines, err)
	}
}

func TestMaxSessions(t *testing.T) {
	r := startRoom(t, nil)
	path := listen(t, newServer(t, r, serial.Options{MaxSessions: 1}))
	first, err := consoleclient.Dial(path)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	second := dialRaw(t, path)
	b, _ := io.ReadAll(second)
	if string(b) != "** end\r\nERROR: too many control sessions are open (1); close one and try again\r\n" {
		t.Errorf("second session got %q", b)
	}
	if _, err := first.Exec(context.Background(), "xStatus Audio Volume"); err != nil {
		t.Errorf("first session: %v", err)
	}
}

func TestListenUnixSocketFile(t *testing.T) {
	r := startRoom(t, nil)
	srv := newServer(t, r, serial.Options{})
	dir := t.TempDir()

	// A stale socket (its server died) is replaced.
	stale := filepath.Join(dir, "stale.sock")
	l, err := net.Listen("unix", stale)
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.ListenUnix(ctx, stale) }()
	var c *consoleclient.Client
	for i := 0; c == nil && i < 200; i++ {
		if c, err = consoleclient.Dial(stale); err != nil {
			time.Sleep(10 * time.Millisecond)
		}
	}
	if c == nil {
		t.Fatalf("never served on the stale socket's path: %v", err)
	}
	c.Close()

	// A live one is not taken over.
	if err := srv.ListenUnix(context.Background(), stale); err == nil || !strings.Contains(err.Error(), "another server") {
		t.Errorf("second ListenUnix on a live socket: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("ListenUnix: %v", err)
	}

	// Anything that is not a socket is left alone.
	file := filepath.Join(dir, "file")
	os.WriteFile(file, []byte("keep"), 0o600)
	if err := srv.ListenUnix(context.Background(), file); err == nil {
		t.Error("ListenUnix replaced a regular file")
	}
	if b, _ := os.ReadFile(file); string(b) != "keep" {
		t.Error("the regular file was changed")
	}
}

func TestClient(t *testing.T) {
	r := startRoom(t, nil)
	path := listen(t, newServer(t, r, serial.Options{}))
	ctx := context.Background()
	c, err := consoleclient.Dial(path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	lines, err := c.Exec(ctx, "xStatus Audio Volume")
	if err != nil || strings.Join(lines, "|") != "*s Audio Volume: 50|** end|OK" {
		t.Errorf("Exec = %q, %v", lines, err)
	}
	if _, err := c.Exec(ctx, "xCommand Audio Microphones Mute"); err != nil {
		t.Fatal(err)
	}
	lines, err = c.Exec(ctx, "xCommand Audio Microphones Unmute")
	var re *consoleclient.ReplyError
	if !errors.As(err, &re) || !strings.Contains(re.Reason, "not allowed") || lines[len(lines)-1] != "ERROR: "+re.Reason {
		t.Errorf("refused Exec = %q, %v", lines, err)
	}
	if _, err := c.Exec(ctx, "xStatus\r\nbye"); err == nil {
		t.Error("Exec accepted two lines")
	}

	// Pushes that arrive while waiting are skipped.
	if _, err := c.Exec(ctx, "xFeedback Register /Status"); err != nil {
		t.Fatal(err)
	}
	r.Do(ctx, room.Command{From: room.Source{Kind: room.FromButton}, Do: room.SetVolume{Level: 33}})
	lines, err = c.Exec(ctx, "xStatus Audio Volume")
	if err != nil || strings.Join(lines, "|") != "*s Audio Volume: 33|** end|OK" {
		t.Errorf("Exec after a push = %q, %v", lines, err)
	}

	// JSON mode.
	if lines, err := c.Exec(ctx, "xPreferences OutputMode JSON"); err != nil || lines[0] != `{"Result":"OK"}` {
		t.Fatalf("switch to JSON: %q, %v", lines, err)
	}
	r.Do(ctx, room.Command{From: room.Source{Kind: room.FromButton}, Do: room.SetVolume{Level: 34}})
	lines, err = c.Exec(ctx, "xStatus Audio Volume")
	if err != nil || len(lines) != 1 || lines[0] != `{"Status":{"Audio":{"Volume":"34"}},"Result":"OK"}` {
		t.Errorf("JSON Exec = %q, %v", lines, err)
	}
	if _, err := c.Exec(ctx, "xStatus Nowhere"); !errors.As(err, &re) {
		t.Errorf("JSON error: %v", err)
	}

	// A cancelled request leaves the session unusable, and says so.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := c.Exec(cctx, "xStatus"); err == nil {
		t.Error("Exec with a cancelled context succeeded")
	}
	if _, err := c.Exec(ctx, "xStatus"); err == nil || !strings.Contains(err.Error(), "unusable") {
		t.Errorf("Exec after a cancelled one: %v", err)
	}

	if _, err := consoleclient.Dial(filepath.Join(t.TempDir(), "none.sock")); err == nil {
		t.Error("Dial to nothing succeeded")
	}
}

func TestNewServerChecksPINHash(t *testing.T) {
	r := startRoom(t, nil)
	if _, err := serial.NewServer(r, serial.Options{RequireLogin: true, PINHash: []byte("1234")}); err == nil {
		t.Error("NewServer accepted a PIN hash that is not bcrypt")
	}
	if _, err := serial.NewServer(nil, serial.Options{}); err == nil {
		t.Error("NewServer accepted no room")
	}
}

// TestLoginWithoutPIN: login required but no PIN set keeps the serial port
// locked (every PIN refused, nothing counted) and the socket working.
func TestLoginWithoutPIN(t *testing.T) {
	r := startRoom(t, nil)
	srv := newServer(t, r, serial.Options{RequireLogin: true})
	line, master := ptyLine(t)
	serveLine(t, srv, line)
	lr := lineReader{t, newStream(master)}
	if got, err := lr.s.take(5, waitOutput); string(got) != "PIN: " {
		t.Fatalf("prompt %q, %v", got, err)
	}
	for range 7 {
		send(t, master, "1234\r")
		lr.expectLines("", "** end", "ERROR: no PIN is set on this unit, so nobody can log in here; set one in roomd's configuration")
		if got, err := lr.s.take(5, waitOutput); string(got) != "PIN: " {
			t.Fatalf("prompt %q, %v", got, err)
		}
	}
	c, err := consoleclient.Dial(listen(t, srv))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Exec(context.Background(), "xStatus Audio Volume"); err != nil {
		t.Errorf("socket session: %v", err)
	}
}

// TestServeEndsCleanly: when the daemon stops, every session and every
// goroutine the package started ends.
func TestServeEndsCleanly(t *testing.T) {
	before := runtime.NumGoroutine()
	func() {
		roomCtx, stopRoom := context.WithCancel(context.Background())
		r := room.New(room.Options{})
		roomDone := make(chan struct{})
		go func() { r.Run(roomCtx); close(roomDone) }()
		defer func() { stopRoom(); <-roomDone }()
		<-r.Ready()

		srv := newServer(t, r, serial.Options{})
		ctx, cancel := context.WithCancel(context.Background())
		path := filepath.Join(t.TempDir(), "c.sock")
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { defer wg.Done(); srv.ListenUnix(ctx, path) }()
		line, master := ptyLine(t)
		wg.Add(1)
		go func() { defer wg.Done(); srv.ServeLine(ctx, line) }()
		var c *consoleclient.Client
		var err error
		for i := 0; c == nil && i < 200; i++ {
			if c, err = consoleclient.Dial(path); err != nil {
				time.Sleep(10 * time.Millisecond)
			}
		}
		if c == nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.Exec(context.Background(), "xFeedback Register /Status")
		send(t, master, "xFeedback Register /Status\r")
		out := newStream(master)
		out.take(len("xFeedback Register /Status\r\n** end\r\nOK\r\n"), waitOutput)
		cancel()
		wg.Wait()
		master.Close()
	}()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<16)
		t.Errorf("%d goroutines before, %d after:\n%s", before, n, buf[:runtime.Stack(buf, true)])
	}
}

// TestSetPINHash: the PIN changes while the console runs (the fleet sends
// new PINs); a hash that is not bcrypt is refused and the PIN in force
// stays; no hash or PIN reaches the log.
func TestSetPINHash(t *testing.T) {
	const oldPIN, newPIN = "2468", "97531"
	var logs logBuffer
	r := startRoom(t, nil)
	srv := newServer(t, r, serial.Options{RequireLogin: true, PINHash: pinHash(t, oldPIN), Logger: logs.logger(), Now: newClock().Now})
	login := func(pin, want string) {
		t.Helper()
		line, master := ptyLine(t)
		serveLine(t, srv, line)
		s := newStream(master)
		if got, err := s.take(5, waitOutput); string(got) != "PIN: " {
			t.Fatalf("prompt %q, %v", got, err)
		}
		send(t, master, pin+"\r")
		if want == "ok" {
			lineReader{t, s}.expectLines("", "*r Login successful", "** end", "OK")
		} else {
			lineReader{t, s}.expectLines("", "** end", "ERROR: "+want)
		}
	}
	login(oldPIN, "ok")
	newHash := pinHash(t, newPIN)
	if err := srv.SetPINHash(newHash); err != nil {
		t.Fatal(err)
	}
	login(oldPIN, "wrong PIN")
	login(newPIN, "ok")
	for _, bad := range [][]byte{[]byte("97531"), []byte("$2b$10$short")} {
		if err := srv.SetPINHash(bad); err == nil || !strings.HasPrefix(err.Error(), "serial: ") {
			t.Errorf("SetPINHash(%q) = %v, want a serial: error", bad, err)
		}
	}
	login(newPIN, "ok")
	if err := srv.SetPINHash(nil); err != nil {
		t.Fatal(err)
	}
	login(newPIN, "no PIN is set on this unit, so nobody can log in here; set one in roomd's configuration")
	for _, secret := range []string{oldPIN, newPIN, string(newHash)} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("log shows %q:\n%s", secret, logs.String())
		}
	}
}
