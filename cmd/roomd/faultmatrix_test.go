package main

// The fault matrix: every file roomd keeps, damaged every way a file gets
// damaged, and the real daemon started on it. docs/damaged-files.md is the
// same table in words.

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/roomd/roomd/control/consoleclient"
	"github.com/roomd/roomd/internal/testtool"
)

// goldenRoom is a state directory left by a real roomd that enrolled with a
// real fleetd, took its configuration, read a calendar and was then set to
// mic muted, camera private and volume 33 before it stopped.
type goldenRoom struct {
	state  string // the state directory
	config string // roomd.toml pointing at the fleet and the calendar
	env    []string
	// The fleet the room enrolled with: its binary, keys and database,
	// and how to stop it (the fleet's own files are damaged after that).
	fleetd, keys, db string
	stopFleet        func()
}

// seedGoldenRoom runs the fleet and a room once and returns the room's
// state directory as it stopped.
func seedGoldenRoom(t *testing.T) goldenRoom {
	t.Helper()
	dir := t.TempDir()
	fl := startTestFleet(t, dir, `{"room":{"name":"Fjord (fleet)","time_zone":"Europe/Oslo"},"poll_seconds":10}`)
	code, port := fl.code, fl.port

	feed, ca := calendarFeed(t, "Weekly sync", "")
	g := goldenRoom{state: filepath.Join(dir, "state"), config: filepath.Join(dir, "roomd.toml"), env: []string{"SSL_CERT_FILE=" + ca},
		fleetd: fl.bin, keys: fl.keys, db: fl.db, stopFleet: fl.stop}
	// A paired tablet.
	must(t, os.MkdirAll(g.state, 0o700))
	must(t, os.WriteFile(filepath.Join(g.state, "panel-tokens.json"),
		[]byte(`{"panels":[{"id":"ab12cd34","name":"Tablet","hash":"00","created":"2026-01-02T03:04:05Z"}]}`), 0o600))
	os.WriteFile(g.config, []byte(fmt.Sprintf(`
[board]
profile = "sim"
[provisioning]
server = "https://localhost:%s"
ca_file = %q
start_delay = "10ms"
[schedule]
url = %q
show_titles = true
`, port, fl.caFile(), feed)), 0o644)

	d := startRoomdAt(t, dir, g.state, []string{"--config", g.config}, g.env...)
	r := dialRoom(t, d)
	r.exec(fmt.Sprintf(`xCommand Provisioning Enroll ActivationCode: "%s"`, code))
	r.waitFor("Provisioning State", "Enrolled")
	r.waitFor("SystemUnit Name", "Fjord (fleet)")
	r.exec("xCommand Audio Microphones Mute")
	r.exec("xCommand Video Camera Privacy Set Mode: On")
	r.exec("xCommand Audio Volume Set Level: 33")
	r.waitFor("Schedule Next 1 Title", "Weekly sync")
	d.stop(t)
	return g
}

// roomClient reads and drives a running roomd over its control socket.
type roomClient struct {
	t *testing.T
	c *consoleclient.Client
}

func dialRoom(t *testing.T, d *daemonUnderTest) *roomClient {
	t.Helper()
	c, err := consoleclient.Dial(filepath.Join(d.run, "control.sock"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &roomClient{t: t, c: c}
}

func (r *roomClient) exec(req string) []string {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	lines, err := r.c.Exec(ctx, req)
	if err != nil {
		r.t.Fatalf("%s: %v", req, err)
	}
	return lines
}

// status is one xStatus leaf's value, unquoted; "" when it is absent.
func (r *roomClient) status(path string) string {
	r.t.Helper()
	for _, l := range r.exec("xStatus " + path) {
		if v, ok := strings.CutPrefix(l, "*s "+path+": "); ok {
			return strings.Trim(v, `"`)
		}
	}
	return ""
}

func (r *roomClient) waitFor(path, want string) {
	r.t.Helper()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		got := r.status(path)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("%s is %q, want %q", path, got, want)
		}
	}
}

// stop ends roomd as systemd does and waits for it.
func (d *daemonUnderTest) stop(t *testing.T) {
	t.Helper()
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.exited:
	case <-time.After(10 * time.Second):
		t.Fatal("roomd did not stop within 10 s of SIGTERM")
	}
}

// copyTree copies a state directory with its files' modes.
func copyTree(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		dst := filepath.Join(to, rel)
		info, err := e.Info()
		if err != nil {
			return err
		}
		if e.IsDir() {
			return os.MkdirAll(dst, info.Mode().Perm())
		}
		if !e.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, b, info.Mode().Perm())
	})
	if err != nil {
		t.Fatal(err)
	}
}

