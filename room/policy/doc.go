// Package policy holds the room's rules that sit above the state machine:
// display sleep and the camera privacy default ([Policy]), the call-quality
// summary a health report carries ([CallQuality]) and the admin PINs in
// force ([PINs]).
//
// Each rule is driven by the room's state (its Watch updates) and by the
// values of the fleet bundle in force, passed in as plain data
// ([Settings], [PINHashes]); none imports a driver, the provisioning client
// or the daemon, so each is tested with a table and an in-memory room.
package policy
