package ptz

import (
	"errors"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/roomd/roomd/hal"
)

// responder is a VISCA camera at address 1 as Sony's manuals describe it:
// a CAM_Memory command is answered by ACK (90 4z FF) and, once done,
// completion (90 5z FF); an unknown command by a syntax error (90 60 02
// FF); while busy, by "command not executable" (90 6z 41 FF). silent
// answers nothing.
type responder struct {
	mu      sync.Mutex
	pos     int         // where the head points
	presets map[int]int // pp -> head position
	busy    bool
	silent  bool
	noAck   bool // completion without an ACK, as some cameras do
	got     [][]byte
}

func (r *responder) run(t *testing.T, m *os.File) {
	buf := make([]byte, 64)
	var pkt []byte
	for {
		n, err := m.Read(buf)
		for _, b := range buf[:n] {
			pkt = append(pkt, b)
			if b == 0xFF {
				if reply := r.answer(pkt); reply != nil {
					if _, err := m.Write(reply); err != nil {
						return
					}
				}
				pkt = nil
			}
		}
		if err != nil {
			return
		}
	}
}

func (r *responder) answer(p []byte) []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, append([]byte(nil), p...))
	if r.silent || p[0] != 0x81 {
		return nil
	}
	if len(p) != 7 || p[1] != 0x01 || p[2] != 0x04 || p[3] != 0x3F || p[4] < 1 || p[4] > 2 || p[5] > 0x7F {
		return []byte{0x90, 0x60, 0x02, 0xFF}
	}
	if r.busy {
		return []byte{0x90, 0x61, 0x41, 0xFF}
	}
	switch p[4] {
	case 0x01:
		r.presets[int(p[5])] = r.pos
	case 0x02:
		r.pos = r.presets[int(p[5])]
	}
	if r.noAck {
		return []byte{0x90, 0x51, 0xFF}
	}
	return []byte{0x90, 0x41, 0xFF, 0x90, 0x51, 0xFF}
}

func (r *responder) set(f func(*responder)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f(r)
}

func (r *responder) head() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pos
}

// viscaOverPTY opens a VISCA camera on the slave side of a real
// pseudo-terminal through go.bug.st/serial, with r on the master side.
func viscaOverPTY(t *testing.T, r *responder, o *VISCAOptions) *VISCA {
	t.Helper()
	m, s, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close(); s.Close() })
	v, err := OpenVISCA(hal.SerialDesc{Role: RoleCamera, Port: s.Name()}, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	go r.run(t, m)
	return v
}

func TestVISCAStoresAndRecallsPresets(t *testing.T) {
	r := &responder{presets: map[int]int{}}
	v := viscaOverPTY(t, r, nil)
	p := NewPresets(v)
	for n, pos := range map[int]int{1: 100, 3: 300} {
		r.set(func(r *responder) { r.pos = pos })
		if err := p.Store(n); err != nil {
			t.Fatalf("store %d: %v", n, err)
		}
	}
	r.set(func(r *responder) { r.pos = 0 })
	if err := p.SetLevel(3); err != nil {
		t.Fatal(err)
	}
	if h := r.head(); h != 300 {
		t.Errorf("head at %d after recalling preset 3, want 300", h)
	}
	if l, _ := p.Level(); l != 3 {
		t.Errorf("level %d, want 3", l)
	}
	if err := p.SetLevel(1); err != nil || r.head() != 100 {
		t.Errorf("recall 1: %v, head at %d", err, r.head())
	}
	// The bytes on the wire are Sony's: 81 01 04 3F 02 pp FF, pp from 0.
	r.mu.Lock()
	last := r.got[len(r.got)-1]
	r.mu.Unlock()
	if want := []byte{0x81, 0x01, 0x04, 0x3F, 0x02, 0x00, 0xFF}; string(last) != string(want) {
		t.Errorf("recall 1 sent % X, want % X", last, want)
	}
	if err := p.SetLevel(0); err == nil || p.SetLevel(MaxVISCAPreset+1) == nil {
		t.Error("a preset out of range was sent")
	}
	// Completion without an ACK is a success too.
	r.set(func(r *responder) { r.noAck = true })
	if err := p.SetLevel(3); err != nil || r.head() != 300 {
		t.Errorf("completion without ACK: %v", err)
	}
}