// listTree names every regular file under dir, relative to it.
func listTree(t *testing.T, dir string) []string {
	t.Helper()
	var names []string
	filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err == nil && e.Type().IsRegular() {
			rel, _ := filepath.Rel(dir, p)
			names = append(names, rel)
		}
		return nil
	})
	slices.Sort(names)
	return names
}

// A damage is one way a file goes bad before roomd starts.
type damage struct {
	name string
	do   func(t *testing.T, path string, kind fileKind)
}

// fileKind says what "the wrong type" is for a file.
type fileKind int

const (
	jsonFile fileKind = iota // a JSON object
	pemKey                   // a PEM private key
)

var damages = []damage{
	{"missing", func(t *testing.T, p string, _ fileKind) { must(t, os.Remove(p)) }},
	{"empty", func(t *testing.T, p string, _ fileKind) { must(t, os.Truncate(p, 0)) }},
	{"truncated", func(t *testing.T, p string, _ fileKind) {
		st, err := os.Stat(p)
		must(t, err)
		must(t, os.Truncate(p, st.Size()/2))
	}},
	{"garbage", func(t *testing.T, p string, _ fileKind) {
		b := make([]byte, 512)
		rand.NewChaCha8([32]byte{1}).Read(b) // the same bytes every run
		must(t, os.WriteFile(p, b, 0o600))
	}},
	{"wrong-type", func(t *testing.T, p string, k fileKind) {
		b := []byte(`["not", "an", "object"]` + "\n")
		if k == pemKey {
			b = []byte("-----BEGIN CERTIFICATE-----\nTUlJQg==\n-----END CERTIFICATE-----\n")
		}
		must(t, os.WriteFile(p, b, 0o600))
	}},
	{"readable-by-others", func(t *testing.T, p string, _ fileKind) { must(t, os.Chmod(p, 0o644)) }},
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// roomFile is one file roomd keeps, and how roomd reports it damaged.
type roomFile struct {
	rel  string
	kind fileKind
	// reported says whether the room's status shows the damage beyond the
	// list of damaged files; missing says whether a missing file must be
	// reported too (others are rebuilt or fetched again).
	reported func(r *roomClient) bool
	missing  bool
	// exposed: a copy readable by others is refused, not made private
	// again (a key others could read may have been copied).
	exposed bool
	// keeps lists the status leaves that must survive its damage, beyond
	// the privacy leaves every case checks.
	keeps []string
}

func provisioningFailed(r *roomClient) bool { return r.status("Provisioning State") == "Failed" }

// listedDamaged says whether status lists rel's damaged copy.
func listedDamaged(r *roomClient, rel string) bool {
	for _, l := range r.exec("xStatus SystemUnit DamagedFile") {
		if strings.Contains(l, " Name: ") && strings.Contains(l, rel+".corrupt-") {
			return true
		}
	}
	return false
}

var roomFiles = []roomFile{
	{rel: "room.json", kind: jsonFile, missing: true,
		reported: func(r *roomClient) bool {
			s := r.status("SystemUnit SavedState Restored")
			return s == "Previous" || s == "Damaged"
		},
		keeps: []string{"SystemUnit Name", "Provisioning State", "Schedule Next 1 Title"}},
	{rel: "provisioning/device.key", kind: pemKey, missing: true, exposed: true, reported: provisioningFailed,
		keeps: []string{"SystemUnit Name", "Audio Volume", "Schedule Next 1 Title"}},
	{rel: "provisioning/enrollment.json", kind: jsonFile,
		keeps: []string{"SystemUnit Name", "Audio Volume", "Schedule Next 1 Title"}},
	{rel: "provisioning/config/root.current", kind: jsonFile,
		keeps: []string{"SystemUnit Name", "Audio Volume", "Schedule Next 1 Title", "Provisioning State"}},
	{rel: "provisioning/config/bundle.current", kind: jsonFile,
		keeps: []string{"SystemUnit Name", "Audio Volume", "Schedule Next 1 Title", "Provisioning State"}},
	{rel: "schedule.json", kind: jsonFile,
		keeps: []string{"SystemUnit Name", "Audio Volume", "Provisioning State", "Schedule Next 1 Title"}},
	{rel: "panel-tokens.json", kind: jsonFile,
		keeps: []string{"SystemUnit Name", "Audio Volume", "Provisioning State", "Schedule Next 1 Title"}},
}

// TestFaultMatrix starts the real roomd on a state directory in which one
// file is damaged, for every file and damage: roomd must start, keep the
// room muted and private, lose nothing else, keep the damaged bytes for a
// person to look at, and say what happened on its status.
func TestFaultMatrix(t *testing.T) {
	g := seedGoldenRoom(t)
	golden := map[string]string{} // status leaves of the undamaged room
	{
		dir := t.TempDir()
		state := filepath.Join(dir, "state")
		copyTree(t, g.state, state)
		d := startRoomdAt(t, dir, state, []string{"--config", g.config}, g.env...)
		r := dialRoom(t, d)
		r.waitFor("Schedule Next 1 Title", "Weekly sync")
		for _, f := range roomFiles {
			for _, k := range f.keeps {
				golden[k] = r.status(k)
			}
		}
		d.stop(t)
	}
	roomWrites(t, g)
	defer fleetMatrix(t, g) // after the rooms, which need the fleet
	for _, f := range roomFiles {
		for _, dm := range damages {
			t.Run(f.rel+"/"+dm.name, func(t *testing.T) {
				dir := t.TempDir()
				state := filepath.Join(dir, "state")
				copyTree(t, g.state, state)
				path := filepath.Join(state, f.rel)
				dm.do(t, path, f.kind)
				damaged, _ := os.ReadFile(path)
				d := startRoomdAt(t, dir, state, []string{"--config", g.config}, g.env...)
				r := dialRoom(t, d)
				// Privacy is closed or preserved: the golden room was muted and private.
				if got := r.status("Audio Microphones Mute"); got != "On" {
					t.Errorf("microphones: mute %s, want On", got)
				}
				if got := r.status("Video Camera Privacy"); got != "On" {
					t.Errorf("camera privacy %s, want On", got)
				}
				// Nothing else is lost.
				for _, k := range f.keeps {
					r.waitFor(k, golden[k])
				}
				// The other files are all still there, and so is the paired tablet.
				for _, n := range listTree(t, g.state) {
					// A health report the golden room queued as it stopped
					// is sent, and deleted, once the fleet answers.
					if strings.HasPrefix(n, "provisioning/reports/") {
						continue
					}
					if _, err := os.Stat(filepath.Join(state, n)); n != f.rel && err != nil {
						t.Errorf("%s damaged, and %s is gone: %v", f.rel, n, err)
					}
				}
				if f.rel != "panel-tokens.json" {
					if b, _ := os.ReadFile(filepath.Join(state, "panel-tokens.json")); !strings.Contains(string(b), "ab12cd34") {
						t.Errorf("%s damaged, and the paired tablet is gone: %q", f.rel, b)
					}
				}
				switch {
				case dm.name == "readable-by-others" && f.exposed:
					if !eventually(func() bool { return f.reported(r) }) {
						t.Errorf("%s readable by others is not reported on status", f.rel)
					}
				case dm.name == "readable-by-others":
					st, err := os.Stat(path)
					if err != nil || st.Mode().Perm()&0o077 != 0 {
						t.Errorf("%s is still readable by others after start (%v)", f.rel, err)
					}
				case dm.name == "missing":
					if f.missing && !eventually(func() bool { return f.reported(r) }) {
						t.Errorf("a missing %s is not reported on status", f.rel)
					}
				default:
					if !eventually(func() bool { return listedDamaged(r, f.rel) }) {
						t.Errorf("a %s %s is not listed in xStatus SystemUnit DamagedFile", dm.name, f.rel)
					}
					if f.reported != nil && !eventually(func() bool { return f.reported(r) }) {
						t.Errorf("a %s %s is not reported on status", dm.name, f.rel)
					}
					if !keptAside(state, f.rel, damaged) {
						t.Errorf("the damaged %s was not kept aside as %s.corrupt-<time>", f.rel, filepath.Base(f.rel))
					}
				}
				if t.Failed() {
					t.Logf("state after start: %q", listTree(t, state))
				}
			})
		}
	}
}

// roomWrites damages room.json while roomd writes it: the disk fills up,
// and the process is killed in the middle of saves.
func roomWrites(t *testing.T, g goldenRoom) {
	t.Run("room.json/disk-full", func(t *testing.T) {
		dir := t.TempDir()
		state := filepath.Join(dir, "state")
		must(t, os.Mkdir(state, 0o700))
		// A small file system of its own, so the test fills nothing else.
		if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=256k,mode=0700", "roomd-test", state).CombinedOutput(); err != nil {
			if os.Getenv("CI") == "" && os.Geteuid() != 0 {
				t.Skipf("needs root to mount a small tmpfs: %v %s", err, out)
			}
			t.Fatalf("mount tmpfs: %v %s", err, out)
		}
		t.Cleanup(func() { exec.Command("umount", "-l", state).Run() })
		copyTree(t, g.state, state)
		d := startRoomdAt(t, dir, state, []string{"--config", g.config}, g.env...)
		t.Cleanup(func() { d.cmd.Process.Kill(); <-d.exited }) // before the unmount
		r := dialRoom(t, d)
		r.exec("xConfiguration Audio DefaultVolume: 35")
		if !eventually(func() bool {
			b, _ := os.ReadFile(filepath.Join(state, "room.json"))
			return strings.Contains(string(b), `"DefaultVolume": 35`)
		}) {
			t.Fatal("room.json not saved before the disk filled")
		}
		before, err := os.ReadFile(filepath.Join(state, "room.json"))
		must(t, err)
		filler := filepath.Join(state, "filler")
		fill(t, filler)
		r.exec("xConfiguration Audio DefaultVolume: 40")
		if !eventually(func() bool {
			return strings.Contains(strings.Join(r.exec("xConfiguration Audio DefaultVolume"), "\n"), ": 40")
		}) {
			t.Error("the setting did not take in memory while the disk was full")
		}
		if !eventually(func() bool { return strings.Contains(d.logs(), "no space left on device") }) {
			t.Error("a save that failed for lack of space is not logged")
		}
		after, err := os.ReadFile(filepath.Join(state, "room.json"))
		if err != nil || string(after) != string(before) {
			t.Errorf("room.json changed while the disk was full (%v):\n%s", err, after)
		}
		if r.status("Audio Microphones Mute") != "On" || r.status("Video Camera Privacy") != "On" {
			t.Error("privacy opened while the disk was full")
		}
		// Space again: the next change is saved.
		must(t, os.Remove(filler))
		r.exec("xConfiguration Audio DefaultVolume: 41")
		if !eventually(func() bool {
			b, _ := os.ReadFile(filepath.Join(state, "room.json"))
			return strings.Contains(string(b), `"DefaultVolume": 41`)
		}) {
			b, _ := os.ReadFile(filepath.Join(state, "room.json"))
			t.Errorf("room.json after space came back:\n%s", b)
		}
	})
	t.Run("room.json/sigkill-during-write", func(t *testing.T) {
		state := filepath.Join(t.TempDir(), "state")
		copyTree(t, g.state, state)
		kills := 15
		for i := range kills {
			d := startRoomdAt(t, t.TempDir(), state, []string{"--config", g.config}, g.env...)
			r := dialRoom(t, d)
			if got := r.status("SystemUnit SavedState Restored"); got != "Saved" {
				t.Fatalf("start %d after SIGKILL: saved state %s (%s)", i, got, r.status("SystemUnit SavedState Detail"))
			}
			if r.status("Audio Microphones Mute") != "On" || r.status("Video Camera Privacy") != "On" {
				t.Fatalf("start %d after SIGKILL: privacy opened", i)
			}
			// Saves as fast as the room takes them, and a kill at a moment
			// that moves from run to run.
			stop := time.After(time.Duration(20+i*13%90) * time.Millisecond)
		saves:
			for level := 10; ; level = 10 + (level+7)%80 {
				select {
				case <-stop:
					break saves
				default:
				}
				r.c.Exec(context.Background(), fmt.Sprintf("xConfiguration Audio DefaultVolume: %d", level))
			}
			d.cmd.Process.Kill()
			<-d.exited
		}
		if m, _ := filepath.Glob(filepath.Join(state, "*.corrupt-*")); len(m) > 0 {
			t.Errorf("SIGKILL during saves left damaged files: %q", m)
		}
	})
}

