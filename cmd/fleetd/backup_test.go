package main

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/roomd/roomd/provisioning"
	"github.com/roomd/roomd/room"
)

// activeDevices returns the IDs of acme's active devices in the SQLite
// database at path, opened as fleetd opens it.
func activeDevices(t *testing.T, path string) []string {
	t.Helper()
	st, err := openStore(context.Background(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	hs, err := st.Fleet(context.Background(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, h := range hs {
		if h.State == stateActive {
			ids = append(ids, h.ID)
		}
	}
	slices.Sort(ids)
	return ids
}

// copyFile copies from to a new file to, as an operator's cp does.
func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestBackupWhileServingAndRestore: fleetd backup copies the database of a
// serving fleet while its rooms poll and report; the copy is private,
// passes the integrity check and holds every room enrolled before it was
// taken. restore is refused while fleetd has the database open; with
// fleetd stopped it brings those rooms back, drops the room enrolled after
// the backup, keeps the replaced database aside, and a room from before
// the backup polls the restarted fleet again.
func TestBackupWhileServingAndRestore(t *testing.T) {
	dir := t.TempDir()
	db, keys, bk := filepath.Join(dir, "fleet.db"), filepath.Join(dir, "keys"), filepath.Join(dir, "backups", "fleet-1.db")
	if err := os.Mkdir(filepath.Dir(bk), 0o700); err != nil {
		t.Fatal(err)
	}
	admin := func(args ...string) (int, string, string) {
		return runCLI(t, dir, append([]string{"-db", db, "-keys", keys}, args...)...)
	}
	ts := startFleet(t, dir)
	f := ts.f
	seedFleet(t, f, "r0", "Room 0", &provisioning.Config{Room: provisioning.RoomConfig{Name: "Room 0"}})
	rooms := []string{"r0", "r1", "r2", "r3", "late"}
	for _, r := range rooms[1:] {
		addRoom(t, f, r, "Room "+r, &provisioning.Config{Room: provisioning.RoomConfig{Name: "Room " + r}})
	}
	fakes := map[string]*fakeRoom{}
	stops := map[string]func(){}
	enroll := func(r string) provisioning.ClientOptions {
		rm := &fakeRoom{settings: room.DefaultSettings()}
		opts := ts.deviceOptions(filepath.Join(dir, "dev-"+r), rm)
		opts.ActivationCode, opts.Poll = issueCode(t, f, r, false), 50*time.Millisecond
		opts.Health = func() provisioning.HealthReport { return provisioning.HealthReport{Software: "test"} }
		fakes[r] = rm
		_, stops[r] = runClient(t, opts)
		return opts
	}
	enrolled := func(r string) func() bool {
		return func() bool { _, p := fakes[r].snapshot(); return p.State == room.Enrolled }
	}
	var r0 provisioning.ClientOptions
	for _, r := range rooms[:4] {
		if o := enroll(r); r == "r0" {
			r0 = o
		}
	}
	for _, r := range rooms[:4] {
		waitFor(t, 20*time.Second, r+" enrolled", enrolled(r))
	}
	before := activeDevices(t, db)
	if len(before) != 4 {
		t.Fatalf("%d devices enrolled before the backup, want 4", len(before))
	}

	// The backup, while the four rooms poll and report.
	polls := func() int {
		return ts.answered(provisioning.PathConfig, 200) + ts.answered(provisioning.PathConfig, 304) + ts.answered(provisioning.PathReport, 204) + ts.answered(provisioning.PathReport, 200)
	}
	p0 := polls()
	start := time.Now()
	if code, stdout, stderr := admin("backup", bk); code != 0 || !strings.Contains(stdout, "integrity ok") || !strings.Contains(stdout, "4 devices") {
		t.Fatalf("backup: exit %d\n%s%s", code, stdout, stderr)
	}
	t.Logf("backup took %v; %d requests answered meanwhile", time.Since(start).Round(time.Millisecond), polls()-p0)
	if fi, err := os.Stat(bk); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("backup file: %v, %v", fi, err)
	}
	if leftover, _ := filepath.Glob(filepath.Join(filepath.Dir(bk), ".*")); len(leftover) != 0 {
		t.Errorf("backup left %v", leftover)
	}
	if _, err := checkFleetFile(context.Background(), bk); err != nil {
		t.Fatalf("backup: %v", err)
	}
	probe := filepath.Join(t.TempDir(), "probe.db")
	copyFile(t, bk, probe)
	if got := activeDevices(t, probe); !slices.Equal(got, before) {
		t.Fatalf("backup holds devices %v, want %v", got, before)
	}

	// A room enrolls after the backup.
	enroll("late")
	waitFor(t, 20*time.Second, "late enrolled", enrolled("late"))
	withLate := activeDevices(t, db)
	if len(withLate) != 5 {
		t.Fatalf("%d devices after the late room, want 5", len(withLate))
	}

	// Refused while fleetd serves.
	code, stdout, stderr := admin("restore", bk)
	if code != 1 || !strings.Contains(stderr, "in use by a running fleetd") || !strings.Contains(stderr, db+".lock") || !strings.Contains(stderr, "nothing changed") {
		t.Fatalf("restore while serving: exit %d\n%s%s", code, stdout, stderr)
	}
	if aside, _ := filepath.Glob(db + ".before-restore-*"); len(aside) != 0 {
		t.Errorf("a refused restore set %v aside", aside)
	}
	if got := activeDevices(t, db); !slices.Equal(got, withLate) {
		t.Errorf("after a refused restore the database holds %v, want %v", got, withLate)
	}

	// fleetd stopped: the restore goes through.
	for _, stop := range stops {
		stop()
	}
	ts.srv.Close()
	if err := f.Store.Close(); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr = admin("restore", bk)
	if code != 0 || !strings.Contains(stdout, "kept as") {
		t.Fatalf("restore: exit %d\n%s%s", code, stdout, stderr)
	}
	if got := activeDevices(t, db); !slices.Equal(got, before) {
		t.Errorf("restored devices %v, want %v (the late room gone)", got, before)
	}
	aside, _ := filepath.Glob(db + ".before-restore-*")
	if len(aside) != 1 || !strings.Contains(stdout, aside[0]) {
		t.Fatalf("set aside %v; restore said %s", aside, stdout)
	}
	if fi, err := os.Stat(db); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("restored database: %v, %v", fi, err)
	}
	kept := filepath.Join(t.TempDir(), "kept.db")
	copyFile(t, aside[0], kept)
	if got := activeDevices(t, kept); !slices.Equal(got, withLate) {
		t.Errorf("the database kept aside holds %v, want %v", got, withLate)
	}

	// The restarted fleet knows r0's device: it polls again.
	ts2 := startReplica(t, db, keys)
	r0.Server = "https://" + ts2.addr
	runClient(t, r0)
	waitFor(t, 20*time.Second, "r0 polling the restored fleet", func() bool {
		return ts2.answered(provisioning.PathConfig, 200)+ts2.answered(provisioning.PathConfig, 304) > 0
	})
}

// TestRestoreRefusesDamagedBackup: restore checks the backup before it
// takes anything down; each damaged or wrong file is refused with the
// reason and the path, and the database and its directory stay as they
// were.
func TestRestoreRefusesDamagedBackup(t *testing.T) {
	dir := t.TempDir()
	db, keys, good := filepath.Join(dir, "fleet.db"), filepath.Join(dir, "keys"), filepath.Join(t.TempDir(), "good.db")
	admin := func(args ...string) (int, string, string) {
		return runCLI(t, dir, append([]string{"-db", db, "-keys", keys}, args...)...)
	}
	for _, args := range [][]string{{"init"}, {"org", "create", "acme", "Acme"}, {"backup", good}} {
		if code, stdout, stderr := admin(args...); code != 0 {
			t.Fatalf("%v: exit %d\n%s%s", args, code, stdout, stderr)
		}
	}
	good0, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	damaged := func(do func(b []byte) []byte) func(p string) {
		return func(p string) {
			if err := os.WriteFile(p, do(bytes.Clone(good0)), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	cases := []struct {
		name, reason string
		make         func(p string)
	}{
		{"missing", "no such file", func(string) {}},
		{"empty", "not a SQLite database", damaged(func([]byte) []byte { return nil })},
		{"header", "file is not a database", damaged(func(b []byte) []byte { copy(b, "not sqlite at all"); return b })},
		{"pages", "malformed", damaged(func(b []byte) []byte {
			for i := 2 * 4096; i < len(b); i++ {
				b[i] = 0xa5
			}
			return b
		})},
		{"truncated", "malformed", damaged(func(b []byte) []byte { return b[:len(b)/3] })},
		{"another database", "not a fleet database", func(p string) {
			h, err := sql.Open("sqlite", "file:"+p)
			if err != nil {
				t.Fatal(err)
			}
			defer h.Close()
			if _, err := h.Exec("CREATE TABLE notes (n TEXT)"); err != nil {
				t.Fatal(err)
			}
		}},
	}
	dbBefore, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	listing := entries(t, dir)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "backup.db")
			tc.make(p)
			code, stdout, stderr := admin("restore", p)
			if code != 1 || !strings.Contains(stderr, p) || !strings.Contains(stderr, tc.reason) {
				t.Errorf("restore of a %s backup: exit %d, want 1 naming %s and %q\n%s%s", tc.name, code, p, tc.reason, stdout, stderr)
			}
			if after, _ := os.ReadFile(db); !bytes.Equal(after, dbBefore) {
				t.Error("the database changed")
			}
			if got := entries(t, dir); !slices.Equal(got, listing) {
				t.Errorf("the fleet's directory holds %v, was %v", got, listing)
			}
		})
	}
	// The good backup still restores, so the refusals were for the damage;
	// run as root, the restored file keeps the old one's owner (the
	// service user's).
	asRoot := os.Geteuid() == 0
	if asRoot {
		if err := os.Chown(db, 4242, 4243); err != nil {
			t.Fatal(err)
		}
	}
	if code, stdout, stderr := admin("restore", good); code != 0 {
		t.Errorf("restore of the good backup: exit %d\n%s%s", code, stdout, stderr)
	}
	if fi, err := os.Stat(db); err != nil {
		t.Fatal(err)
	} else if st := fi.Sys().(*syscall.Stat_t); asRoot && (st.Uid != 4242 || st.Gid != 4243) {
		t.Errorf("restored database owned by %d:%d, want the old one's 4242:4243", st.Uid, st.Gid)
	}
}

// TestBackupRestoreRefusals: each refusal names the flag or path to fix
// and leaves nothing behind; a PostgreSQL fleet is pointed to pg_dump and
// pg_restore without a connection being tried.
func TestBackupRestoreRefusals(t *testing.T) {
	const pg = "postgres://fleetd@127.0.0.1:1/fleet"
	cases := []struct {
		name string
		args []string
		want []string
	}{
		{"backup postgres", []string{"-db", pg, "backup", "fleet.dump"}, []string{"-db is a PostgreSQL database", "pg_dump", "docs/fleetd-service.md"}},
		{"restore postgres", []string{"-db", pg, "restore", "fleet.dump"}, []string{"-db is a PostgreSQL database", "pg_restore", "docs/fleetd-service.md"}},
		{"backup no database", []string{"-db", "nowhere.db", "backup", "b.db"}, []string{"nowhere.db does not exist", "-db"}},
		{"backup over the database", []string{"-db", "fleet.db", "backup", "fleet.db"}, []string{"fleet.db is the database itself"}},
		{"backup into a missing directory", []string{"-db", "fleet.db", "backup", "no/such/b.db"}, []string{"no/such", "a directory you can write"}},
		{"restore into a missing directory", []string{"-db", "no/such/fleet.db", "restore", "b.db"}, []string{"no/such/fleet.db", "-db"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if !slices.Contains(tc.args, pg) {
				if code, _, stderr := runCLI(t, dir, "-db", "fleet.db", "init"); code != 0 {
					t.Fatal(stderr)
				}
				if code, _, stderr := runCLI(t, dir, "-db", "fleet.db", "backup", "b.db"); code != 0 {
					t.Fatal(stderr)
				}
			}
			listing := entries(t, dir)
			code, stdout, stderr := runCLI(t, dir, tc.args...)
			if code != 1 {
				t.Errorf("exit %d, want 1\n%s%s", code, stdout, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
			if got := entries(t, dir); !slices.Equal(got, listing) {
				t.Errorf("left %v, was %v", got, listing)
			}
		})
	}
}

// TestOpenRefusedDuringRestore: while restore holds the database's lock, a
// fleetd opening it (serve or an admin command) refuses, saying why; once
// the lock is let go it opens.
func TestOpenRefusedDuringRestore(t *testing.T) {
	db := filepath.Join(t.TempDir(), "fleet.db")
	unlock, err := lockDatabase(db, true)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := openStore(context.Background(), db, nil); err == nil || !strings.Contains(err.Error(), "being restored") || !strings.Contains(err.Error(), db+".lock") {
		if st != nil {
			st.Close()
		}
		t.Fatalf("open during a restore: %v", err)
	}
	unlock()
	st, err := openStore(context.Background(), db, nil)
	if err != nil {
		t.Fatal(err)
	}
	// A second fleetd on the same file is not refused (shared lock), a
	// restore is.
	st2, err := openStore(context.Background(), db, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lockDatabase(db, true); err != errDatabaseInUse {
		t.Errorf("exclusive lock under two open stores: %v", err)
	}
	st.Close()
	st2.Close()
	unlock, err = lockDatabase(db, true)
	if err != nil {
		t.Fatalf("lock after both stores closed: %v", err)
	}
	unlock()
}
