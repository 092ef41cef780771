package roomdconfig

import (
	"crypto/x509"
	"fmt"
	"os"

	"github.com/roomd/roomd/hal"
)

// Provisioning is the [provisioning] table: the fleet server and how the
// device enrolls with it.
type Provisioning struct {
	Server         string       `toml:"server"`          // fleet server URL; "" = standalone
	ActivationCode string       `toml:"activation_code"` // enroll with this code at start
	CodeFile       string       `toml:"code_file"`       // or read the code from this file (boot partition)
	CAFile         string       `toml:"ca_file"`         // PEM roots for the first contact; default: the system's
	StartDelay     hal.Duration `toml:"start_delay"`     // random wait before the first poll, default 30s
	// Preregistered: the device key was registered with its room at the
	// factory, so the device enrolls without a code.
	Preregistered bool `toml:"preregistered"`
}

func (p Provisioning) validate() error {
	if p.Server == "" && (p.ActivationCode != "" || p.CodeFile != "" || p.Preregistered) {
		return fmt.Errorf("provisioning: an activation code or preregistered = true needs provisioning.server")
	}
	return nil
}

// RootCAs reads ca_file: the roots the device trusts at its first contact
// with the fleet server; nil (the system's roots) when ca_file is not set.
func (p Provisioning) RootCAs() (*x509.CertPool, error) {
	if p.CAFile == "" {
		return nil, nil
	}
	pem, err := os.ReadFile(p.CAFile)
	if err != nil {
		return nil, fmt.Errorf("provisioning: %w", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("provisioning: %s holds no PEM certificate", p.CAFile)
	}
	return roots, nil
}
