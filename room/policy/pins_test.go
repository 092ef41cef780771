package policy

import (
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/roomd/roomd/internal/testtool"
)

// fakeConsole is the serial console's PIN setter; it refuses while fail.
type fakeConsole struct {
	mu   sync.Mutex
	hash []byte
	fail bool
}

func (c *fakeConsole) SetPINHash(h []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fail {
		return errors.New("serial: refused")
	}
	c.hash = h
	return nil
}

func (c *fakeConsole) get() string { c.mu.Lock(); defer c.mu.Unlock(); return string(c.hash) }

// The fleet's PINs replace the configuration file's at once (the serial
// console follows; the panel reads PanelHash), empty fields return to the
// file's, and a bad hash or a console refusing changes nothing.
func TestPINs(t *testing.T) {
	var logs testtool.LockedBuffer
	localSerial, localPanel := testtool.PINHash(t, "1234"), testtool.PINHash(t, "5678")
	fleetSerial, fleetPanel := testtool.PINHash(t, "4711"), testtool.PINHash(t, "8080")
	p := NewPINs(localSerial, localPanel, slog.New(slog.NewTextHandler(&logs, nil)))
	con := &fakeConsole{}
	// The fleet's PINs may arrive before the console runs.
	if err := p.Apply(PINHashes{Serial: fleetSerial}); err != nil {
		t.Fatal(err)
	}
	if err := p.AttachConsole(con); err != nil {
		t.Fatal(err)
	}
	if con.get() != fleetSerial {
		t.Fatal("the console did not get the fleet's PIN that came before it")
	}
	if err := p.Apply(PINHashes{Serial: fleetSerial, Panel: fleetPanel}); err != nil {
		t.Fatal(err)
	}
	check := func(serial, panel string) {
		t.Helper()
		if string(p.SerialHash()) != serial || string(p.PanelHash()) != panel || con.get() != serial {
			t.Fatalf("serial %q (console %q), panel %q; want %q, %q", p.SerialHash(), con.get(), p.PanelHash(), serial, panel)
		}
	}
	check(fleetSerial, fleetPanel)
	if bcrypt.CompareHashAndPassword(p.PanelHash(), []byte("8080")) != nil {
		t.Fatal("the panel's hash does not take the fleet's PIN")
	}
	for _, bad := range []PINHashes{{Serial: "4711"}, {Panel: "$2b$10$short"}, {Serial: testtool.PINHash(t, "1"), Panel: "x"}, {Serial: "x", Panel: testtool.PINHash(t, "2")}} {
		err := p.Apply(bad)
		if err == nil || !strings.HasPrefix(err.Error(), "policy: ") {
			t.Errorf("Apply(%+v) = %v, want a policy: error", bad, err)
		}
		check(fleetSerial, fleetPanel)
	}
	con.fail = true
	if err := p.Apply(PINHashes{Serial: testtool.PINHash(t, "9999"), Panel: testtool.PINHash(t, "9998")}); err == nil {
		t.Error("a console refusing the hash went unreported")
	}
	con.fail = false
	check(fleetSerial, fleetPanel)
	if err := p.Apply(PINHashes{}); err != nil {
		t.Fatal(err)
	}
	check(localSerial, localPanel)
	for _, secret := range []string{localSerial, localPanel, fleetSerial, fleetPanel, "4711", "8080"} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the log holds %q:\n%s", secret, logs.String())
		}
	}
}

// Which hash the panel takes, for each combination of file and fleet PINs.
func TestPINsPanelFallback(t *testing.T) {
	fileSerial, filePanel := testtool.PINHash(t, "1111"), testtool.PINHash(t, "2222")
	fleetSerial, fleetPanel := testtool.PINHash(t, "3333"), testtool.PINHash(t, "4444")
	for _, tc := range []struct {
		name                  string
		fileSerial, filePanel string
		fleet                 PINHashes
		wantSerial, wantPanel string
	}{
		{"file only", fileSerial, filePanel, PINHashes{}, fileSerial, filePanel},
		{"file console only", fileSerial, "", PINHashes{}, fileSerial, fileSerial},
		{"fleet console, no panel anywhere", fileSerial, "", PINHashes{Serial: fleetSerial}, fleetSerial, fleetSerial},
		{"fleet console, file panel", fileSerial, filePanel, PINHashes{Serial: fleetSerial}, fleetSerial, filePanel},
		{"fleet panel only", fileSerial, filePanel, PINHashes{Panel: fleetPanel}, fileSerial, fleetPanel},
		{"fleet both", "", "", PINHashes{Serial: fleetSerial, Panel: fleetPanel}, fleetSerial, fleetPanel},
		{"no PIN at all", "", "", PINHashes{}, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := NewPINs(tc.fileSerial, tc.filePanel, nil)
			if err := p.Apply(tc.fleet); err != nil {
				t.Fatal(err)
			}
			if string(p.SerialHash()) != tc.wantSerial || string(p.PanelHash()) != tc.wantPanel {
				t.Errorf("serial %q panel %q, want %q %q", p.SerialHash(), p.PanelHash(), tc.wantSerial, tc.wantPanel)
			}
		})
	}
}
