// Package control is roomd's one command vocabulary: the status paths,
// commands and configuration items that every control surface speaks. The
// serial console (control/serial) renders it as an xAPI-style line protocol;
// the touch panel's JSON API uses the same paths, parameters and value
// spaces, so an integrator learns it once.
//
// # Schema
//
// The vocabulary is a versioned [Schema]. [SchemaVersion] changes whenever a
// path, parameter, value space or event is added, removed or renamed; a test
// pins the exported schema (testdata/schema-<version>.json) to its version,
// so the vocabulary cannot drift while the version stands still. Drivers
// written against one version keep working as long as the version is the
// same.
//
// # Paths
//
// A [Path] is a list of elements such as "Audio Microphones Mute". Input is
// matched case-insensitively; output always uses the canonical case of the
// schema. Some status paths have a variable element: "[N]" (1, 2, …) in
// "Schedule Next [N] Id" and "[Name]" (a hardware role) in
// "Hardware Device [Name] State".
//
// # Status
//
// The status tree is declared once (statustree.go): each leaf's path,
// parsed once, its value space and how it is read from room.State, with
// the "[N]" and "[Name]" groups repeated per item the room lists. The
// schema's Status list is made from that table, so the exported schema
// and what status reports cannot disagree.
//
// [Flatten] walks the tree and turns a room.State into ordered leaves
// (path, value); [Diff] compares two flattenings. [Status] keeps one
// flattening so the next is made incrementally ([Status.Next]): groups
// whose items did not change are kept, and only what moved is compared.
// [ConfigLeaves] gives the configuration held in room.Settings.
//
// Feedback is made once for every surface by package control/feedback: one
// hub watches the room, flattens and compares each update once and hands
// numbered batches to the serial sessions and the panel's WebSockets.
//
// # Commands and configuration
//
// [ParseCommand] checks a command's parameters against the schema and
// returns the room.Action to send; [SetConfig] returns the room.Settings a
// configuration write asks for, to be sent as room.ChangeSettings. Nothing is
// applied here: the room decides, and may refuse (room.ErrNotAllowed …).
package control
