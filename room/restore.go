package room

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Ranges of the settings, checked by [Settings.Validate] and enforced field
// by field by [Settings.Repair].
const (
	maxNameBytes = 64
	maxVolume    = 100
	minStep      = 1
	maxStep      = 50
	maxPresets   = 15
)

// ErrStateDamaged is wrapped by a [Loaded.Damaged] error: the saved state
// could not be read wholly.
var ErrStateDamaged = errors.New("saved room state damaged")

// Loaded is what a [Store] found when the room started.
type Loaded struct {
	// Found is set when a saved state existed (it is false on the first
	// start, when nothing was saved yet).
	Found bool
	// Previous is set when the current state could not be read and the
	// previous good one was loaded instead.
	Previous bool
	// Damaged says what could not be read and where the damaged file was
	// kept; nil when the state was read wholly. It wraps ErrStateDamaged.
	Damaged error
}

// RestoreSource says where the room's state came from when it started.
type RestoreSource int

// Restore sources.
const (
	RestoreNone     RestoreSource = iota // nothing was saved: the configured settings
	RestoreSaved                         // the saved state as it was
	RestoreRepaired                      // the saved state, out-of-range fields brought into range
	RestorePrevious                      // the saved state was unreadable: the previous one, privacy closed
	RestoreDamaged                       // nothing readable was saved: configured settings, privacy closed
)

var restoreNames = [...]string{"None", "Saved", "Repaired", "Previous", "Damaged"}

func (r RestoreSource) String() string {
	if r >= 0 && int(r) < len(restoreNames) {
		return restoreNames[r]
	}
	return fmt.Sprintf("RestoreSource(%d)", int(r))
}

// Restored is how the room's saved state was read at start-up; it stays
// until the next start so every surface can tell.
type Restored struct {
	From   RestoreSource
	Detail string // what was wrong and what the room did about it; "" when nothing was
}

// Closed reports whether the room started with its privacy closed because
// the saved state could not be trusted.
func (r Restored) Closed() bool { return r.From == RestorePrevious || r.From == RestoreDamaged }

// Repair brings every setting into its range, field by field: numbers are
// clamped, an empty name takes def's, a long name is cut, an unknown unmute
// policy becomes in-room (the closed one). It returns what it changed.
func (s Settings) Repair(def Settings) (Settings, []string) {
	var fixed []string
	clamp := func(name string, v *int, lo, hi int) {
		if c := min(hi, max(lo, *v)); c != *v {
			fixed = append(fixed, fmt.Sprintf("%s %d -> %d", name, *v, c))
			*v = c
		}
	}
	switch {
	case s.Name == "":
		s.Name = def.Name
		if s.Name == "" || len(s.Name) > maxNameBytes {
			s.Name = DefaultSettings().Name
		}
		fixed = append(fixed, fmt.Sprintf("empty name -> %q", s.Name))
	case len(s.Name) > maxNameBytes:
		n := maxNameBytes
		for n > 0 && !utf8.RuneStart(s.Name[n]) {
			n--
		}
		s.Name = s.Name[:n]
		fixed = append(fixed, fmt.Sprintf("name cut to %d bytes", n))
	}
	clamp("default volume", &s.DefaultVolume, 0, maxVolume)
	clamp("volume step", &s.VolumeStep, minStep, maxStep)
	clamp("camera presets", &s.Presets, 0, maxPresets)
	if s.Unmute != UnmuteInRoom && s.Unmute != UnmuteAnyone {
		fixed = append(fixed, fmt.Sprintf("unmute policy %d -> %s", int(s.Unmute), UnmuteInRoom))
		s.Unmute = UnmuteInRoom
	}
	return s, fixed
}

// restore decides the state the room starts from. p is what the store
// loaded over the defaults; def are the configured settings. Whenever the
// saved state could not be read wholly, the microphones start muted and the
// camera private: the state before the restart may have been closed, and
// opening what someone closed is worse than closing what was open.
func restore(def Settings, p Persisted, l Loaded) (Persisted, Restored) {
	var fixed []string
	p.Settings, fixed = p.Settings.Repair(def)
	switch {
	case l.Damaged != nil:
		p.MicMute, p.CameraPrivacy = true, true
		r := Restored{From: RestoreDamaged}
		from := "the configured settings"
		if l.Previous {
			r.From, from = RestorePrevious, "the previous saved state"
		}
		r.Detail = fmt.Sprintf("%v; started from %s with the microphones muted and the camera private", l.Damaged, from)
		if len(fixed) > 0 {
			r.Detail += "; repaired " + strings.Join(fixed, ", ")
		}
		return p, r
	case !l.Found:
		return p, Restored{From: RestoreNone}
	case len(fixed) > 0:
		return p, Restored{From: RestoreRepaired, Detail: "out-of-range settings brought into range: " + strings.Join(fixed, ", ")}
	}
	return p, Restored{From: RestoreSaved}
}
