package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runCLI runs fleetd's command line in dir and returns its exit status and
// output.
func runCLI(t *testing.T, dir string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	t.Chdir(dir)
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, &out, &errOut)
	code = exitCode(err, &errOut)
	return code, out.String(), errOut.String()
}

// entries lists what dir holds.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, de := range des {
		names = append(names, de.Name())
	}
	return names
}

// TestHelpCreatesNothing: help, -h on fleetd, on a group and on every
// command, an unknown command and a command without a fleet each answer
// with the right exit status and text, and leave the working directory
// empty (no fleet.db, no keys/).
func TestHelpCreatesNothing(t *testing.T) {
	var allNames []string
	for _, c := range commands() {
		allNames = append(allNames, c.name)
	}
	cases := []struct {
		args   []string
		code   int
		stdout []string // each must appear
		stderr []string
	}{
		{args: []string{"help"}, code: 0, stdout: append([]string{"usage: fleetd", "-db", "-keys", "-org"}, allNames...)},
		{args: []string{"-h"}, code: 0, stderr: allNames},
		{args: []string{"--help"}, code: 0, stderr: allNames},
		{args: []string{"help", "code", "issue"}, code: 0, stdout: []string{"fleetd [global flags] code issue", "-ttl", "-require-approval"}},
		{args: []string{"code", "issue", "-h"}, code: 0, stderr: []string{"fleetd [global flags] code issue", "-ttl"}},
		{args: []string{"serve", "-h"}, code: 0, stderr: []string{"-listen", "-admin-token", "-conns-per-address"}},
		{args: []string{"help", "org"}, code: 0, stdout: []string{"org create"}},
		{args: []string{"org", "-h"}, code: 0, stderr: []string{"org create"}},
		{args: []string{"org"}, code: 2, stderr: []string{`"org" needs one of its commands`, "org create"}},
		{args: []string{"bogus"}, code: 2, stderr: append([]string{`unknown command "bogus"`}, allNames...)},
		{args: []string{"help", "bogus"}, code: 2, stderr: []string{`unknown command "bogus"`}},
		{args: []string{}, code: 2, stderr: []string{"no command", "init"}},
		{args: []string{"-nosuchflag", "health", "acme"}, code: 2, stderr: []string{"-nosuchflag", "global flags"}},
		{args: []string{"code", "issue", "-ttl", "soon", "acme", "r1"}, code: 2, stderr: []string{"-ttl", "code issue"}},
		{args: []string{"room", "create", "acme"}, code: 2, stderr: []string{"wrong arguments", "ORG ROOM NAME"}},
		{args: []string{"org", "create", "acme", "Acme"}, code: 1, stderr: []string{"the key directory keys does not exist", "-keys", "init"}},
		{args: []string{"serve"}, code: 1, stderr: []string{"the key directory keys does not exist", "-keys"}},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, "_"), func(t *testing.T) {
			dir := t.TempDir()
			code, stdout, stderr := runCLI(t, dir, tc.args...)
			if code != tc.code {
				t.Errorf("exit status %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, stdout, stderr)
			}
			for _, w := range tc.stdout {
				if !strings.Contains(stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, stdout)
				}
			}
			for _, w := range tc.stderr {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
			if got := entries(t, dir); len(got) != 0 {
				t.Errorf("fleetd %v left %v in the working directory", tc.args, got)
			}
		})
	}
}

// TestStateOnlyFromInit: a command needing a fleet names the missing flag
// for the key directory, for an empty one and for the database; init makes
// both; the commands then work, and a second init keeps the fleet.
func TestStateOnlyFromInit(t *testing.T) {
	dir := t.TempDir()
	keys, db := filepath.Join(dir, "k"), filepath.Join(dir, "f.db")
	flags := []string{"-db", db, "-keys", keys, "-org", "acme"}
	admin := func(args ...string) (int, string, string) { return runCLI(t, dir, append(flags, args...)...) }

	if code, _, stderr := admin("org", "create", "acme", "Acme"); code != 1 || !strings.Contains(stderr, "-keys") {
		t.Fatalf("no key directory: exit %d, %s", code, stderr)
	}
	if err := os.Mkdir(keys, 0o700); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := admin("org", "create", "acme", "Acme"); code != 1 || !strings.Contains(stderr, "holds no fleet") || !strings.Contains(stderr, "-keys") {
		t.Fatalf("empty key directory: exit %d, %s", code, stderr)
	}
	if got := entries(t, keys); len(got) != 0 {
		t.Fatalf("an admin command made %v in the key directory", got)
	}
	if code, stdout, stderr := admin("init"); code != 0 || !strings.Contains(stdout, "trust root version 1") {
		t.Fatalf("init: exit %d, %s%s", code, stdout, stderr)
	}
	if _, err := os.Stat(filepath.Join(keys, "ca.crt")); err != nil {
		t.Fatalf("init made no CA: %v", err)
	}
	before, err := os.ReadFile(filepath.Join(keys, "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"org", "create", "acme", "Acme"}, {"room", "create", "acme", "r1", "Fjord"}, {"code", "issue", "acme", "r1"}, {"health", "acme"}} {
		if code, _, stderr := admin(args...); code != 0 {
			t.Fatalf("%v: exit %d, %s", args, code, stderr)
		}
	}
	if code, stdout, stderr := admin("init"); code != 0 || !strings.Contains(stdout, "trust root version 1") {
		t.Fatalf("second init: exit %d, %s%s", code, stdout, stderr)
	}
	if after, _ := os.ReadFile(filepath.Join(keys, "ca.crt")); !bytes.Equal(before, after) {
		t.Error("a second init replaced the fleet's CA")
	}
	if code, _, stderr := admin("code", "issue", "acme", "r1"); code != 0 {
		t.Errorf("the second init lost room r1: %s", stderr)
	}

	// The database gone, with the key directory in place.
	other := filepath.Join(dir, "other.db")
	code, _, stderr := runCLI(t, dir, "-db", other, "-keys", keys, "health", "acme")
	if code != 1 || !strings.Contains(stderr, "-db") || !strings.Contains(stderr, other) {
		t.Errorf("missing database: exit %d, %s", code, stderr)
	}
	if _, err := os.Stat(other); err == nil {
		t.Error("an admin command made the missing database")
	}
}

// TestServeStateFirstStart: serve (as systemd starts it, the key directory
// made by StateDirectory=) may make the database and the keys; it may not
// make the key directory.
func TestServeStateFirstStart(t *testing.T) {
	dir := t.TempDir()
	keys, db := filepath.Join(dir, "keys"), filepath.Join(dir, "fleet.db")
	c := &cli{dsn: db, keyDir: keys, org: "acme", cmd: &command{name: "serve", state: serveState}, log: slog.New(slog.DiscardHandler)}
	defer c.close()
	if _, err := c.fleet(context.Background()); err == nil || !strings.Contains(err.Error(), "-keys") {
		t.Fatalf("serve without its key directory: %v", err)
	}
	if got := entries(t, dir); len(got) != 0 {
		t.Fatalf("serve made %v", got)
	}
	if err := os.Mkdir(keys, 0o700); err != nil {
		t.Fatal(err)
	}
	f, err := c.fleet(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if f.Keys.Root.OrgID != "acme" {
		t.Errorf("trust root for %q", f.Keys.Root.OrgID)
	}
	if _, err := os.Stat(db); err != nil {
		t.Errorf("serve made no database: %v", err)
	}
}
