// Package provisioning enrolls the room in its organisation's fleet and
// applies signed configuration bundles. The cloud is never in the meeting
// path: the room runs on its last good configuration for as long as the
// fleet server is away.
//
// # Identity
//
// A P-256 key is generated on first boot and kept 0600 in the state
// directory ([LoadOrCreateKey]). Everything that uses it takes a
// [crypto.Signer], so a TPM-held key can replace the file later. The key's
// [Fingerprint] is shown on the panel while enrollment waits for approval.
//
// # Bundles
//
// Configuration arrives as a DSSE-style [Envelope] (payloadType, base64
// payload, Ed25519 signatures with key ids) around a [Payload]. A
// [Verifier] accepts a bundle only when it is signed by a config key of the
// current [TrustRoot], bound to this organisation and device, not older than
// the bundle in force (an equal version must carry byte-equal content) and
// within [MaxBundleSize]. An expired bundle stays in force and is reported
// stale. Trust roots rotate: root N+1 must be signed by a threshold of root
// N's keys and of its own.
//
// # Store
//
// [Store] writes bundles atomically (temporary file, fsync, rename, fsync of
// the directory), keeps the current and the previous one, and at boot falls
// back from current to previous to defaults.
//
// # Pull loop
//
// [Client] enrolls with an activation code (or, for a key registered at the
// factory, with none), then polls the fleet server over mutual TLS with
// If-None-Match, jitter and backoff, applies bundles through the Store,
// carries them into the running room ([ClientOptions.Apply],
// [ClientOptions.Calendar] and the room's settings) and rolls back a bundle
// the room cannot take, queues health reports on disk and renews its
// certificate before it expires. docs/provisioning.md specifies the
// protocol.
//
// # Imports
//
// fleetd imports this package for the protocol and the bundle format, so it
// does not import package room: the client reaches the room through
// [Room], in plain values ([Status], a [Config] with its version), and
// provisioning/roomport turns those into room commands and reports for
// roomd. Keeping the client here behind that small interface moved one
// function and two call sites instead of the client and its tests; the room
// ranges a bundle may set are repeated in [Config.Validate] so fleetd refuses
// what a room would, and roomport's tests keep the two equal.
package provisioning