// fill writes path until the file system is full.
func fill(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	must(t, err)
	defer f.Close()
	buf := make([]byte, 4096)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("filling the disk: %v", err)
			}
			return
		}
	}
}

// fleetFile is one file fleetd keeps, and what fleetd does when it is
// damaged: serve (having rebuilt it, set it aside or made it private) or
// refuse to start, naming it. fleetd refuses rather than replace a signing
// key or the database: rooms run on their last good configuration while it
// is down, and a new key or an empty database would cut every room off.
type fleetFile struct {
	rel    string // under the fleet's directory
	kind   fileKind
	serves map[string]bool // damages after which fleetd serves
	public bool            // readable by others is no fault (a certificate)
}

var fleetFiles = []fleetFile{
	{rel: "keys/ca.key", kind: pemKey},
	{rel: "keys/root.key", kind: pemKey},
	{rel: "keys/config.key", kind: pemKey},
	{rel: "keys/ca.crt", kind: pemKey, public: true, serves: map[string]bool{"missing": true, "readable-by-others": true}},
	{rel: "keys/root-1.json", kind: jsonFile, public: true, serves: map[string]bool{"readable-by-others": true}},
	{rel: "keys/codes.key", kind: jsonFile, serves: map[string]bool{"missing": true, "empty": true, "truncated": true, "garbage": true, "wrong-type": true}},
	{rel: "fleet.db", kind: jsonFile, serves: map[string]bool{"readable-by-others": true}},
}

