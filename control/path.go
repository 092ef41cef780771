package control

import (
	"strings"
)

// Path is a status, command or configuration path, one element per word:
// {"Audio", "Microphones", "Mute"}.
type Path []string

// ParsePath splits s on spaces and slashes, so "Audio Volume",
// "/Audio/Volume" and "audio/volume" are the same path (matching ignores case).
func ParsePath(s string) Path {
	f := strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '\t' || r == '/' })
	if len(f) == 0 {
		return nil
	}
	return Path(f)
}

// String joins the elements with spaces, as the terminal protocol writes paths.
func (p Path) String() string { return strings.Join(p, " ") }

// Slash writes p as a feedback path: "/Status/Audio/Volume".
func (p Path) Slash() string { return "/" + strings.Join(p, "/") }

// HasPrefix reports whether prefix's elements begin p, ignoring case.
func (p Path) HasPrefix(prefix Path) bool {
	if len(prefix) > len(p) {
		return false
	}
	for i, e := range prefix {
		if !strings.EqualFold(p[i], e) {
			return false
		}
	}
	return true
}

// EqualFold reports whether p and q are the same path, ignoring case.
func (p Path) EqualFold(q Path) bool { return len(p) == len(q) && p.HasPrefix(q) }

// Placeholders in schema paths.
const (
	anyIndex = "[N]"    // 1, 2, 3 …
	anyName  = "[Name]" // a hardware role name
)

// matchPattern matches p against the first len(p) elements of pattern and
// returns p in canonical case. ok is false if p is longer than pattern or an
// element does not fit.
func matchPattern(pattern, p Path) (Path, bool) {
	if len(p) > len(pattern) {
		return nil, false
	}
	out := make(Path, len(p))
	for i, e := range p {
		switch pattern[i] {
		case anyIndex:
			n, ok := parseIndex(e)
			if !ok {
				return nil, false
			}
			out[i] = n
		case anyName:
			if e == "" || e != pathName(e) {
				return nil, false
			}
			out[i] = e
		default:
			if !strings.EqualFold(pattern[i], e) {
				return nil, false
			}
			out[i] = pattern[i]
		}
	}
	return out, true
}

// parseIndex accepts 1, 2, … (leading zeros allowed) and returns it canonical.
func parseIndex(s string) (string, bool) {
	if s == "" || len(s) > 6 {
		return "", false
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return "", false
		}
	}
	s = strings.TrimLeft(s, "0")
	if s == "" {
		return "", false // 0 is not an index
	}
	return s, true
}

// pathName makes a device's role name safe as one path element: characters
// the protocol uses as separators become '_'.
func pathName(s string) string {
	if s == "" {
		return "_"
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r <= ' ' || r == 0x7f, r == '/', r == ':', r == '"', r == '|', r == '\\':
			return '_'
		}
		return r
	}, s)
}