func TestVISCAErrorsAndTimeouts(t *testing.T) {
	r := &responder{presets: map[int]int{}, busy: true}
	v := viscaOverPTY(t, r, &VISCAOptions{AckTimeout: 200 * time.Millisecond, DoneTimeout: 200 * time.Millisecond})
	if err := v.RecallPreset(2); !errors.Is(err, ErrVISCANotNow) {
		t.Errorf("busy camera: %v", err)
	}
	r.set(func(r *responder) { r.busy = false })
	if err := v.command(0x01, 0x7E, 0x01); !errors.Is(err, ErrVISCASyntax) {
		t.Errorf("unknown command: %v", err)
	}
	r.set(func(r *responder) { r.silent = true })
	start := time.Now()
	if err := v.RecallPreset(2); !errors.Is(err, ErrVISCATimeout) {
		t.Errorf("silent camera: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("timed out after %v", d)
	}
	// The camera answers again: the next command works.
	r.set(func(r *responder) { r.silent = false })
	if err := v.RecallPreset(2); err != nil {
		t.Errorf("after a timeout: %v", err)
	}
	// The line closing ends a command at once with the line's error.
	v.Close()
	if err := v.RecallPreset(2); err == nil {
		t.Error("recall on a closed line succeeded")
	}
}

// pipedVISCA is a VISCA camera over in-memory pipes: the test reads each
// command from cmds and answers by writing to camera.
func pipedVISCA(t *testing.T) (v *VISCA, cmds <-chan []byte, camera io.Writer) {
	t.Helper()
	a, b := io.Pipe()
	c, d := io.Pipe()
	v = NewVISCA(struct {
		io.Reader
		io.WriteCloser
	}{a, d}, &VISCAOptions{AckTimeout: time.Second, DoneTimeout: 50 * time.Millisecond})
	t.Cleanup(func() { v.Close(); b.Close(); c.Close() })
	ch := make(chan []byte)
	go func() {
		defer close(ch)
		buf := make([]byte, 16)
		for {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			ch <- append([]byte(nil), buf[:n]...)
		}
	}()
	return v, ch, b
}

// ACK then nothing: the completion timeout, not the ACK one.
func TestVISCACompletionTimeout(t *testing.T) {
	v, cmds, camera := pipedVISCA(t)
	errs := make(chan error)
	go func() { errs <- v.RecallPreset(1) }()
	<-cmds
	camera.Write([]byte{0x90, 0x42, 0xFF})
	if err := <-errs; !errors.Is(err, ErrVISCATimeout) || !strings.Contains(err.Error(), "never completed") {
		t.Errorf("err %v", err)
	}
}

// The completion of a command that timed out, arriving late, is not taken
// for the next command's.
func TestVISCALateCompletionIsNotTheNextCommands(t *testing.T) {
	v, cmds, b := pipedVISCA(t)
	errs := make(chan error)
	go func() { errs <- v.RecallPreset(1) }()
	<-cmds
	b.Write([]byte{0x90, 0x41, 0xFF}) // ACK on socket 1, then nothing in time
	if err := <-errs; !errors.Is(err, ErrVISCATimeout) {
		t.Fatalf("first recall: %v", err)
	}
	go func() { errs <- v.RecallPreset(2) }()
	<-cmds
	b.Write([]byte{0x90, 0x51, 0xFF}) // the first command's late completion
	select {
	case err := <-errs:
		t.Fatalf("the late completion ended the second recall: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	b.Write([]byte{0x90, 0x42, 0xFF, 0x90, 0x52, 0xFF}) // the second's ACK and completion
	if err := <-errs; err != nil {
		t.Fatalf("second recall: %v", err)
	}
}

// A room without a camera that moves refuses, naming why.
func TestPresetsWithoutCamera(t *testing.T) {
	p := NewPresets(nil)
	if err := p.SetLevel(1); !errors.Is(err, ErrNoCamera) {
		t.Errorf("err %v", err)
	}
	if _, _, st := Load("", ""); st.State != hal.Skipped {
		t.Errorf("no camera described: %+v", st)
	}
	if _, _, st := Load("visca:/dev/ttyNOPE", ""); st.State != hal.Failed {
		t.Errorf("missing port: %+v", st)
	}
	if _, _, st := Load("onvif:cam", ""); st.State != hal.Failed {
		t.Errorf("unknown kind: %+v", st)
	}
}
