package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"github.com/roomd/roomd/control/consoleclient"
	"github.com/roomd/roomd/internal/janustest"
)

var soakLong = flag.Bool("long", false, "run TestSoakSurfaces for 10 minutes instead of 60 s")

// soakWarmup is how many cycles run before the band is taken.
const soakWarmup = 3

var remotePanelURL = regexp.MustCompile(`msg="roomd: touch panel" access=remote url=http://(127\.0\.0\.1:\d+)/`)

// procSample is what a leak would grow in roomd, read from outside it.
type procSample struct {
	fds, goroutines, threads int
	pssKiB, heapLiveKiB      int
}

func (s procSample) String() string {
	return fmt.Sprintf("fds %d, goroutines %d, threads %d, PSS %d KiB, live heap %d KiB", s.fds, s.goroutines, s.threads, s.pssKiB, s.heapLiveKiB)
}

// sampleProc reads roomd's descriptors, threads and PSS from /proc and its
// goroutines from the debug endpoint.
func sampleProc(t *testing.T, pid int, debug string) procSample {
	t.Helper()
	var s procSample
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatalf("roomd's descriptors: %v", err)
	}
	s.fds = len(fds)
	field := func(file, name string) int {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/%s", pid, file))
		if err != nil {
			t.Fatalf("roomd's %s: %v", file, err)
		}
		for l := range strings.Lines(string(b)) {
			if rest, ok := strings.CutPrefix(l, name+":"); ok {
				v, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
				if err != nil {
					t.Fatalf("roomd's %s: %s: %q", file, name, rest)
				}
				return v
			}
		}
		t.Fatalf("roomd's %s has no %s", file, name)
		return 0
	}
	s.threads = field("status", "Threads")
	s.pssKiB = field("smaps_rollup", "Pss")
	resp, err := http.Get(debug + "/runtime")
	if err != nil {
		t.Fatalf("roomd's goroutines: %v", err)
	}
	defer resp.Body.Close()
	var rt struct {
		Goroutines    int
		HeapLiveBytes int `json:"heap_live_bytes"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&rt); err != nil || rt.Goroutines == 0 {
		t.Fatalf("roomd's goroutines: %v (%s)", err, resp.Status)
	}
	s.goroutines, s.heapLiveKiB = rt.Goroutines, rt.HeapLiveBytes>>10
	return s
}

// within says whether s is in the band around base: descriptors and
// goroutines back to within a few of it, the live heap within half again
// plus 4 MiB, and PSS within half again plus 16 MiB (neither the Go heap
// nor the C allocator under the codecs hands memory back at once, so PSS
// creeps for a few minutes while the live heap stays flat).
func (s procSample) within(base procSample) bool {
	return s.fds <= base.fds+8 && s.goroutines <= base.goroutines+20 &&
		s.heapLiveKiB <= base.heapLiveKiB+base.heapLiveKiB/2+4<<10 &&
		s.pssKiB <= base.pssKiB+base.pssKiB/2+16<<10
}

// slope is the least-squares slope of ys against xs.
func slope(xs, ys []float64) float64 {
	n := float64(len(xs))
	var sx, sy, sxx, sxy float64
	for i := range xs {
		sx, sy, sxx, sxy = sx+xs[i], sy+ys[i], sxx+xs[i]*xs[i], sxy+xs[i]*ys[i]
	}
	d := n*sxx - sx*sx
	if d == 0 {
		return math.NaN()
	}
	return (n*sxy - sx*sy) / d
}

// panelWS is a WebSocket session on the touch panel.
type panelWS struct {
	c    *websocket.Conn
	next int
}

func dialPanel(ctx context.Context, base string, cookie string) (*panelWS, error) {
	h := http.Header{"Origin": {"http://" + base}}
	if cookie != "" {
		h.Set("Cookie", cookie)
	}
	c, _, err := websocket.Dial(ctx, "ws://"+base+"/api/ws", &websocket.DialOptions{HTTPHeader: h})
	if err != nil {
		return nil, fmt.Errorf("panel WebSocket on %s: %w", base, err)
	}
	c.SetReadLimit(1 << 20)
	return &panelWS{c: c}, nil
}

// command sends a command and reads until its result, skipping status
// and events.
func (p *panelWS) command(ctx context.Context, cmd string, args map[string]any) error {
	p.next++
	id := strconv.Itoa(p.next)
	if err := wsjson.Write(ctx, p.c, map[string]any{"type": "command", "id": id, "command": cmd, "args": args}); err != nil {
		return err
	}
	for {
		var m struct {
			Type, ID, Error string
			OK              bool
		}
		if err := wsjson.Read(ctx, p.c, &m); err != nil {
			return fmt.Errorf("%s: %w", cmd, err)
		}
		if m.Type == "result" && m.ID == id {
			if !m.OK {
				return fmt.Errorf("%s: %s", cmd, m.Error)
			}
			return nil
		}
	}
}

// waitMessage reads until a message of type typ and returns it.
func (p *panelWS) waitMessage(ctx context.Context, typ string) (map[string]any, error) {
	for {
		var m map[string]any
		if err := wsjson.Read(ctx, p.c, &m); err != nil {
			return nil, err
		}
		if m["type"] == typ {
			return m, nil
		}
	}
}

// panelHTTP is a JSON call on the panel API as its page makes it.
func panelHTTP(ctx context.Context, hc *http.Client, base, method, path, csrf string, body any, reply any) error {
	var rd *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://"+base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Origin", "http://"+base)
	req.Header.Set("Content-Type", "application/json")
	if csrf != "" {
		req.Header.Set("X-CSRF-Token", csrf)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var e struct{ Error string }
		json.NewDecoder(resp.Body).Decode(&e)
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, e.Error)
	}
	if reply != nil {
		return json.NewDecoder(resp.Body).Decode(reply)
	}
	return nil
}

// pairTablet pairs a tablet on the remote panel with the code the kiosk
// panel (kws) shows, and returns its cookie.
func pairTablet(ctx context.Context, t *testing.T, kws *panelWS, remote string) string {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	defer hc.CloseIdleConnections()
	var sess struct{ CSRF string }
	if err := panelHTTP(ctx, hc, remote, "GET", "/api/session", "", nil, &sess); err != nil {
		t.Fatal(err)
	}
	if err := panelHTTP(ctx, hc, remote, "POST", "/api/pair/request", sess.CSRF, map[string]any{}, nil); err != nil {
		t.Fatal(err)
	}
	m, err := kws.waitMessage(ctx, "pairing")
	if err != nil {
		t.Fatalf("no pairing code on the kiosk panel: %v", err)
	}
	code, _ := m["code"].(string)
	if err := panelHTTP(ctx, hc, remote, "POST", "/api/pair", sess.CSRF, map[string]any{"code": code, "name": "Soak tablet"}, nil); err != nil {
		t.Fatal(err)
	}
	for _, c := range jar.Cookies(&url.URL{Scheme: "http", Host: remote, Path: "/"}) {
		return c.Name + "=" + c.Value
	}
	t.Fatal("pairing set no cookie")
	return ""
}

// TestSoakSurfaces drives the real daemon on the simulated board with mixed
// traffic on every surface (kiosk and tablet WebSockets, panel HTTP, control
// socket sessions, the serial console, the debug endpoint) while it joins
// and leaves a real Janus room, cycle after cycle, for 60 s (10 minutes with
// -long). After each cycle roomd's descriptors, goroutines, live heap and
// PSS must come back to the band they had after the warm-up cycles (see
// procSample.within); the slopes are logged for docs/benchmarks.md.
func TestSoakSurfaces(t *testing.T) {
	dur := 60 * time.Second
	if *soakLong {
		dur = 10 * time.Minute
	}
	j := janustest.Start(t, nil)
	vr := janustest.DefaultRooms()[0]
	link := fmt.Sprintf("janus+%s?room=%d", strings.TrimSuffix(j.URL, "/"), vr.ID)
	// Without -race, so PSS is roomd's own and not the race detector's.
	dir := t.TempDir()
	bin := filepath.Join(dir, "roomd")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cfg := filepath.Join(dir, "roomd.toml")
	if err := os.WriteFile(cfg, []byte(simCallConfig+"[panel]\nlisten = \"127.0.0.1:0\"\nremote_listen = \"127.0.0.1:0\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d := startRoomdBinary(t, bin, dir, filepath.Join(dir, "state"), []string{"--config", cfg})
	var kiosk, remote string
	for deadline := time.Now().Add(5 * time.Second); kiosk == "" || remote == ""; time.Sleep(10 * time.Millisecond) {
		if m := panelURL.FindStringSubmatch(d.logs()); m != nil {
			kiosk = m[1]
		}
		if m := remotePanelURL.FindStringSubmatch(d.logs()); m != nil {
			remote = m[1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no panel URLs in the log:\n%s", d.logs())
		}
	}
	pid := d.cmd.Process.Pid
	sock := filepath.Join(d.run, "control.sock")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// The serial console stays logged in across cycles, as an integrator's
	// control system would.
	con := openConsole(t, d)
	con.send("")
	con.expect("PIN:")
	con.send("1234")
	for timeout := time.After(15 * time.Second); ; {
		var l string
		select {
		case l = <-con.got:
		case <-timeout:
			t.Fatal("the console did not answer the PIN")
		}
		if l == "OK" {
			break
		}
	}
	con.send("echo off")
	con.expect("OK")

	// One kiosk panel stays open (the one on the room's screen); it shows
	// the code that pairs the tablet.
	kws, err := dialPanel(ctx, kiosk, "")
	if err != nil {
		t.Fatal(err)
	}
	defer kws.c.CloseNow()
	tablet := pairTablet(ctx, t, kws, remote)
	go func() { // keep reading so the server never blocks on it
		for {
			if _, _, err := kws.c.Read(ctx); err != nil {
				return
			}
		}
	}()

	ctl, err := consoleclient.Dial(sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ctl.Close()
	status := func(path string) string {
		sctx, scancel := context.WithTimeout(ctx, 10*time.Second)
		defer scancel()
		lines, err := ctl.Exec(sctx, "xStatus "+path)
		if err != nil {
			t.Fatalf("xStatus %s: %v", path, err)
		}
		for _, l := range lines {
			if v, ok := strings.CutPrefix(l, "*s "+path+":"); ok {
				return strings.Trim(strings.TrimSpace(v), `"`)
			}
		}
		return ""
	}
	waitStatus := func(path, want string, within time.Duration) {
		t.Helper()
		for deadline := time.Now().Add(within); status(path) != want; time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s never became %s: %s (%s)", path, want, status(path), status("Call Reason"))
			}
		}
	}

	// traffic runs every surface at once for the given time.
	// It returns how many requests were answered.
	traffic := func(cycle int, span time.Duration) int64 {
		tctx, tcancel := context.WithTimeout(ctx, span)
		defer tcancel()
		var wg sync.WaitGroup
		var ops atomic.Int64
		errs := make(chan error, 64)
		end, _ := tctx.Deadline()
		report := func(err error) {
			if err == nil {
				ops.Add(1)
				return
			}
			// A request cut by the end of the phase is not a failure; the
			// socket's deadline can fire a moment before the context's.
			if time.Until(end) > 50*time.Millisecond {
				select {
				case errs <- err:
				default:
				}
			}
		}
		for k := range 3 { // kiosk panels: volume, mute, unmute
			wg.Go(func() {
				for tctx.Err() == nil {
					p, err := dialPanel(tctx, kiosk, "")
					if err != nil {
						report(err)
						return
					}
					for i := 0; i < 5 && tctx.Err() == nil; i++ {
						report(p.command(tctx, "Audio Volume Set", map[string]any{"Level": 30 + (cycle+k+i)%40}))
						report(p.command(tctx, "Audio Microphones Mute", nil))
						report(p.command(tctx, "Audio Microphones Unmute", nil))
					}
					p.c.Close(websocket.StatusNormalClosure, "")
				}
			})
		}
		for range 2 { // tablets: mute and volume (they may not unmute)
			wg.Go(func() {
				for tctx.Err() == nil {
					p, err := dialPanel(tctx, remote, tablet)
					if err != nil {
						report(err)
						return
					}
					for i := 0; i < 5 && tctx.Err() == nil; i++ {
						report(p.command(tctx, "Audio Microphones Mute", nil))
						report(p.command(tctx, "Audio Volume Set", map[string]any{"Level": 50}))
					}
					p.c.CloseNow() // a tablet that goes away without a close
				}
			})
		}
		wg.Go(func() { // control socket sessions: open, ask, close
			for tctx.Err() == nil {
				c, err := consoleclient.Dial(sock)
				if err != nil {
					report(err)
					return
				}
				_, err = c.Exec(tctx, "xStatus Audio")
				report(err)
				c.Close()
			}
		})
		wg.Go(func() { // the debug endpoint and the panel's HTTP API
			hc := &http.Client{Timeout: 5 * time.Second}
			defer hc.CloseIdleConnections()
			for tctx.Err() == nil {
				for _, u := range []string{d.debug + "/room", d.debug + "/sim", "http://" + kiosk + "/api/status"} {
					req, _ := http.NewRequestWithContext(tctx, "GET", u, nil)
					resp, err := hc.Do(req)
					if err != nil {
						report(err)
						continue
					}
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						err = fmt.Errorf("GET %s: %s", u, resp.Status)
					}
					report(err)
				}
			}
		})
		// The serial console, in this goroutine (it is not safe to share).
		for tctx.Err() == nil {
			con.send("xStatus Audio Microphones Mute")
			con.expect("OK")
			ops.Add(1)
			time.Sleep(20 * time.Millisecond)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("cycle %d: %v", cycle, err)
		}
		return ops.Load()
	}

	type point struct {
		at time.Duration
		s  procSample
	}
	var points []point
	start := time.Now()
	before := sampleProc(t, pid, d.debug)
	t.Logf("soak: before the first cycle: %v", before)
	var base procSample
	for cycle := 0; cycle < soakWarmup+2 || time.Since(start) < dur; cycle++ {
		if t.Failed() {
			break
		}
		jctx, jcancel := context.WithTimeout(ctx, 30*time.Second)
		_, err := ctl.Exec(jctx, fmt.Sprintf(`xCommand Call Join Uri: "%s" Passcode: "%s"`, link, vr.PIN))
		jcancel()
		if err != nil {
			t.Fatalf("cycle %d: join: %v", cycle, err)
		}
		waitStatus("Call State", "InCall", 30*time.Second)
		ops := traffic(cycle, 5*time.Second)
		lctx, lcancel := context.WithTimeout(ctx, 30*time.Second)
		_, err = ctl.Exec(lctx, "xCommand Call Leave")
		lcancel()
		if err != nil {
			t.Fatalf("cycle %d: leave: %v", cycle, err)
		}
		waitStatus("Call State", "Idle", 30*time.Second)
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			ps, err := j.Participants(vr.ID)
			if err == nil && len(ps) == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("cycle %d: still in the Janus room after leaving: %+v (%v)", cycle, ps, err)
			}
		}
		// Sessions end and calls tear down a moment after they are closed.
		s := sampleProc(t, pid, d.debug)
		if cycle >= soakWarmup {
			for deadline := time.Now().Add(10 * time.Second); !s.within(base) && time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
				s = sampleProc(t, pid, d.debug)
			}
		}
		at := time.Since(start)
		t.Logf("soak: cycle %d at %v: %d requests answered; then %v", cycle, at.Round(time.Second), ops, s)
		if cycle < soakWarmup {
			// The first calls load codecs and warm pools and allocator arenas.
			base = s
			continue
		}
		points = append(points, point{at, s})
		if !s.within(base) {
			t.Errorf("cycle %d: roomd did not come back to its band (%v) after the cycle: %v", cycle, base, s)
		}
	}
	if len(points) < 2 {
		return
	}
	var xc, xm, fds, gs, ths, pss, live []float64
	for i, p := range points {
		xc = append(xc, float64(i))
		xm = append(xm, p.at.Minutes())
		fds = append(fds, float64(p.s.fds))
		gs = append(gs, float64(p.s.goroutines))
		ths = append(ths, float64(p.s.threads))
		pss = append(pss, float64(p.s.pssKiB))
		live = append(live, float64(p.s.heapLiveKiB))
	}
	t.Logf("soak: %d cycles in %v (roomd built without -race); after %d warm-up cycles: %v; at the end: %v",
		len(points)+soakWarmup, time.Since(start).Round(time.Second), soakWarmup, base, points[len(points)-1].s)
	t.Logf("soak: slopes per cycle: fds %+.2f, goroutines %+.2f, threads %+.2f, PSS %+.0f KiB, live heap %+.0f KiB; per minute: PSS %+.0f KiB, live heap %+.0f KiB",
		slope(xc, fds), slope(xc, gs), slope(xc, ths), slope(xc, pss), slope(xc, live), slope(xm, pss), slope(xm, live))
	// The second half shows whether PSS settles or keeps growing.
	h := len(points) / 2
	t.Logf("soak: second half (%d cycles): per minute: PSS %+.0f KiB, live heap %+.0f KiB, fds %+.2f, goroutines %+.2f",
		len(points)-h, slope(xm[h:], pss[h:]), slope(xm[h:], live[h:]), slope(xm[h:], fds[h:]), slope(xm[h:], gs[h:]))
}

