package room

import "slices"

// DirectoryEntry is one room of the organisation that this room can call:
// the fleet bundle's directory, shown as the panel's "Call a room" list.
type DirectoryEntry struct {
	Name string // as people call the room, e.g. "Oslo — Fjord"
	URI  string // its SIP address, sip: or sips:
}

// DirectoryReported is the fleet's room directory, in the fleet's order;
// it replaces the one before (nil: no directory). The fleet has validated
// it.
type DirectoryReported struct{ Entries []DirectoryEntry }

func (DirectoryReported) input()  {}
func (DirectoryReported) report() {}

// directoryReport is Next for DirectoryReported.
func directoryReport(s State, in DirectoryReported) State {
	s.Directory = slices.Clone(in.Entries)
	return s
}
