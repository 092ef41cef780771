package main

import (
	"fmt"
	"log/slog"
	"slices"
	"sync"

	"golang.org/x/crypto/bcrypt"

	"github.com/roomd/roomd/provisioning"
)

// pinConsole is the serial console as the PINs see it; *serial.Server.
type pinConsole interface{ SetPINHash([]byte) error }

// pins holds the admin PIN hashes in force: the configuration file's until
// the fleet sends its own, and the file's again when the fleet stops
// sending one. The serial console follows at once; the touch panel asks
// PanelHash at every login. Hashes are never logged.
type pins struct {
	log *slog.Logger

	mu                      sync.Mutex
	localSerial, localPanel []byte
	serial, panel           []byte
	console                 pinConsole // nil until the consoles run
}

// newPINs starts from the configuration file's hashes (console.admin_pin_hash,
// panel.admin_pin_hash), already validated with the file.
func newPINs(serialHash, panelHash string, log *slog.Logger) *pins {
	p := &pins{log: log, localSerial: []byte(serialHash), localPanel: []byte(panelHash)}
	p.serial, p.panel = p.localSerial, p.localPanel
	return p
}

// SerialHash is the serial console's PIN hash in force.
func (p *pins) SerialHash() []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.serial)
}

// PanelHash is the touch panel's PIN hash in force; the panel takes it as a
// func() []byte. Without a panel PIN (from the fleet or the file) the panel
// takes the console's admin PIN in force, as it does from the file alone.
func (p *pins) PanelHash() []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.panel) == 0 {
		return slices.Clone(p.serial)
	}
	return slices.Clone(p.panel)
}

// attachConsole hands the PINs the running serial console and gives it the
// hash in force, which the fleet may have changed before the console ran.
func (p *pins) attachConsole(c pinConsole) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.console = c
	return c.SetPINHash(p.serial)
}

// apply makes the fleet's hashes the ones in force; empty fields return to
// the configuration file's. Both are checked before either changes: a hash
// that is not bcrypt is an error and nothing changes.
func (p *pins) apply(c provisioning.PINConfig) error {
	serial, panel := []byte(c.SerialHash), []byte(c.PanelHash)
	for name, h := range map[string][]byte{"serial": serial, "panel": panel} {
		if len(h) > 0 {
			if _, err := bcrypt.Cost(h); err != nil {
				return fmt.Errorf("roomd: the fleet's %s PIN hash is not a bcrypt hash; the PINs in force stay", name)
			}
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(serial) == 0 {
		serial = p.localSerial
	}
	if len(panel) == 0 {
		panel = p.localPanel
	}
	if p.console != nil && !slices.Equal(serial, p.serial) {
		if err := p.console.SetPINHash(serial); err != nil {
			return fmt.Errorf("roomd: serial console PIN: %w", err)
		}
	}
	if !slices.Equal(serial, p.serial) || !slices.Equal(panel, p.panel) {
		p.log.Info("roomd: admin PINs changed", "serial_from", pinSource(c.SerialHash), "panel_from", pinSource(c.PanelHash))
	}
	p.serial, p.panel = serial, panel
	return nil
}

func pinSource(fleetHash string) string {
	if fleetHash != "" {
		return "fleet"
	}
	return "configuration file"
}
