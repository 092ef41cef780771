package logging

import (
	"bytes"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

func TestJournalLines(t *testing.T) {
	var b bytes.Buffer
	l, err := New(&b, "journal", slog.LevelDebug)
	if err != nil {
		t.Fatal(err)
	}
	l.With("c", "room").Error("mic failed", "err", "gone")
	l.Info("ready")
	l.Debug("poll")
	want := "<3>msg=\"mic failed\" c=room err=gone\n<6>msg=ready\n<7>msg=poll\n"
	if b.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", b.String(), want)
	}
}

func TestTextAndLevels(t *testing.T) {
	var b bytes.Buffer
	lvl, err := ParseLevel("warn")
	if err != nil {
		t.Fatal(err)
	}
	l, _ := New(&b, "auto", lvl)
	l.Info("hidden")
	l.Warn("shown")
	if s := b.String(); strings.Contains(s, "hidden") || !strings.Contains(s, "level=WARN msg=shown") || !strings.Contains(s, "time=") {
		t.Fatalf("text output %q", s)
	}
	if _, err := ParseLevel("loud"); err == nil {
		t.Fatal("bad level accepted")
	}
	if _, err := New(&b, "xml", lvl); err == nil {
		t.Fatal("bad format accepted")
	}
}

func TestUnderJournalMatchesDeviceAndInode(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "stream")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var st syscall.Stat_t
	syscall.Fstat(int(f.Fd()), &st)
	t.Setenv("JOURNAL_STREAM", "")
	if UnderJournal(f) {
		t.Fatal("under journal without JOURNAL_STREAM")
	}
	t.Setenv("JOURNAL_STREAM", strings.Join([]string{itoa(st.Dev), itoa(st.Ino)}, ":"))
	if !UnderJournal(f) {
		t.Fatal("not under journal with a matching JOURNAL_STREAM")
	}
	if UnderJournal(os.Stdin) {
		t.Fatal("stdin taken for the journal stream")
	}
}

func itoa(v uint64) string { return strconv.FormatUint(v, 10) }
