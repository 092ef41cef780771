package pgtest_test

import (
	"context"
	"database/sql"
	"fmt"
	"runtime"
	"strings"
	"testing"

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

// fatalRecorder stands in for a test so that Start's failure can be read.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (r *fatalRecorder) Helper() {}

func (r *fatalRecorder) Fatalf(format string, args ...any) {
	r.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// Without PostgreSQL, Start fails (never skips) and says how to install it.
func TestMissingPostgresFailsWithInstallHint(t *testing.T) {
	for _, ci := range []string{"", "true"} {
		t.Run("CI="+ci, func(t *testing.T) {
			t.Setenv("CI", ci)
			r := &fatalRecorder{TB: t}
			done := make(chan struct{})
			go func() {
				defer close(done)
				pgtest.Start(r, &pgtest.Options{BinDir: "/nonexistent/postgresql/bin"})
			}()
			<-done
			if !strings.Contains(r.msg, "apt-get install -y postgresql") {
				t.Errorf("Start without PostgreSQL said %q; want an install hint", r.msg)
			}
			if ci == "true" && !strings.Contains(r.msg, "CI must install") {
				t.Errorf("under CI=true Start said %q; want it to name CI", r.msg)
			}
		})
	}
}
