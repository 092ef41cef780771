package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	_ "modernc.org/sqlite"             // database/sql driver "sqlite"
)

// openStore opens the database named by dsn: "postgres://…" for PostgreSQL
// (several fleetd replicas may share it), anything else is a SQLite file.
// A SQLite file is created readable by its owner only (mode 0600), and so
// are its -wal and -shm files, which SQLite creates with the database's
// mode; one found readable by others is tightened to 0600 and the change
// logged to log (nil discards). A SQLite store holds the shared lock of
// FILE.lock until it is closed, so that fleetd restore refuses to replace
// the file under it.
func openStore(ctx context.Context, dsn string, log *slog.Logger) (Store, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if isPostgres(dsn) {
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			return nil, fmt.Errorf("fleetd: %w", err)
		}
		s, err := newSQLStore(ctx, db, true)
		if err != nil {
			db.Close()
			return nil, err
		}
		return s, nil
	}
	if err := privateSQLiteFiles(dsn, log); err != nil {
		return nil, err
	}
	// Held until Close: fleetd restore refuses while it is (backup.go).
	unlock, err := lockShared(dsn)
	if err != nil {
		return nil, err
	}
	db, err := sql.Open("sqlite", "file:"+dsn+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)&_txlock=immediate")
	if err != nil {
		unlock()
		return nil, fmt.Errorf("fleetd: %w", err)
	}
	// SQLite has one writer at a time. With a connection per request, a
	// burst of enrollments and reports under load waits out busy_timeout
	// and fails with SQLITE_BUSY (500s, then device backoff); one
	// connection queues the statements in the pool instead. busy_timeout
	// still covers the CLI writing while the server runs.
	db.SetMaxOpenConns(1)
	s, err := newSQLStore(ctx, db, false)
	if err != nil {
		db.Close()
		unlock()
		return nil, fmt.Errorf("%w; %s is damaged or not a fleetd database: restore it from a backup (fleetd does not start on it: an empty database would make every enrolled device unknown)", err, dsn)
	}
	if err := privateSQLiteFiles(dsn, log); err != nil { // the -wal and -shm just made
		db.Close()
		unlock()
		return nil, err
	}
	return lockedStore{Store: s, unlock: unlock}, nil
}

// checkDatabaseOfFleet refuses a missing or empty SQLite database when
// keyDir already holds a fleet (its CA certificate): a wrong -db path or a
// lost file would otherwise start an empty fleet on the old keys, and every
// enrolled room would become unknown to it.
func checkDatabaseOfFleet(dsn, keyDir string) error {
	if isPostgres(dsn) {
		return nil
	}
	if _, err := os.Stat(filepath.Join(keyDir, "ca.crt")); err != nil {
		return nil // a new fleet: keys and database are made together
	}
	fi, err := os.Stat(dsn)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("fleetd: the database %s does not exist, but %s holds a fleet's keys: restore fleet.db from a backup or give -db its path (fleetd does not start an empty database for an existing fleet: every enrolled room would be unknown to it)", dsn, keyDir)
	case err == nil && fi.Mode().IsRegular() && fi.Size() == 0:
		return fmt.Errorf("fleetd: the database %s is empty, but %s holds a fleet's keys: restore fleet.db from a backup (fleetd does not start an empty database for an existing fleet: every enrolled room would be unknown to it)", dsn, keyDir)
	}
	return nil
}

// privateSQLiteFiles creates the database file path with mode 0600 if it
// does not exist (SQLite takes an empty file as a new database) and makes
// it and its -wal, -shm and -journal files readable by their owner only.
func privateSQLiteFiles(path string, log *slog.Logger) error {
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("fleetd: database: %w", err)
	}
	f.Close()
	for _, p := range []string{path, path + "-wal", path + "-shm", path + "-journal"} {
		fi, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("fleetd: database: %w", err)
		}
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("fleetd: database file %s is not a regular file (%v); move it away", p, fi.Mode().Type())
		}
		if perm := fi.Mode().Perm(); perm&0o077 != 0 {
			if err := os.Chmod(p, 0o600); err != nil {
				return fmt.Errorf("fleetd: database file %s is readable by others (mode %04o) and could not be made private: %w; run `chmod 600 %s`", p, perm, err, p)
			}
			log.Warn("fleetd: database file was readable by others; made it private (mode 0600)", "file", p, "was", fmt.Sprintf("%04o", perm))
		}
	}
	return nil
}
