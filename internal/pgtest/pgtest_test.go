package pgtest_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"

	"github.com/roomd/roomd/internal/testtool"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/roomd/roomd/internal/pgtest"
)

func TestStartServesDatabase(t *testing.T) {
	s := pgtest.Start(t, nil)
	db, err := sql.Open("pgx", s.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var name string
	if err := db.QueryRowContext(context.Background(), "SELECT current_database()").Scan(&name); err != nil {
		t.Fatal(err)
	}
	if name != "test" {
		t.Errorf("current_database() = %q, want test", name)
	}
}

// Without PostgreSQL, Start fails (never skips) and says how to install it.
// It runs past Start's -short skip, so make test-unit checks it too.
func TestMissingPostgresFailsWithInstallHint(t *testing.T) {
	for _, ci := range []string{"", "true"} {
		t.Run("CI="+ci, func(t *testing.T) {
			t.Setenv("CI", ci)
			msg := testtool.FatalMessage(t, func(tb testing.TB) { pgtest.StartPastShort(tb, &pgtest.Options{BinDir: "/nonexistent/postgresql/bin"}) })
			if !strings.Contains(msg, "apt-get install -y postgresql") {
				t.Errorf("Start without PostgreSQL said %q; want an install hint", msg)
			}
			if ci == "true" && !strings.Contains(msg, "CI must install") {
				t.Errorf("under CI=true Start said %q; want it to name CI", msg)
			}
		})
	}
}
