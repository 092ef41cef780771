// Package pgtest runs a throwaway real PostgreSQL (Debian's postgresql
// package) on loopback for tests.
//
// Start runs initdb into a fresh temporary directory, starts the server on
// 127.0.0.1 on a free port with its unix socket in that directory and with
// durability switched off (fsync, synchronous_commit, full_page_writes) so
// start-up takes about a second, creates a database and returns its
// postgres:// DSN. The server is stopped and the directory removed on cleanup.
//
// # Running as root
//
// PostgreSQL refuses to run as root. When the test runs as root, the data
// directory is owned by the unprivileged "postgres" user that Debian's
// package creates, and initdb, pg_ctl and createdb run as that user through
// runuser.
//
// # Missing PostgreSQL
//
// When the binaries are missing the test fails, never skips, and says how to
// install them (`apt-get install -y postgresql`), with or without CI=true.
// The one skip is a choice of the fast unit layer: under -short (make
// test-unit) Start skips before it looks for PostgreSQL; make test and CI
// never pass -short.
package pgtest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/roomd/roomd/internal/testtool"
)

// Options tune the server; nil means defaults.
type Options struct {
	// BinDir holds initdb, pg_ctl and createdb; empty means the newest
	// /usr/lib/postgresql/*/bin, else PATH.
	BinDir string
	// Database is the database to create; empty means "test".
	Database string
	// User is the unprivileged account the server runs as when the test
	// runs as root; empty means "postgres".
	User string
}

// Server is a running PostgreSQL.
type Server struct {
	// DSN is a postgres:// URL for the created database.
	DSN string
	// Port is the TCP port on 127.0.0.1.
	Port int
	// Dir is the temporary directory holding data, socket and log.
	Dir string
}

// Start runs PostgreSQL for the duration of t and stops it on cleanup. It
// fails t when PostgreSQL is missing or does not come up. Under -short (make
// test-unit) it skips t first, whether or not PostgreSQL is installed.
func Start(t testing.TB, opts *Options) *Server {
	t.Helper()
	testtool.SkipInShortMode(t, "PostgreSQL")
	return start(t, opts)
}

// start is Start without the -short skip.
func start(t testing.TB, opts *Options) *Server {
	t.Helper()
	if opts == nil {
		opts = &Options{}
	}
	db := opts.Database
	if db == "" {
		db = "test"
	}
	bin, err := findBin(opts.BinDir)
	if err != nil {
		t.Fatalf("pgtest: PostgreSQL not found: %v; %s", err, testtool.InstallHint("postgresql", "Debian's package, PostgreSQL 15"))
	}

	// t.TempDir's parents are 0700 root, which the postgres user cannot
	// enter, so the directory lives directly under the system temp dir.
	dir, err := os.MkdirTemp("", "pgtest-")
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	var runAs []string
	if os.Geteuid() == 0 {
		name := opts.User
		if name == "" {
			name = "postgres"
		}
		u, err := user.Lookup(name)
		if err != nil {
			t.Fatalf("pgtest: running as root needs an unprivileged user %q to run PostgreSQL as: %v; install `postgresql` (it creates the user) or set Options.User", name, err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatalf("pgtest: %v", err)
		}
		runAs = []string{"runuser", "-u", name, "--"}
	}
	run := func(name string, args ...string) error {
		argv := append(append(append([]string{}, runAs...), filepath.Join(bin, name)), args...)
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "LC_ALL=C", "PGTZ=UTC")
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("%s: %w\n%s", name, err, out)
		}
		return nil
	}

	data := filepath.Join(dir, "data")
	if err := run("initdb", "--pgdata", data, "--username", "postgres", "--auth", "trust",
		"--encoding", "UTF8", "--no-sync", "--no-instructions"); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	port, err := freePort()
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	settings := strings.Join([]string{
		"-c listen_addresses=127.0.0.1",
		"-c port=" + strconv.Itoa(port),
		"-c unix_socket_directories=" + dir,
		"-c fsync=off",
		"-c synchronous_commit=off",
		"-c full_page_writes=off",
		"-c max_connections=100",
		"-c shared_buffers=16MB",
		"-c logging_collector=off",
	}, " ")
	logFile := filepath.Join(dir, "postgres.log")
	if err := run("pg_ctl", "start", "--wait", "--timeout", "30", "--pgdata", data, "--log", logFile, "--options", settings); err != nil {
		log, _ := os.ReadFile(logFile)
		t.Fatalf("pgtest: starting PostgreSQL: %v\nlog:\n%s", err, log)
	}
	t.Cleanup(func() {
		if err := run("pg_ctl", "stop", "--wait", "--mode", "immediate", "--pgdata", data); err != nil {
			t.Errorf("pgtest: stopping PostgreSQL: %v", err)
		}
	})
	if err := run("createdb", "--host", dir, "--port", strconv.Itoa(port), "--username", "postgres", db); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return &Server{
		DSN:  fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", port, db),
		Port: port,
		Dir:  dir,
	}
}

// findBin returns the directory holding initdb.
func findBin(dir string) (string, error) {
	if dir != "" {
		if _, err := os.Stat(filepath.Join(dir, "initdb")); err != nil {
			return "", err
		}
		return dir, nil
	}
	// Debian keeps the server binaries off PATH; glob sorts, so the last is
	// the newest major version (until 100).
	if m, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb"); len(m) > 0 {
		return filepath.Dir(m[len(m)-1]), nil
	}
	p, err := exec.LookPath("initdb")
	if err != nil {
		return "", err
	}
	return filepath.Dir(p), nil
}

// freePort asks the kernel for a free loopback port. Another process could
// take it before PostgreSQL binds it; pg_ctl then fails loudly.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
