// Package panel serves the room's touch panel: the web UI (embedded in the
// binary, nothing loaded from the internet) and a JSON + WebSocket API that
// speaks the same vocabulary as the serial console (package control): the
// same status paths, command paths, parameters and value spaces.
// docs/panel.md is the reference.
//
// # API
//
//	GET  /api/session          who the client is, and its CSRF token
//	GET  /api/ws               WebSocket: status snapshot, then changes; commands
//	GET  /api/status           the status tree and configuration, as JSON
//	GET  /api/schema           the vocabulary (control.Export)
//	POST /api/command          {"command":"Audio Volume Set","args":{"Level":70}}
//	POST /api/pair/request     a remote panel asks for a pairing code
//	POST /api/pair             a remote panel pairs with the code
//	POST /api/admin/login      the admin PIN, for the settings screen
//	POST /api/admin/logout     end the admin session
//	GET  /api/admin/info       network, paired panels, recent log lines
//	POST /api/admin/enroll     the fleet activation code (room.Enroll)
//	POST /api/admin/revoke     revoke a paired panel, or all of them
//	POST /api/admin/pair       show a pairing code from the settings screen
//
// On the WebSocket the server first sends the whole status tree, then each
// change as the room reports it (the device's real state, never the request),
// and the schema's events. Clients send commands as
// {"type":"command","id":"1","command":"Audio Microphones Mute"} and get
// {"type":"result","id":"1","ok":true,…}.
//
// # Access
//
// A [Server] serves two kinds of listener:
//
//   - [Kiosk]: the browser on the device's own touch screen, over loopback.
//     Requests must come from a loopback address, name a loopback host
//     (against DNS rebinding) and come from a socket owned by one of
//     Options.KioskUIDs (the kernel says who owns each loopback
//     connection); they reach the room as room.FromPanel, so the room
//     treats them as someone in the room.
//   - [Remote]: a paired tablet. Every API request needs the token the panel
//     got by pairing, in an HttpOnly, SameSite=Strict cookie, never in a URL.
//     Commands reach the room as room.FromRemote, so the room's unmute policy
//     applies. Anything without a valid token gets the pairing screen and
//     nothing else.
//
// Pairing: a remote panel asks for a code; the server shows a six-digit code
// on the kiosk panel (and through Options.ShowPairingCode, on the room's
// display) for two minutes; the tablet sends it back and receives a random
// token. Only the token's SHA-256 is stored (state_dir/panel-tokens.json,
// mode 0600, written atomically). A code takes five wrong tries, then it is
// void. Wrong codes lock pairing as wrong PINs lock the settings (five in a
// row lock for 30 s, doubling up to 15 min), counted per client address
// and across all of them; a locked client's guesses are not compared, and
// a code started from the room's own panel (settings, Pair a tablet) lifts
// the lock across addresses, so an attack cannot keep the room from
// pairing. Tokens are revoked from the settings screen or with
// `roomd panel-tokens revoke ID|all`; the server notices a change of the
// file within a second and closes the revoked panel's connections.
//
// Every listener is capped (package netguard): per client address on the
// remote listener, per user on the kiosk one, whose browser keeps
// connection and WebSocket slots no tablet can take; every request has
// read-header, read, write and idle timeouts, which a WebSocket lifts for
// its own connection and replaces with pings.
//
// Every state-changing request is a POST with a JSON body, an Origin equal
// to the server's own, and the session's CSRF token in X-CSRF-Token; the
// WebSocket handshake checks Origin. The settings screen needs the admin PIN
// (a bcrypt hash from Options.AdminPINHash, read at each login so the fleet
// can change it); wrong PINs lock the login like the serial console's: five
// in a row lock it for 30 s, doubling up to 15 min.
package panel
