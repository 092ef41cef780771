package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Backup and restore of a SQLite fleet.
//
// fleetd backup copies the live database with SQLite's VACUUM INTO: one
// read transaction, so the copy is a consistent snapshot while fleetd serve
// keeps answering polls and writing reports (WAL mode lets writers go on).
// The copy is written to a temporary file beside the target, fsynced,
// checked (PRAGMA integrity_check and the fleet's tables) and only then
// renamed over the target, mode 0600.
//
// fleetd restore puts a checked backup in place of the database. It must
// not run under a fleetd that has the database open, so every fleetd that
// opens a SQLite fleet (serve for as long as it runs, the admin commands
// while they run) holds a shared flock(2) on FILE.lock beside it, and
// restore takes that lock exclusively or refuses. The kernel drops the lock
// when its process ends, so a crashed fleetd never leaves a stale lock.
//
// PostgreSQL has its own tools (pg_dump, pg_restore); backup and restore
// refuse a postgres:// database and say so.

// errDatabaseInUse is the lock of a SQLite database held in a way that
// conflicts with the one asked for.
var errDatabaseInUse = errors.New("fleetd: database in use")

// lockFile is the lock file beside the SQLite database db.
func lockFile(db string) string { return db + ".lock" }

// lockDatabase takes the lock on the SQLite database db without waiting:
// shared for the fleetd commands that open it, exclusive for restore. It
// fails with errDatabaseInUse when a conflicting lock is held. unlock is
// idempotent.
func lockDatabase(db string, exclusive bool) (unlock func() error, err error) {
	// The lock file is empty and locked through a read-only descriptor:
	// one made by root (umask 022) still lets the service user lock it.
	f, err := os.OpenFile(lockFile(db), os.O_RDONLY|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("fleetd: database lock: %w", err)
	}
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	for {
		err = syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, errDatabaseInUse
		}
		return nil, fmt.Errorf("fleetd: locking %s: %w", lockFile(db), err)
	}
	return sync.OnceValue(f.Close), nil // closing the file drops the lock
}

// lockedStore is a SQLite store holding the database's shared lock until
// it is closed.
type lockedStore struct {
	Store
	unlock func() error
}

func (s lockedStore) Close() error {
	err := s.Store.Close()
	s.unlock()
	return err
}

// lockShared takes the shared lock of a fleetd opening the SQLite database
// db, refusing while fleetd restore replaces it.
func lockShared(db string) (unlock func() error, err error) {
	unlock, err = lockDatabase(db, false)
	if errors.Is(err, errDatabaseInUse) {
		return nil, fmt.Errorf("fleetd: %s is being restored (fleetd restore holds %s): run the command again when the restore has finished", db, lockFile(db))
	}
	return unlock, err
}

// fleetTables are the tables a fleet's database has, from its schema.
func fleetTables() []string {
	var names []string
	for _, m := range regexp.MustCompile(`CREATE TABLE IF NOT EXISTS (\w+)`).FindAllStringSubmatch(schema, -1) {
		names = append(names, m[1])
	}
	return names
}

// backupSummary is what a checked database file holds.
type backupSummary struct {
	rows map[string]int64 // per table
	size int64
}

func (s backupSummary) String() string {
	return fmt.Sprintf("%d organisations, %d rooms, %d devices, %d bytes", s.rows["orgs"], s.rows["rooms"], s.rows["devices"], s.size)
}

// checkFleetFile opens the SQLite file path read-only, without touching
// it (no -wal or -shm made), and checks it is an intact fleet database:
// PRAGMA integrity_check says ok and every fleet table can be read.
func checkFleetFile(ctx context.Context, path string) (backupSummary, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return backupSummary{}, err
	}
	if !fi.Mode().IsRegular() || fi.Size() == 0 {
		return backupSummary{}, errors.New("not a SQLite database (empty or not a regular file)")
	}
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&immutable=1")
	if err != nil {
		return backupSummary{}, err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, "PRAGMA integrity_check")
	if err != nil {
		return backupSummary{}, fmt.Errorf("integrity check: %w", err)
	}
	var problems []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			rows.Close()
			return backupSummary{}, fmt.Errorf("integrity check: %w", err)
		}
		if s != "ok" {
			problems = append(problems, s)
		}
	}
	if err := rows.Err(); err != nil {
		rows.Close()
		return backupSummary{}, fmt.Errorf("integrity check: %w", err)
	}
	rows.Close()
	if len(problems) > 0 {
		if len(problems) > 3 {
			problems = append(problems[:3], fmt.Sprintf("and %d more", len(problems)-3))
		}
		return backupSummary{}, fmt.Errorf("integrity check failed: %s", strings.Join(problems, "; "))
	}
	sum := backupSummary{rows: map[string]int64{}, size: fi.Size()}
	for _, t := range fleetTables() {
		var n int64
		if err := db.QueryRowContext(ctx, "SELECT count(*) FROM "+t).Scan(&n); err != nil {
			return backupSummary{}, fmt.Errorf("not a fleet database (table %s: %w)", t, err)
		}
		sum.rows[t] = n
	}
	return sum, nil
}

