package control_test

import (
	"testing"

	"github.com/roomd/roomd/control"
)

func TestIndexSlot(t *testing.T) {
	for _, tc := range []struct {
		path string
		want int
	}{
		{"Call Receive 2 Fps", 2},
		{"Call Receive 1", 2},
		{"Schedule Next 3 Title", 2},
		{"SystemUnit DamagedFile 1 Name", 2},
		{"Audio Volume", -1},
		{"Call Receive", -1},
		{"Hardware Device mute_led State", -1}, // [Name], not a number
		{"Call Receive x Fps", -1},
		{"Nowhere 1", -1},
	} {
		if got := control.IndexSlot(control.ParsePath(tc.path)); got != tc.want {
			t.Errorf("IndexSlot(%q) = %d, want %d", tc.path, got, tc.want)
		}
	}
}