// fleetMatrix starts fleetd on a copy of the golden fleet with one file
// damaged, for every file and damage.
func fleetMatrix(t *testing.T, g goldenRoom) {
	g.stopFleet()
	top := filepath.Dir(g.keys)
	golden := map[string][]byte{}
	for _, n := range listTree(t, g.keys) {
		b, err := os.ReadFile(filepath.Join(g.keys, n))
		must(t, err)
		golden[filepath.Join("keys", n)] = b
	}
	for _, f := range fleetFiles {
		for _, dm := range damages {
			t.Run("fleetd/"+f.rel+"/"+dm.name, func(t *testing.T) {
				dir := t.TempDir()
				copyTree(t, g.keys, filepath.Join(dir, "keys"))
				for _, n := range []string{"fleet.db", "fleet.db-wal", "fleet.db-shm"} {
					if b, err := os.ReadFile(filepath.Join(top, n)); err == nil {
						must(t, os.WriteFile(filepath.Join(dir, n), b, 0o600))
					}
				}
				path := filepath.Join(dir, f.rel)
				dm.do(t, path, f.kind)
				damaged, _ := os.ReadFile(path)
				serves, out := runFleetd(t, g.fleetd, dir)
				want := f.serves[dm.name]
				if dm.name == "readable-by-others" && f.public {
					want = true
				}
				switch {
				case serves && !want:
					t.Errorf("fleetd served with %s %s; it must refuse and name the file\n%s", f.rel, dm.name, out)
				case !serves && want:
					t.Errorf("fleetd refused to start with %s %s:\n%s", f.rel, dm.name, out)
				case !serves && !strings.Contains(out, filepath.Base(f.rel)):
					t.Errorf("fleetd refused without naming %s:\n%s", f.rel, out)
				}
				// Nothing is lost: a refused or rebuilt file keeps the
				// damaged bytes, in place or set aside, and every other
				// key file is as it was.
				if dm.name != "missing" {
					if b, err := os.ReadFile(path); (err != nil || string(b) != string(damaged)) && !keptAside(dir, f.rel, damaged) {
						t.Errorf("%s %s was overwritten and not kept aside", f.rel, dm.name)
					}
				}
				for n, b := range golden {
					if n == f.rel {
						continue
					}
					if got, err := os.ReadFile(filepath.Join(dir, n)); err != nil || string(got) != string(b) {
						t.Errorf("%s damaged, and %s changed (%v)", f.rel, n, err)
					}
				}
				if serves && dm.name == "readable-by-others" && !f.public {
					if st, err := os.Stat(path); err != nil || st.Mode().Perm()&0o077 != 0 {
						t.Errorf("fleetd serves with %s readable by others", f.rel)
					}
				}
			})
		}
	}
}

