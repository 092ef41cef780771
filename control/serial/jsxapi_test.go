package serial_test

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"testing"

	"github.com/roomd/roomd/control/serial"
	"github.com/roomd/roomd/hal"
	"github.com/roomd/roomd/hal/sim"
	"github.com/roomd/roomd/internal/jsxapitest"
	"github.com/roomd/roomd/room"
)

// TestJSXAPIOverSocket: Cisco's jsxapi, as an integrator runs it, on the
// control socket.
func TestJSXAPIOverSocket(t *testing.T) {
	r := startRoom(t, nil)
	srv := newServer(t, r, serial.Options{})
	path := listen(t, srv)
	c := jsxapitest.Start(t)
	c.Value(map[string]any{"op": "connect", "socket": path})
	jsxapitest.Exercise(t, c, r)
}

// TestJSXAPIServeCisco: a session served with ServeCisco (as an SSH
// server would) greets jsxapi by itself; the client writes nothing first.
func TestJSXAPIServeCisco(t *testing.T) {
	r := startRoom(t, nil)
	srv := newServer(t, r, serial.Options{})
	path := filepath.Join(t.TempDir(), "cisco.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() {
		conn, err := ln.Accept()
		ln.Close()
		if err != nil {
			served <- err
			return
		}
		served <- srv.ServeCisco(ctx, conn, room.Source{Kind: room.FromSocket, ID: "cisco-test"})
	}()
	t.Cleanup(func() {
		cancel()
		ln.Close()
		if err := <-served; err != nil && !errors.Is(err, net.ErrClosed) {
			t.Errorf("ServeCisco: %v", err)
		}
	})
	c := jsxapitest.Start(t)
	c.Value(map[string]any{"op": "connect", "socket": path, "greeted": true})
	jsxapitest.Exercise(t, c, r)
}

// TestJSXAPIOverConsolePty: the same on the simulated board's console, a
// pseudo-terminal opened by path, with the console's PIN login.
func TestJSXAPIOverConsolePty(t *testing.T) {
	jsxapiOverConsolePty(t, serial.DialectRoomd)
}

// TestJSXAPIOverConsolePtyCiscoDefault: with the console configured for
// Cisco's dialect (console.dialect = "cisco"), jsxapi runs as an
// integrator's unchanged Cisco driver would: the PIN, then nothing of its
// own; the greeting after the PIN ends in OK.
func TestJSXAPIOverConsolePtyCiscoDefault(t *testing.T) {
	jsxapiOverConsolePty(t, serial.DialectCisco)
}

func jsxapiOverConsolePty(t *testing.T, d serial.Dialect) {
	desc, err := hal.Profile("sim")
	if err != nil {
		t.Fatal(err)
	}
	b, err := sim.New(desc, &sim.Options{RunDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	line := b.Hardware().Serial[hal.RoleConsole]
	if line == nil {
		t.Fatalf("the simulated board has no console: %+v", b.Hardware().Report)
	}
	r := startRoom(t, nil)
	srv := newServer(t, r, serial.Options{RequireLogin: true, PINHash: pinHash(t, "4711"), LineDialect: d})
	serveLine(t, srv, line)
	c := jsxapitest.Start(t)
	c.Value(map[string]any{"op": "connect", "tty": b.SerialPath(hal.RoleConsole), "pin": "4711", "greeted": d == serial.DialectCisco})
	jsxapitest.Exercise(t, c, r)
}

func TestParseDialect(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want serial.Dialect
		ok   bool
	}{{"roomd", serial.DialectRoomd, true}, {"Cisco", serial.DialectCisco, true}, {"cisco", serial.DialectCisco, true}, {"zoom", serial.DialectRoomd, false}, {"", serial.DialectRoomd, false}} {
		got, err := serial.ParseDialect(tc.in)
		if got != tc.want || (err == nil) != tc.ok {
			t.Errorf("ParseDialect(%q) = %v, %v; want %v, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
		if err == nil && !strings.EqualFold(got.String(), tc.in) {
			t.Errorf("%v.String() = %q, want %q", got, got.String(), tc.in)
		}
	}
}
