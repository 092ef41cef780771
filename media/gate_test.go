package media

import "testing"

func TestGateSilencesOnlyWhenClosed(t *testing.T) {
	var g Gate
	s := []int16{1, -2, 3}
	if g.SilenceIfClosed(s) || s[0] != 1 {
		t.Fatalf("open gate changed samples: %v", s)
	}
	if err := g.Set(true); err != nil {
		t.Fatal(err)
	}
	if on, _ := g.Get(); !on || !g.Closed() {
		t.Fatal("gate does not report closed")
	}
	if !g.SilenceIfClosed(s) || s[0] != 0 || s[1] != 0 || s[2] != 0 {
		t.Fatalf("closed gate let samples through: %v", s)
	}
}