// runFleetd starts fleetd serve on the fleet in dir and says whether it
// served within 10 s, with its output; it is stopped either way.
func runFleetd(t *testing.T, bin, dir string) (served bool, output string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	addr := ln.Addr().String()
	ln.Close()
	var out testtool.LockedBuffer
	cmd := exec.Command(bin, "-db", filepath.Join(dir, "fleet.db"), "-keys", filepath.Join(dir, "keys"), "-org", "acme",
		"serve", "-listen", addr, "-name", "localhost")
	cmd.Stdout, cmd.Stderr = &out, &out
	must(t, cmd.Start())
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	defer func() { cmd.Process.Kill(); <-exited }()
	cl := &http.Client{Timeout: time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		select {
		case <-exited:
			return false, out.String()
		default:
		}
		if resp, err := cl.Get("https://" + addr + "/"); err == nil {
			resp.Body.Close()
			return true, out.String()
		}
	}
	t.Fatalf("fleetd neither served nor exited within 10 s:\n%s", out.String())
	return false, ""
}

// eventually polls ok for up to 10 s.
func eventually(ok func() bool) bool {
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if ok() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

// keptAside says whether rel's damaged bytes were kept beside it as
// NAME.corrupt-<time>.
func keptAside(state, rel string, damaged []byte) bool {
	m, _ := filepath.Glob(filepath.Join(state, rel) + ".corrupt-*")
	for _, p := range m {
		if b, err := os.ReadFile(p); err == nil && string(b) == string(damaged) {
			return true
		}
	}
	return false
}
