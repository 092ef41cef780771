package control

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/roomd/roomd/room"
)

// Leaf is one status value or configuration item at its canonical path.
type Leaf struct {
	Path  Path
	Value string
	Kind  ValueKind // how the value is typed (the terminal quotes String and Time)
}

// Change is a leaf that changed between two flattenings.
type Change struct {
	Leaf
	Gone bool // the leaf no longer exists, e.g. a meeting left the schedule
}

// System is what the status tree says about the unit beyond room.State.
type System struct {
	SoftwareVersion string
}

func resolution(w, h int) string {
	if w == 0 || h == 0 {
		return ""
	}
	return strconv.Itoa(w) + "x" + strconv.Itoa(h)
}

// Flatten turns a room state into status leaves, in the tree's order.
// Optional leaves (sensors) appear only when the room has a reading.
func Flatten(s room.State, sys System) []Leaf {
	var out []Leaf
	for i := range statusTree {
		out = appendGroup(out, &statusTree[i], &s, sys)
	}
	return out
}

// Status is one flattening of the status tree, kept so that the next one
// can be made from it ([Status.Next]): a repeated group whose items did
// not change (the schedule, the hardware, the damaged files while only
// call figures move) keeps its leaves without being read or compared
// again. A Status is never changed once made, so it may be shared.
type Status struct {
	state  room.State
	sys    System
	leaves []Leaf
	ends   []int // ends[g] is where group g's leaves end in leaves
}

// NewStatus flattens s.
func NewStatus(s room.State, sys System) *Status {
	t := &Status{state: s, sys: sys, ends: make([]int, len(statusTree))}
	for i := range statusTree {
		t.leaves = appendGroup(t.leaves, &statusTree[i], &t.state, sys)
		t.ends[i] = len(t.leaves)
	}
	return t
}

// Leaves returns the leaves in the tree's order, as Flatten does. They are
// shared: do not change them.
func (t *Status) Leaves() []Leaf { return t.leaves }

// State returns the room state t was made from. Its slices are shared: do
// not change them.
func (t *Status) State() room.State { return t.state }

// Next flattens s and returns it with what changed since t, exactly as
// Diff(t.Leaves(), next.Leaves()) would. s must not be changed afterwards.
func (t *Status) Next(s room.State) (next *Status, changes []Change) {
	next = &Status{state: s, sys: t.sys, leaves: make([]Leaf, 0, len(t.leaves)), ends: make([]int, len(statusTree))}
	var gone []Change
	begin := 0
	for i := range statusTree {
		g := &statusTree[i]
		prev := t.leaves[begin:t.ends[i]]
		begin = t.ends[i]
		if g.same != nil && g.same(&t.state, &next.state) {
			next.leaves = append(next.leaves, prev...)
		} else {
			n := len(next.leaves)
			next.leaves = appendGroup(next.leaves, g, &next.state, t.sys)
			changes, gone = diffRun(prev, next.leaves[n:], changes, gone)
		}
		next.ends[i] = len(next.leaves)
	}
	return next, append(changes, gone...)
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Truncate(time.Second).Format(time.RFC3339)
}

// titleCase turns the hal's "loaded" into the schema's "Loaded".
func titleCase(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// Diff returns the leaves of next whose value differs from prev or that prev
// lacks, in next's order, followed by the leaves of prev that next lacks
// (Gone set).
func Diff(prev, next []Leaf) []Change {
	changes, gone := diffRun(prev, next, nil, nil)
	return append(changes, gone...)
}

// diffRun appends Diff's changes and gone leaves for one run of leaves.
// Runs with the same paths in the same places, the usual case, are
// compared place by place.
func diffRun(prev, next []Leaf, changes, gone []Change) ([]Change, []Change) {
	aligned := len(prev) == len(next)
	for i := 0; aligned && i < len(next); i++ {
		aligned = slices.Equal(prev[i].Path, next[i].Path)
	}
	if aligned {
		for i, l := range next {
			if l.Value != prev[i].Value {
				changes = append(changes, Change{Leaf: l})
			}
		}
		return changes, gone
	}
	old := make(map[string]string, len(prev))
	for _, l := range prev {
		old[l.Path.String()] = l.Value
	}
	seen := make(map[string]bool, len(next))
	for _, l := range next {
		k := l.Path.String()
		seen[k] = true
		if v, ok := old[k]; !ok || v != l.Value {
			changes = append(changes, Change{Leaf: l})
		}
	}
	for _, l := range prev {
		if !seen[l.Path.String()] {
			gone = append(gone, Change{Leaf: l, Gone: true})
		}
	}
	return changes, gone
}

// DiffStates is Diff(Flatten(prev, sys), Flatten(next, sys)).
func DiffStates(prev, next room.State, sys System) []Change {
	return Diff(Flatten(prev, sys), Flatten(next, sys))
}

// StatusPrefix checks that p names a status leaf or a subtree of them
// ("Audio", "Schedule Next 1", "Hardware Device mute_led State") and returns
// it in canonical case. An empty path is the whole tree.
func StatusPrefix(p Path) (Path, error) {
	for _, s := range vocab.Status {
		if c, ok := matchPattern(s.Path, p); ok {
			return c, nil
		}
	}
	return nil, fmt.Errorf("%w: no status at %q", ErrUnknownPath, p.String())
}

// Select returns the leaves under prefix (compared ignoring case).
func Select(leaves []Leaf, prefix Path) []Leaf {
	var out []Leaf
	for _, l := range leaves {
		if l.Path.HasPrefix(prefix) {
			out = append(out, l)
		}
	}
	return out
}