// sqliteFile parses the arguments of backup and restore (one FILE) and
// refuses a PostgreSQL fleet, pointing to PostgreSQL's own tools.
func sqliteFile(c *cli, fs *flag.FlagSet, args []string) (string, error) {
	a, err := c.parse(fs, args, 1)
	if err != nil {
		return "", err
	}
	if isPostgres(c.dsn) {
		return "", fmt.Errorf("fleetd %s: -db is a PostgreSQL database; fleetd backs up SQLite files only: use PostgreSQL's own tools, pg_dump -Fc -f fleet.dump URL to back it up and pg_restore --clean -d URL fleet.dump to restore it (docs/fleetd-service.md)", c.cmd.name)
	}
	return a[0], nil
}

// runBackup is fleetd backup FILE.
func runBackup(ctx context.Context, c *cli, fs *flag.FlagSet, args []string) error {
	file, err := sqliteFile(c, fs, args)
	if err != nil {
		return err
	}
	sum, err := backupSQLite(ctx, c.dsn, file)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "backed up %s to %s: %v, integrity ok\n", c.dsn, file, sum)
	return nil
}

// backupSQLite writes a consistent copy of the SQLite database db to
// target, atomically and with mode 0600, and checks it.
func backupSQLite(ctx context.Context, db, target string) (backupSummary, error) {
	fail := func(err error) (backupSummary, error) { return backupSummary{}, err }
	fi, err := os.Stat(db)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fail(fmt.Errorf("fleetd backup: the database %s does not exist: give -db the fleet's SQLite file", db))
	case err != nil:
		return fail(fmt.Errorf("fleetd backup: database (-db): %w", err))
	case !fi.Mode().IsRegular():
		return fail(fmt.Errorf("fleetd backup: -db %s is not a file: give -db the fleet's SQLite file", db))
	}
	if ti, err := os.Stat(target); err == nil && os.SameFile(fi, ti) {
		return fail(fmt.Errorf("fleetd backup: %s is the database itself: give the backup a path of its own", target))
	}
	unlock, err := lockShared(db)
	if err != nil {
		return fail(err)
	}
	defer unlock()

	// VACUUM INTO writes into a file that does not exist or is empty: an
	// empty temporary file, made 0600, beside the target.
	tmp, err := os.CreateTemp(filepath.Dir(target), "."+filepath.Base(target)+".tmp-*")
	if err != nil {
		return fail(fmt.Errorf("fleetd backup: %w; give the backup a path in a directory you can write", err))
	}
	tmpName := tmp.Name()
	tmp.Close()
	done := false
	defer func() {
		if !done {
			os.Remove(tmpName)
		}
	}()

	src, err := sql.Open("sqlite", "file:"+db+"?_pragma=busy_timeout(5000)")
	if err != nil {
		return fail(fmt.Errorf("fleetd backup: %w", err))
	}
	_, err = src.ExecContext(ctx, "VACUUM INTO ?", tmpName)
	src.Close()
	if err != nil {
		return fail(fmt.Errorf("fleetd backup: copying %s: %w", db, err))
	}
	// SQLite does not fsync what VACUUM INTO wrote.
	if err := syncFile(tmpName); err != nil {
		return fail(fmt.Errorf("fleetd backup: %w", err))
	}
	sum, err := checkFleetFile(ctx, tmpName)
	if err != nil {
		return fail(fmt.Errorf("fleetd backup: the copy of %s failed its check, nothing written to %s: %w", db, target, err))
	}
	if err := os.Chmod(tmpName, 0o600); err != nil {
		return fail(fmt.Errorf("fleetd backup: %w", err))
	}
	if err := os.Rename(tmpName, target); err != nil {
		return fail(fmt.Errorf("fleetd backup: %w", err))
	}
	done = true
	if err := syncDir(filepath.Dir(target)); err != nil {
		return fail(fmt.Errorf("fleetd backup: %w", err))
	}
	return sum, nil
}

// runRestore is fleetd restore FILE.
func runRestore(ctx context.Context, c *cli, fs *flag.FlagSet, args []string) error {
	file, err := sqliteFile(c, fs, args)
	if err != nil {
		return err
	}
	sum, aside, err := restoreSQLite(ctx, c.dsn, file, time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "restored %s from %s: %v\n", c.dsn, file, sum)
	if aside != "" {
		fmt.Fprintf(c.stdout, "the previous database is kept as %s\n", aside)
	}
	return nil
}

