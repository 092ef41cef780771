package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"
)

// Activation codes are stored only as a hash. Since fleetd 2026-12 the
// hash is keyed: HMAC-SHA256 under the secret in keys/codes.key, written
// "hmac-sha256:KEYID:HEX", so a copy of the database without the key
// directory does not allow trying the 10^16 codes offline. Codes issued
// before then were stored as a bare SHA-256 (64 hex digits); they cannot
// be rehashed (the code itself is not kept), so they are still accepted
// until they expire (90 days at most) and fleetd serve says how many are
// left at start.

// codeHashScheme prefixes a keyed code hash.
const codeHashScheme = "hmac-sha256:"

// normalizeCode makes the form a code is hashed in: hyphens, spaces and
// case do not matter when typing one.
func normalizeCode(code string) string {
	return strings.ToUpper(strings.NewReplacer("-", "", " ", "").Replace(code))
}

// codeKeyID names the code key in stored hashes, so that codes hashed
// under a key since lost can be told from unknown ones. It reveals nothing
// of the key.
func codeKeyID(key []byte) string {
	s := sha256.Sum256(append([]byte("fleetd activation code key id\x00"), key...))
	return hex.EncodeToString(s[:4])
}

// HashCode returns how code is stored: keyed with the fleet's code key.
func (k *Keys) HashCode(code string) string {
	m := hmac.New(sha256.New, k.CodeKey)
	m.Write([]byte(normalizeCode(code)))
	return codeHashScheme + codeKeyID(k.CodeKey) + ":" + hex.EncodeToString(m.Sum(nil))
}

// legacyCodeHash is how fleetd stored codes before keyed hashing.
func legacyCodeHash(code string) string {
	s := sha256.Sum256([]byte(normalizeCode(code)))
	return hex.EncodeToString(s[:])
}

// codeCensus counts the codes still open (unused, unexpired) that the
// current code key cannot vouch for.
type codeCensus struct {
	Legacy      int       // stored as a bare SHA-256, accepted until they expire
	LegacyUntil time.Time // when the last of them expires
	OtherKey    int       // hashed under a code key that is gone: void
}

// census classifies open codes.
func (k *Keys) census(open []Code) codeCensus {
	var c codeCensus
	mine := codeHashScheme + codeKeyID(k.CodeKey) + ":"
	for _, code := range open {
		switch {
		case strings.HasPrefix(code.Hash, mine):
		case strings.HasPrefix(code.Hash, codeHashScheme):
			c.OtherKey++
		default:
			c.Legacy++
			if code.ExpiresAt.After(c.LegacyUntil) {
				c.LegacyUntil = code.ExpiresAt
			}
		}
	}
	return c
}

// reportCodes logs, at start, the open codes the code key cannot vouch
// for: those of an older fleetd (weaker if the database leaks) and those
// of a lost code key (void).
func (f *Fleet) reportCodes(ctx context.Context) {
	open, err := f.Store.OpenCodes(ctx, f.now())
	if err != nil {
		f.Log.Warn("fleetd: counting open activation codes", "err", err)
		return
	}
	c := f.Keys.census(open)
	if c.Legacy > 0 {
		f.Log.Warn("fleetd: activation codes issued before keyed hashing are accepted until they expire; reissue them if the database may have been copied",
			"codes", c.Legacy, "until", c.LegacyUntil.UTC().Format(time.RFC3339))
	}
	if c.OtherKey > 0 {
		f.Log.Warn("fleetd: activation codes issued under a code key that is gone can no longer be used; issue new ones", "codes", c.OtherKey)
	}
}
