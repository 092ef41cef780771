package control

import (
	"slices"
	"testing"
	"time"

	"github.com/roomd/roomd/room"
)

// The schema's status list is made from the tree: the same leaves, value
// spaces and optional flags, in the tree's order but for the leaves the
// tree says are listed elsewhere.
func TestSchemaStatusIsTheTree(t *testing.T) {
	var tree, moved []string
	for _, g := range statusTree {
		for _, l := range g.leaves {
			k := l.path.String() + " " + l.space.String()
			if l.optional {
				k += " optional"
			}
			if g.listedAfter != "" {
				moved = append(moved, k)
				continue
			}
			tree = append(tree, k)
		}
	}
	var schema []string
	for _, s := range Vocabulary().Status {
		k := s.Path.String() + " " + s.Space.String()
		if s.Optional {
			k += " optional"
		}
		if slices.Contains(moved, k) {
			continue
		}
		schema = append(schema, k)
	}
	if !slices.Equal(schema, tree) {
		t.Errorf("schema status\n got %q\nwant %q", schema, tree)
	}
	if n := len(Vocabulary().Status); n != len(tree)+len(moved) {
		t.Errorf("the schema lists %d status leaves, the tree %d", n, len(tree)+len(moved))
	}
	// Each group's placeholder is where the group says, and a repeated
	// group has a key and a way to tell that its items are unchanged.
	for _, g := range statusTree {
		for _, l := range g.leaves {
			if g.slot >= 0 && l.path[g.slot] != anyIndex && l.path[g.slot] != anyName {
				t.Errorf("%q: no placeholder at %d", l.path, g.slot)
			}
			if g.slot < 0 && slices.ContainsFunc(l.path, func(e string) bool { return e == anyIndex || e == anyName }) {
				t.Errorf("%q: a placeholder in a single leaf", l.path)
			}
		}
		if g.slot >= 0 && (g.count == nil || g.key == nil || g.same == nil) {
			t.Errorf("%q: repeated group without count, key or same", g.leaves[0].path)
		}
	}
}

// Leaves come in the tree's order, whatever the room holds.
func TestFlattenFollowsTree(t *testing.T) {
	for _, s := range []room.State{{}, richState()} {
		at := 0
		for _, l := range Flatten(s, System{}) {
			for at < len(statusTree) && !groupHas(&statusTree[at], l.Path) {
				at++
			}
			if at == len(statusTree) {
				t.Fatalf("%q is out of the tree's order", l.Path)
			}
		}
	}
}

func groupHas(g *statusGroup, p Path) bool {
	for _, l := range g.leaves {
		if c, ok := matchPattern(l.path, p); ok && len(c) == len(l.path) {
			return true
		}
	}
	return false
}

// Flattening incrementally gives what flattening afresh and Diff give,
// through states in which every kind of group changes, appears and goes.
func TestStatusNextIsFlattenAndDiff(t *testing.T) {
	sys := System{SoftwareVersion: "1.2.3"}
	at := time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)
	steps := []func(*room.State){
		func(s *room.State) { s.Volume = 10 },
		func(s *room.State) {
			s.Media.Received = slices.Clone(s.Media.Received) // steps change copies, never the last state
			s.Media.SendBitrate, s.Media.Received[0].FPS = 900_000, 12
		},
		func(s *room.State) { s.Media.Received = s.Media.Received[1:] },
		func(s *room.State) {
			s.Media.Received = append(slices.Clip(s.Media.Received), room.ReceivedVideo{Participant: "carol", Width: 640})
		},
		func(s *room.State) { s.NextMeetings = s.NextMeetings[:1] },
		func(s *room.State) {
			s.NextMeetings = append(slices.Clip(s.NextMeetings), room.Meeting{ID: "c", Start: at})
		},
		func(s *room.State) { s.Env.HaveTemperature, s.Env.HaveHumidity, s.Env.Humidity = false, true, 40 },
		func(s *room.State) {
			s.Hardware = append([]room.Device{{Name: "relay", Kind: "relay", State: "skipped"}}, s.Hardware...)
		},
		func(s *room.State) { s.Hardware = slices.Clone(s.Hardware); s.Hardware[1].State = "failed" },
		func(s *room.State) { s.DamagedFiles = nil },
		func(s *room.State) { s.Settings.Name = "Board Room"; s.ScheduleStaleSince = at },
		func(s *room.State) { s.Incoming = room.IncomingCall{ID: "c1", From: "sip:a@example.com"} },
		func(s *room.State) { s.Incoming, s.SIP.Status = room.IncomingCall{}, room.SIPRegistered },
		func(s *room.State) {}, // nothing changes
		func(s *room.State) { *s = room.State{} },
		func(s *room.State) { *s = richState() },
	}
	prev := richState()
	st := NewStatus(prev, sys)
	if !slices.EqualFunc(st.Leaves(), Flatten(prev, sys), leafEqual) {
		t.Fatal("NewStatus and Flatten differ")
	}
	for i, step := range steps {
		next := prev
		step(&next)
		var changes []Change
		st, changes = st.Next(next)
		want := Flatten(next, sys)
		if !slices.EqualFunc(st.Leaves(), want, leafEqual) {
			t.Errorf("step %d: leaves differ from Flatten", i)
		}
		if wantCh := Diff(Flatten(prev, sys), want); !slices.EqualFunc(changes, wantCh, func(a, b Change) bool {
			return a.Gone == b.Gone && leafEqual(a.Leaf, b.Leaf)
		}) {
			t.Errorf("step %d: changes\n got %v\nwant %v", i, changes, wantCh)
		}
		if !st.State().Equal(next) {
			t.Errorf("step %d: State() is not the state flattened", i)
		}
		prev = next
	}
}

func leafEqual(a, b Leaf) bool {
	return a.Value == b.Value && a.Kind == b.Kind && slices.Equal(a.Path, b.Path)
}
