// Package roomstate keeps the room's saved state (room.Persisted) on disk
// for room.Store: written atomically through package statefile, with the
// previous good state kept beside it as room.json.prev, and a damaged file
// set aside as NAME.corrupt-TIME and reported so the room closes its
// privacy rather than trusting what it could not read.
//
// It lives apart from statefile so that the generic writer stays free of
// the room, and fleetd, which uses statefile, does not link room.
package roomstate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/roomd/roomd/internal/statefile"
	"github.com/roomd/roomd/room"
)

// PrevSuffix names the previous good room state beside the current one.
const PrevSuffix = ".prev"

// Store keeps room.Persisted in the JSON file Path and the state saved
// before it in Path+".prev"; it satisfies room.Store.
//
// Load reads the current file field by field. A file that cannot be read
// wholly (unreadable, empty, truncated, not JSON, null, a field of the
// wrong type, a privacy field missing) is set aside as
// Path.corrupt-<time>, the previous state is loaded instead when it reads
// cleanly, and the damage is reported for the room to close its privacy.
// Values out of range are the room's to repair, not damage.
type Store struct {
	Path string
	// Now names set-aside files; nil means time.Now.
	Now func() time.Time
}

var _ room.Store = Store{}

func (s Store) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Load reads the saved room state into p, which holds the defaults.
func (s Store) Load(p *room.Persisted) room.Loaded {
	def := *p
	prevPath := s.Path + PrevSuffix
	found, err := readRoom(s.Path, p)
	switch {
	case found && err == nil:
		return room.Loaded{Found: true}
	case !found && err == nil:
		// No current state. Without a previous one either this is the
		// first start; with one, the current file was lost.
		prev := def
		pfound, perr := readRoom(prevPath, &prev)
		if !pfound && perr == nil {
			return room.Loaded{}
		}
		if perr == nil {
			*p = prev
			return room.Loaded{Found: true, Previous: true,
				Damaged: fmt.Errorf("%w: %s is missing but %s is there", room.ErrStateDamaged, s.Path, filepath.Base(prevPath))}
		}
		*p = prev // what could be read of it
		return room.Loaded{Found: true, Damaged: fmt.Errorf("%w: %s is missing and %s", room.ErrStateDamaged, s.Path, s.keepAside(prevPath, perr))}
	}
	dmg := fmt.Errorf("%w: %s", room.ErrStateDamaged, s.keepAside(s.Path, err))
	prev := def
	pfound, perr := readRoom(prevPath, &prev)
	switch {
	case pfound && perr == nil:
		*p = prev
		return room.Loaded{Found: true, Previous: true, Damaged: dmg}
	case perr != nil:
		dmg = fmt.Errorf("%w; %s", dmg, s.keepAside(prevPath, perr))
	}
	// p holds what could be read of the current file over the defaults.
	return room.Loaded{Found: true, Damaged: dmg}
}

// keepAside sets a damaged file aside and describes both.
func (s Store) keepAside(path string, damage error) string {
	to, err := statefile.SetAside(path, s.now())
	if err != nil {
		return fmt.Sprintf("%v (and it could not be set aside: %v)", damage, err)
	}
	return fmt.Sprintf("%v; kept as %s", damage, filepath.Base(to))
}

// Save writes the room state atomically, first keeping the state it
// replaces as Path.prev when that reads cleanly.
func (s Store) Save(p room.Persisted) error {
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return fmt.Errorf("roomstate: encoding %s: %w", s.Path, err)
	}
	b = append(b, '\n')
	var prevErr error
	cur, err := os.ReadFile(s.Path)
	switch {
	case err == nil && bytes.Equal(cur, b):
		return nil
	case err == nil:
		var q room.Persisted
		if derr := decodeRoom(cur, &q); derr == nil {
			prevErr = statefile.WriteFile(s.Path+PrevSuffix, cur, 0o600)
		} else {
			// Damaged behind roomd's back: keep it, and the good .prev.
			statefile.SetAside(s.Path, s.now())
		}
	}
	if err := statefile.WriteFile(s.Path, b, 0o600); err != nil {
		return err
	}
	if prevErr != nil {
		return fmt.Errorf("roomstate: the room state is saved but the previous one was not kept: %w", prevErr)
	}
	return nil
}

// readRoom reads path into p; found is false when it does not exist.
func readRoom(path string, p *room.Persisted) (found bool, err error) {
	b, err := statefile.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return true, fmt.Errorf("%s cannot be read (%w)", path, err)
	}
	if err := decodeRoom(b, p); err != nil {
		return true, fmt.Errorf("%s is damaged (%w)", path, err)
	}
	return true, nil
}

var null = []byte("null")

// decodeRoom reads a room state field by field into p: a field that is
// missing keeps p's value, one that cannot be decoded is reported and keeps
// p's value too. The privacy fields must be there.
func decodeRoom(b []byte, p *room.Persisted) error {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		if len(bytes.TrimSpace(b)) == 0 {
			return errors.New("it is empty")
		}
		return err
	}
	if top == nil {
		return errors.New("it holds null")
	}
	var bad []string
	field := func(obj map[string]json.RawMessage, prefix, name string, required bool, set func([]byte) error) {
		raw, ok := obj[name]
		switch {
		case !ok && required:
			bad = append(bad, prefix+name+" missing")
		case !ok:
		case bytes.Equal(bytes.TrimSpace(raw), null):
			bad = append(bad, prefix+name+" null")
		default:
			if err := set(raw); err != nil {
				bad = append(bad, prefix+name+" unreadable")
			}
		}
	}
	st := &p.Settings
	field(top, "", "Settings", true, func(raw []byte) error {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(raw, &obj); err != nil {
			return err
		}
		// Settings added after a file was written keep their defaults.
		field(obj, "Settings.", "Name", false, into(&st.Name))
		field(obj, "Settings.", "DefaultVolume", false, into(&st.DefaultVolume))
		field(obj, "Settings.", "VolumeStep", false, into(&st.VolumeStep))
		field(obj, "Settings.", "Unmute", false, into(&st.Unmute))
		field(obj, "Settings.", "MuteOnJoin", false, into(&st.MuteOnJoin))
		field(obj, "Settings.", "Presets", false, into(&st.Presets))
		return nil
	})
	field(top, "", "MicMute", true, into(&p.MicMute))
	field(top, "", "CameraPrivacy", true, into(&p.CameraPrivacy))
	if len(bad) > 0 {
		return fmt.Errorf("fields %s", strings.Join(bad, ", "))
	}
	return nil
}

// into decodes into a copy and stores it only when that succeeds.
func into[T any](dst *T) func([]byte) error {
	return func(raw []byte) error {
		var v T
		if err := json.Unmarshal(raw, &v); err != nil {
			return err
		}
		*dst = v
		return nil
	}
}
