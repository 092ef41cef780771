// Package e2ee holds what roomd's end-to-end media encryption schemes share:
// [Secret], the type every passphrase and key travels in so that it is never
// logged, printed or serialised by accident.
//
// # Schemes
//
// The frame formats live in sub-packages, one per scheme:
//
//   - sframe: SFrame (RFC 9605), the standard format, between roomd rooms.
//   - lkframe: the frame format of LiveKit's E2EE (livekit-client), so a room
//     and browser participants sharing a passphrase can read each other.
//
// Both work on whole encoded frames: encrypt after the encoder and before
// packetisation, decrypt after depacketisation and before the decoder.
// docs/e2ee.md describes the formats byte by byte.
package e2ee
