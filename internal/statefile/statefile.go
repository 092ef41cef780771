// Package statefile writes small state files so that a crash or power cut at
// any moment leaves either the old or the new content on disk, never a mix:
// write a temporary file, fsync it, rename it over the old one, fsync the
// directory.
//
// A file that cannot be read is never deleted or silently overwritten:
// [SetAside] keeps it beside the original as NAME.corrupt-TIME for a person
// to look at. Package roomstate keeps the room's state this way, with the
// previous good state beside it; this package knows nothing of the room.
package statefile

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/google/renameio/v2"
)

// WriteFile atomically replaces path with data.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	if err := renameio.WriteFile(path, data, perm); err != nil {
		return fmt.Errorf("statefile: writing %s: %w", path, err)
	}
	// renameio syncs the file; the rename itself is durable only once the
	// directory is synced too.
	return syncDir(filepath.Dir(path))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("statefile: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("statefile: syncing %s: %w", dir, err)
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

// ReadFile reads a state file. State files are private to roomd (written
// 0600): one that group or others can read, as a careless copy or restore
// leaves it, is made 0600 again before it is read.
func ReadFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() && st.Mode().Perm()&0o077 != 0 {
		if err := f.Chmod(st.Mode().Perm() &^ 0o077); err != nil {
			return nil, fmt.Errorf("statefile: %s is readable by others and cannot be made private: %w", path, err)
		}
	}
	return io.ReadAll(f)
}

// LoadJSON reads path into v; ok is false when the file does not exist.
func LoadJSON(path string, v any) (ok bool, err error) {
	b, err := ReadFile(path)
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

// SetAside renames a damaged file to NAME.corrupt-<UTC time> in its
// directory (adding -2, -3… if that name is taken) and returns the new path.
func SetAside(path string, now time.Time) (string, error) { return MoveAside(path, "corrupt", now) }

// MoveAside renames path to NAME.<why>-<UTC time> in its directory (adding
// -2, -3… if that name is taken), makes the rename durable and returns the
// new path; SetAside is MoveAside for a damaged file.
func MoveAside(path, why string, now time.Time) (string, error) {
	base := path + "." + why + "-" + now.UTC().Format("20060102T150405Z")
	to := base
	for i := 2; ; i++ {
		if _, err := os.Lstat(to); errors.Is(err, fs.ErrNotExist) {
			break
		}
		to = fmt.Sprintf("%s-%d", base, i)
	}
	if err := os.Rename(path, to); err != nil {
		return "", fmt.Errorf("statefile: setting %s aside: %w", path, err)
	}
	return to, syncDir(filepath.Dir(path))
}
