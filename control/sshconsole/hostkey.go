package sshconsole

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/roomd/roomd/internal/statefile"
)

// HostKey is the server's identity as [LoadHostKey] found it.
type HostKey struct {
	Signer ssh.Signer
	// Created is set when the key was made now (first start, or the old
	// file was damaged).
	Created bool
	// SetAside is where a damaged key file was moved, "" when none was.
	SetAside string
}

// Fingerprint is the key's SHA256 fingerprint, as ssh shows it on first
// contact; it is not a secret.
func (k HostKey) Fingerprint() string { return ssh.FingerprintSHA256(k.Signer.PublicKey()) }

// LoadHostKey reads the host key at path (OpenSSH's private key format),
// making an Ed25519 key with mode 0600 when there is none. A file that does
// not parse is set aside as path.corrupt-TIME and replaced, so the console
// keeps working; clients then see a new fingerprint, which the caller
// logs.
func LoadHostKey(path string, now time.Time) (HostKey, error) {
	raw, err := statefile.ReadFile(path)
	var k HostKey
	switch {
	case err == nil:
		s, perr := ssh.ParsePrivateKey(raw)
		if perr == nil {
			return HostKey{Signer: s}, nil
		}
		if k.SetAside, err = statefile.SetAside(path, now); err != nil {
			return k, fmt.Errorf("sshconsole: host key %s is damaged (%v) and could not be set aside: %w", path, perr, err)
		}
	case !errors.Is(err, fs.ErrNotExist):
		return k, fmt.Errorf("sshconsole: reading the host key: %w", err)
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return k, fmt.Errorf("sshconsole: making a host key: %w", err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "roomd host key")
	if err != nil {
		return k, fmt.Errorf("sshconsole: encoding the host key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return k, fmt.Errorf("sshconsole: %w", err)
	}
	if err := statefile.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		return k, fmt.Errorf("sshconsole: writing the host key; check that the state directory is writable: %w", err)
	}
	if k.Signer, err = ssh.NewSignerFromKey(priv); err != nil {
		return k, fmt.Errorf("sshconsole: %w", err)
	}
	k.Created = true
	return k, nil
}
