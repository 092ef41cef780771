package control

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Errors for requests that do not fit the schema. Callers branch with
// errors.Is; the texts are meant for integrators, as replies carry them.
var (
	ErrUnknownPath = errors.New("unknown path")
	ErrBadValue    = errors.New("bad value")
)

// ValueKind is the type of a value space.
type ValueKind int

// Value kinds.
const (
	Literal ValueKind = iota // one of a fixed list, e.g. On|Off
	Integer                  // a decimal integer in a range
	Decimal                  // a decimal number, e.g. 21.5
	String                   // text, with a length range in bytes
	Time                     // an RFC 3339 date-time, or empty when unknown
)

var valueKindNames = [...]string{"Literal", "Integer", "Decimal", "String", "Time"}

func (k ValueKind) String() string {
	if k >= 0 && int(k) < len(valueKindNames) {
		return valueKindNames[k]
	}
	return fmt.Sprintf("ValueKind(%d)", int(k))
}

// Quoted reports whether the terminal protocol writes values of this kind in
// double quotes (text may hold spaces or be empty; numbers and literals never do).
func (k ValueKind) Quoted() bool { return k == String || k == Time }

// ValueSpace is the set of values a status leaf, parameter or configuration
// item may hold.
type ValueSpace struct {
	Kind   ValueKind
	Values []string // Literal: the canonical values
	Min    int64    // Integer: smallest value; String: shortest length
	Max    int64    // Integer: largest value; String: longest length; math.MaxInt64 for none
}

// Value space constructors.
func literal(v ...string) ValueSpace { return ValueSpace{Kind: Literal, Values: v} }
func integer(lo, hi int64) ValueSpace {
	return ValueSpace{Kind: Integer, Min: lo, Max: hi}
}
func text(lo, hi int64) ValueSpace { return ValueSpace{Kind: String, Min: lo, Max: hi} }

var (
	onOff     = literal("On", "Off")
	trueFalse = literal("True", "False")
	anyText   = text(0, math.MaxInt64)
	anyTime   = ValueSpace{Kind: Time}
	decimal   = ValueSpace{Kind: Decimal}
)

// String describes the space the way the schema export and the reference do:
// "On|Off", "Integer 0..100", "String 1..64", "Integer 0..".
func (v ValueSpace) String() string {
	switch v.Kind {
	case Literal:
		return strings.Join(v.Values, "|")
	case Integer, String:
		s := fmt.Sprintf("%s %d..", v.Kind, v.Min)
		if v.Max != math.MaxInt64 {
			s += strconv.FormatInt(v.Max, 10)
		}
		if v.Kind == String && v.Min == 0 && v.Max == math.MaxInt64 {
			s = "String"
		}
		return s
	}
	return v.Kind.String()
}

// Canonical checks s against the space and returns it in canonical form:
// literals in the schema's case ("on" → "On"), integers without sign or
// leading zeros.
func (v ValueSpace) Canonical(s string) (string, error) {
	switch v.Kind {
	case Literal:
		for _, c := range v.Values {
			if strings.EqualFold(c, s) {
				return c, nil
			}
		}
		return "", fmt.Errorf("%w: %q is not one of %s", ErrBadValue, s, v)
	case Integer:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return "", fmt.Errorf("%w: %q is not a whole number", ErrBadValue, s)
		}
		if n < v.Min || n > v.Max {
			return "", fmt.Errorf("%w: %d is not in %d..%d", ErrBadValue, n, v.Min, v.Max)
		}
		return strconv.FormatInt(n, 10), nil
	case Decimal:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return "", fmt.Errorf("%w: %q is not a number", ErrBadValue, s)
		}
		return s, nil
	case String:
		if !utf8.ValidString(s) || strings.ContainsFunc(s, unicode.IsControl) {
			return "", fmt.Errorf("%w: text must be UTF-8 without control characters", ErrBadValue)
		}
		if n := int64(len(s)); n < v.Min || n > v.Max {
			if v.Min == 1 && n == 0 {
				return "", fmt.Errorf("%w: must not be empty", ErrBadValue)
			}
			return "", fmt.Errorf("%w: must be %d to %d bytes long, not %d", ErrBadValue, v.Min, v.Max, n)
		}
		return s, nil
	case Time:
		if s == "" {
			return s, nil
		}
		if _, err := time.Parse(time.RFC3339, s); err != nil {
			return "", fmt.Errorf("%w: %q is not an RFC 3339 time", ErrBadValue, s)
		}
		return s, nil
	}
	return "", fmt.Errorf("%w: unknown value space", ErrBadValue)
}
