package panel_test

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/roomd/roomd/panel"
)

// A damaged panel-tokens.json never stops the panel: it is set aside as
// panel-tokens.json.corrupt-<time> and tablets can pair again; a good file
// others could read is made 0600 and its panels keep working.
func TestPanelTokensFileDamaged(t *testing.T) {
	sum := sha256.Sum256([]byte("known-token"))
	good := `{"panels":[{"id":"ab12cd34","name":"Lobby","hash":"` + hex.EncodeToString(sum[:]) + `","created":"2026-01-02T03:04:05Z"}]}`
	for _, tc := range []struct {
		name    string
		make    func(path string) error
		aside   bool // set aside
		pairsOK bool // the known token still works
	}{
		{"missing", func(string) error { return nil }, false, false},
		{"empty", func(p string) error { return os.WriteFile(p, nil, 0o600) }, true, false},
		{"truncated", func(p string) error { return os.WriteFile(p, []byte(good[:40]), 0o600) }, true, false},
		{"garbage", func(p string) error { return os.WriteFile(p, []byte("\x00\xff garbage"), 0o600) }, true, false},
		{"null", func(p string) error { return os.WriteFile(p, []byte("null"), 0o600) }, false, false},
		{"wrong type", func(p string) error { return os.WriteFile(p, []byte(`{"panels":5}`), 0o600) }, true, false},
		{"a directory", func(p string) error { return os.Mkdir(p, 0o700) }, true, false},
		{"readable by others", func(p string) error { return os.WriteFile(p, []byte(good), 0o644) }, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, panel.TokensFile)
			if err := tc.make(path); err != nil {
				t.Fatal(err)
			}
			r, _ := startRoom(t)
			tp := startPanel(t, r, func(o *panel.Options) { o.StateDir = dir })
			tp.dir = dir
			aside, _ := filepath.Glob(path + ".corrupt-*")
			if (len(aside) == 1) != tc.aside {
				t.Fatalf("set aside: %v; want %v", aside, tc.aside)
			}
			c := newClient(t, tp.remote)
			req, _ := http.NewRequest("GET", tp.remote, nil)
			c.http.Jar.SetCookies(req.URL, []*http.Cookie{{Name: "roomd_panel", Value: "known-token"}})
			var res map[string]any
			if st := c.do("GET", "/api/status", nil, &res); (st == 200) != tc.pairsOK {
				t.Fatalf("the known panel: GET /api/status %d", st)
			}
			if fi, err := os.Stat(path); err == nil && fi.Mode().Perm() != 0o600 {
				t.Errorf("tokens file mode %v", fi.Mode().Perm())
			}
			// A tablet pairs, and the file is good afterwards.
			tablet := newClient(t, tp.remote)
			pair(t, tp, tablet)
			if ps, err := panel.ListPaired(dir); err != nil || len(ps) == 0 {
				t.Fatalf("after pairing: %v %v", ps, err)
			}
		})
	}
}
