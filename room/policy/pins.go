package policy

import (
	"fmt"
	"log/slog"
	"slices"
	"sync"

	"golang.org/x/crypto/bcrypt"
)

// Console is the serial console as the PINs see it; *serial.Server.
type Console interface{ SetPINHash([]byte) error }

// PINHashes are the fleet bundle's admin PIN hashes (bcrypt); an empty
// field is the configuration file's.
type PINHashes struct {
	Serial string // the serial console's admin PIN
	Panel  string // the touch panel's admin PIN; none: the console's
}

// PINs holds the admin PIN hashes in force: the configuration file's until
// the fleet sends its own, and the file's again when the fleet stops
// sending one. The serial console follows at once; the touch panel asks
// PanelHash at every login. Hashes are never logged.
type PINs struct {
	log *slog.Logger

	mu                      sync.Mutex
	localSerial, localPanel []byte
	serial, panel           []byte
	console                 Console // nil until the consoles run
}

// NewPINs starts from the configuration file's hashes (console.admin_pin_hash,
// panel.admin_pin_hash), already validated with the file. A nil log discards.
func NewPINs(serialHash, panelHash string, log *slog.Logger) *PINs {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &PINs{log: log, localSerial: []byte(serialHash), localPanel: []byte(panelHash)}
	p.serial, p.panel = p.localSerial, p.localPanel
	return p
}

// SerialHash is the serial console's PIN hash in force.
func (p *PINs) SerialHash() []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.serial)
}

// PanelHash is the touch panel's PIN hash in force; the panel takes it as a
// func() []byte. Without a panel PIN (from the fleet or the file) the panel
// takes the console's admin PIN in force, as it does from the file alone.
func (p *PINs) PanelHash() []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.panel) == 0 {
		return slices.Clone(p.serial)
	}
	return slices.Clone(p.panel)
}

// AttachConsole hands the PINs the running serial console and gives it the
// hash in force, which the fleet may have changed before the console ran.
func (p *PINs) AttachConsole(c Console) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.console = c
	return c.SetPINHash(p.serial)
}

// Apply makes the fleet's hashes the ones in force; empty fields return to
// the configuration file's. Both are checked before either changes: a hash
// that is not bcrypt, or a console refusing the new one, is an error and
// nothing changes.
func (p *PINs) Apply(h PINHashes) error {
	serial, panel := []byte(h.Serial), []byte(h.Panel)
	for _, c := range []struct {
		name string
		hash []byte
	}{{"serial", serial}, {"panel", panel}} {
		if len(c.hash) > 0 {
			if _, err := bcrypt.Cost(c.hash); err != nil {
				return fmt.Errorf("policy: the fleet's %s PIN hash is not a bcrypt hash; the PINs in force stay (fix the bundle's pins)", c.name)
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
			return fmt.Errorf("policy: serial console PIN: %w", err)
		}
	}
	if !slices.Equal(serial, p.serial) || !slices.Equal(panel, p.panel) {
		p.log.Info("roomd: admin PINs changed", "serial_from", pinSource(h.Serial), "panel_from", pinSource(h.Panel))
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
