// Package serial serves roomd's control console: an xAPI-style line
// protocol that AV control systems (Crestron, Extron, Q-SYS) drive over
// RS-232, and that roomctl speaks over a local Unix socket. The vocabulary
// (paths, commands, value spaces) is package control's; this package is the
// grammar and the sessions. docs/serial-protocol.md is the reference for
// integrators.
//
// # Requests
//
//	xCommand Audio Volume Set Level: 70
//	xStatus Audio Microphones
//	xConfiguration Audio DefaultVolume: 60
//	xFeedback Register /Status/Audio/Microphones/Mute
//	xPreferences OutputMode JSON
//	xPreferences Dialect Cisco
//	xDocument Schema
//	echo off
//	bye
//
// Any request may end in |resultId="tag", echoed in the reply. Each reply
// ends with "** end" and then OK or "ERROR: reason"; feedback pushes end
// with "** end" alone. In JSON mode every reply and push is one compact
// object on one line; replies carry "Result", pushes never do.
//
// # Sessions
//
// A [Server] serves any number of sessions at once: [Server.ServeLine] on a
// serial port, [Server.ListenUnix] on the local socket, [Server.Serve] on any
// stream. Sessions share nothing but the room and the PIN lockout; opening
// or closing one never touches the call. Every command reaches the room
// tagged with the session's room.Source, so the room's policies (who may
// unmute, no join during a call without Replace) apply as for every surface.
//
// # Cisco's dialect
//
// "xPreferences Dialect Cisco" makes a session speak close enough to Cisco
// RoomOS's console that Cisco's client library (jsxapi's TSH backend) and
// drivers written for RoomOS run against roomd: lines end in LF, so a reply's
// OK line is exactly "OK" to a client that splits on LF; in JSON mode replies
// and pushes take Cisco's shapes (leaves {"Value":"…"}, listed items arrays
// of objects with "id", one key beside "ResultId", errors as CommandResponse
// with Reason and XPath); RoomOS's {N} multi-line frames are read whole. The
// vocabulary stays roomd's, and sessions that never ask keep schema 1.x's
// output byte for byte. [Server.ServeCisco] serves a session in the dialect
// from its first byte, for servers (SSH) whose clients send nothing first;
// Options.LineDialect does the same for the serial port, for a Cisco driver
// cabled to it that never asks.
//
// # Login
//
// With Options.RequireLogin, sessions other than the socket's and remote
// surfaces' (which log their users in themselves) start at a "PIN: "
// prompt. The PIN is never echoed or logged and is checked against a
// bcrypt hash. Five wrong PINs in a row, across all sessions, lock the
// console for 30 s, doubling with each further wrong PIN up to 15 min; the
// right PIN resets it. An empty line (Enter pressed to wake the console)
// only asks again; it is not a wrong PIN.
package serial