// The band the soak holds roomd to, and the slope it reports.
func TestSoakBand(t *testing.T) {
	base := procSample{fds: 24, goroutines: 37, threads: 13, pssKiB: 30 << 10, heapLiveKiB: 5 << 10}
	for _, tc := range []struct {
		name string
		s    procSample
		want bool
	}{
		{"same", base, true},
		{"a few more descriptors", procSample{fds: 30, goroutines: 40, pssKiB: 40 << 10, heapLiveKiB: 6 << 10}, true},
		{"a descriptor per cycle for a while", procSample{fds: 33, goroutines: 37, pssKiB: 30 << 10, heapLiveKiB: 5 << 10}, false},
		{"goroutines left behind", procSample{fds: 24, goroutines: 60, pssKiB: 30 << 10, heapLiveKiB: 5 << 10}, false},
		{"live heap grew", procSample{fds: 24, goroutines: 37, pssKiB: 30 << 10, heapLiveKiB: 12 << 10}, false},
		{"PSS doubled and more", procSample{fds: 24, goroutines: 37, pssKiB: 70 << 10, heapLiveKiB: 5 << 10}, false},
	} {
		if got := tc.s.within(base); got != tc.want {
			t.Errorf("%s: within = %v, want %v", tc.name, got, tc.want)
		}
	}
	if got := slope([]float64{0, 1, 2, 3}, []float64{10, 12, 14, 16}); got != 2 {
		t.Errorf("slope = %v, want 2", got)
	}
}
