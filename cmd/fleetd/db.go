package main

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	_ "modernc.org/sqlite"             // database/sql driver "sqlite"
)

// openStore opens the database named by dsn: "postgres://…" for PostgreSQL
// (several fleetd replicas may share it), anything else is a SQLite file.
func openStore(ctx context.Context, dsn string) (Store, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
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
	db, err := sql.Open("sqlite", "file:"+dsn+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)&_txlock=immediate")
	if err != nil {
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
		return nil, err
	}
	return s, nil
}
