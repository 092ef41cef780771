package serial_test

import (
	"bufio"
	"context"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roomd/roomd/control"
	"github.com/roomd/roomd/control/feedback"
	"github.com/roomd/roomd/control/serial"
	"github.com/roomd/roomd/room"
)

// watchCounter counts the room's watches; stuck makes every watch stop
// after its first update, as a hub that stopped working would.
type watchCounter struct {
	*room.Room
	watches atomic.Int32
	stuck   bool
}

func (w *watchCounter) Watch(ctx context.Context) <-chan room.Update {
	w.watches.Add(1)
	in := w.Room.Watch(ctx)
	if !w.stuck {
		return in
	}
	out := make(chan room.Update)
	go func() {
		defer close(out)
		select {
		case out <- <-in:
		case <-ctx.Done():
			return
		}
		<-ctx.Done()
	}()
	return out
}

// readUntil reads lines until one equals want.
func readUntil(t *testing.T, r *bufio.Reader, want string) {
	t.Helper()
	for {
		l, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("waiting for %q: %v", want, err)
		}
		if strings.TrimRight(l, "\r\n") == want {
			return
		}
	}
}

// Every session of every server given the same hub is fed from one watch
// of the room.
func TestSessionsShareOneHub(t *testing.T) {
	r := &watchCounter{Room: startRoom(t, nil)}
	hub := feedback.New(r, feedback.Options{System: control.System{SoftwareVersion: testVersion}})
	paths := []string{
		listen(t, newServer(t, r, serial.Options{Feedback: hub})),
		listen(t, newServer(t, r, serial.Options{Feedback: hub})),
	}
	var readers []*bufio.Reader
	for i := range 4 {
		c := dialRaw(t, paths[i%2])
		c.SetReadDeadline(time.Now().Add(waitOutput))
		br := bufio.NewReader(c)
		io.WriteString(c, "xFeedback Register /Status/Audio/Volume\r\n")
		readUntil(t, br, "OK")
		readers = append(readers, br)
	}
	if err := r.Do(context.Background(), room.Command{From: room.Source{Kind: room.FromButton}, Do: room.SetVolume{Level: 64}}); err != nil {
		t.Fatal(err)
	}
	for _, br := range readers {
		readUntil(t, br, "*s Audio Volume: 64")
	}
	if n := r.watches.Load(); n != 1 {
		t.Errorf("the room was watched %d times for four sessions on two servers, want once", n)
	}
}

// A hub that stops delivering slows a request down by the catch-up bound at
// most; the reply still says how the room is.
func TestStuckFeedbackDoesNotHangConsole(t *testing.T) {
	r := &watchCounter{Room: startRoom(t, nil), stuck: true}
	c := dialRaw(t, listen(t, newServer(t, r, serial.Options{})))
	c.SetReadDeadline(time.Now().Add(waitOutput))
	br := bufio.NewReader(c)
	io.WriteString(c, "xStatus Audio Volume\r\n")
	readUntil(t, br, "OK")
	if err := r.Do(context.Background(), room.Command{From: room.Source{Kind: room.FromButton}, Do: room.SetVolume{Level: 20}}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	io.WriteString(c, "xStatus Audio Volume\r\n")
	readUntil(t, br, "*s Audio Volume: 20")
	readUntil(t, br, "OK")
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("a request behind a stuck hub took %s", d)
	}
}