// restoreSQLite replaces the SQLite database db with the checked backup
// from, keeping the database it replaces as db.before-restore-TIME (its
// path is returned; "" when there was none). It refuses while any fleetd
// has db open, and leaves db as it was when it refuses or fails before the
// final rename.
func restoreSQLite(ctx context.Context, db, from string, now time.Time) (sum backupSummary, aside string, err error) {
	fail := func(err error) (backupSummary, string, error) { return backupSummary{}, "", err }
	if _, err := os.Stat(from); err != nil {
		return fail(fmt.Errorf("fleetd restore: backup %s: %w; give restore the file fleetd backup wrote", from, err))
	}
	if _, err := checkFleetFile(ctx, from); err != nil {
		return fail(fmt.Errorf("fleetd restore: %s is not a usable backup, nothing changed: %w", from, err))
	}
	dir := filepath.Dir(db)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return fail(fmt.Errorf("fleetd restore: the directory of -db %s does not exist: give -db the fleet's SQLite file", db))
	}
	unlock, err := lockDatabase(db, true)
	if errors.Is(err, errDatabaseInUse) {
		return fail(fmt.Errorf("fleetd restore: %s is in use by a running fleetd (fleetd serve or an admin command holds %s): stop it first (systemctl stop fleetd), then run restore again; nothing changed", db, lockFile(db)))
	}
	if err != nil {
		return fail(err)
	}
	defer unlock()

	// Copy the backup beside the database and check the copy: it is what
	// goes in place.
	tmp, err := copyToTemp(from, dir, "."+filepath.Base(db)+".restore-*")
	if err != nil {
		return fail(fmt.Errorf("fleetd restore: %w", err))
	}
	done := false
	defer func() {
		if !done {
			os.Remove(tmp)
		}
	}()
	if sum, err = checkFleetFile(ctx, tmp); err != nil {
		return fail(fmt.Errorf("fleetd restore: the copy of %s failed its check, nothing changed: %w", from, err))
	}

	if fi, err := os.Lstat(db); err == nil {
		// The restored file belongs to whoever owned the old one, so that
		// a restore run as root leaves a database the service user opens.
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && os.Geteuid() == 0 {
			if err := os.Chown(tmp, int(st.Uid), int(st.Gid)); err != nil {
				return fail(fmt.Errorf("fleetd restore: %w; nothing changed", err))
			}
		}
		// Fold the old database's write-ahead log into it (best effort: it
		// may be the damage being repaired), then keep it aside under a
		// second name: db itself is only ever replaced by one rename.
		checkpoint(ctx, db)
		if aside, err = keepAside(db, now); err != nil {
			return fail(fmt.Errorf("fleetd restore: %w; nothing changed", err))
		}
		// The old -wal and -shm must not meet the restored file.
		for _, ext := range []string{"-wal", "-shm", "-journal"} {
			if err := os.Remove(db + ext); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fail(fmt.Errorf("fleetd restore: %w; the database is as it was (a copy in %s)", err, aside))
			}
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fail(fmt.Errorf("fleetd restore: database (-db): %w", err))
	}
	if err := os.Rename(tmp, db); err != nil {
		return fail(fmt.Errorf("fleetd restore: %w", err))
	}
	done = true
	if err := syncDir(dir); err != nil {
		return sum, aside, fmt.Errorf("fleetd restore: %w", err)
	}
	return sum, aside, nil
}

// checkpoint folds the SQLite database's write-ahead log into it, if it can.
func checkpoint(ctx context.Context, db string) {
	if _, err := os.Stat(db + "-wal"); err != nil {
		return
	}
	h, err := sql.Open("sqlite", "file:"+db+"?_pragma=busy_timeout(1000)")
	if err != nil {
		return
	}
	defer h.Close()
	h.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)")
}

// keepAside links db (and a -wal SQLite could not fold in) to
// db.before-restore-TIME, adding -2, -3… if that name is taken, and makes
// the links durable.
func keepAside(db string, now time.Time) (string, error) {
	base := db + ".before-restore-" + now.UTC().Format("20060102T150405Z")
	to := base
	for i := 2; ; i++ {
		if _, err := os.Lstat(to); errors.Is(err, fs.ErrNotExist) {
			break
		}
		to = fmt.Sprintf("%s-%d", base, i)
	}
	if err := os.Link(db, to); err != nil {
		return "", fmt.Errorf("keeping the previous database: %w", err)
	}
	if err := os.Link(db+"-wal", to+"-wal"); err != nil && !errors.Is(err, fs.ErrNotExist) {
		os.Remove(to)
		return "", fmt.Errorf("keeping the previous database's log: %w", err)
	}
	return to, syncDir(filepath.Dir(db))
}

// copyToTemp copies from to a new file, mode 0600, in dir named by
// pattern (as os.CreateTemp), fsynced, and returns its path.
func copyToTemp(from, dir, pattern string) (string, error) {
	in, err := os.Open(from)
	if err != nil {
		return "", err
	}
	defer in.Close()
	out, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return "", err
	}
	_, err = io.Copy(out, in)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(out.Name())
		return "", err
	}
	return out.Name(), nil
}

// syncFile fsyncs the file at path.
func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// syncDir fsyncs the directory dir, making renames and links in it durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
