package logging

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestRingKeepsTheLastLines(t *testing.T) {
	var out bytes.Buffer
	r := NewRing(3)
	log := slog.New(r.Tee(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug}), slog.LevelInfo))
	log.Debug("not kept")
	for i := range 5 {
		log.With("n", i).Info("line")
	}
	got := r.Lines()
	if len(got) != 3 {
		t.Fatalf("kept %d lines: %q", len(got), got)
	}
	for i, l := range got {
		if !strings.Contains(l, fmt.Sprintf("n=%d", i+2)) || !strings.Contains(l, `msg=line`) || strings.Contains(l, "\n") {
			t.Errorf("line %d = %q", i, l)
		}
	}
	if !strings.Contains(out.String(), "not kept") || strings.Count(out.String(), "msg=line") != 5 {
		t.Errorf("the next handler did not get every record:\n%s", out.String())
	}
	if l := NewRing(2).Lines(); len(l) != 0 {
		t.Errorf("empty ring: %q", l)
	}
}
