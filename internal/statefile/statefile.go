// Package statefile writes small state files so that a crash or power cut at
// any moment leaves either the old or the new content on disk, never a mix:
// write a temporary file, fsync it, rename it over the old one, fsync the
// directory.
package statefile

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/google/renameio/v2"

	"github.com/roomd/roomd/room"
)

// WriteFile atomically replaces path with data.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	if err := renameio.WriteFile(path, data, perm); err != nil {
		return fmt.Errorf("statefile: writing %s: %w", path, err)
	}
	// renameio syncs the file; the rename itself is durable only once the
	// directory is synced too.
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return fmt.Errorf("statefile: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("statefile: syncing %s: %w", filepath.Dir(path), err)
	}
	return nil
}

// SaveJSON atomically writes v as indented JSON.
func SaveJSON(path string, v any, perm os.FileMode) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("statefile: encoding %s: %w", path, err)
	}
	return WriteFile(path, append(b, '\n'), perm)
}

// LoadJSON reads path into v; ok is false when the file does not exist.
func LoadJSON(path string, v any) (ok bool, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("statefile: %w", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("statefile: %s is damaged: %w", path, err)
	}
	return true, nil
}

// RoomStore keeps room.Persisted in one JSON file; it satisfies room.Store.
type RoomStore struct{ Path string }

// Load reads the saved room state.
func (s RoomStore) Load() (room.Persisted, bool, error) {
	var p room.Persisted
	ok, err := LoadJSON(s.Path, &p)
	return p, ok, err
}

// Save writes the room state atomically.
func (s RoomStore) Save(p room.Persisted) error { return SaveJSON(s.Path, p, 0o600) }

var _ room.Store = RoomStore{}
