package provisioning

import (
	"crypto/ed25519"
	"crypto/rand"
	"testing"
	"time"
)

// testFleet is a fleet's signing side for tests.
type testFleet struct {
	t         testing.TB
	rootKeys  []ed25519.PrivateKey
	configKey ed25519.PrivateKey
	root      *TrustRoot
	rootRaw   []byte
	org, dev  string
	now       time.Time
}

func newKey(t testing.TB) ed25519.PrivateKey {
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func pub(k ed25519.PrivateKey) PublicKey { return NewPublicKey(k.Public().(ed25519.PublicKey)) }

func newTestFleet(t testing.TB) *testFleet {
	f := &testFleet{t: t, org: "org1", dev: "dev1", now: time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)}
	f.rootKeys = []ed25519.PrivateKey{newKey(t), newKey(t)}
	f.configKey = newKey(t)
	f.root = &TrustRoot{Version: 1, OrgID: f.org, Threshold: 2,
		RootKeys: []PublicKey{pub(f.rootKeys[0]), pub(f.rootKeys[1])}, ConfigKeys: []PublicKey{pub(f.configKey)}}
	var err error
	if f.rootRaw, err = SealRoot(f.root, f.rootKeys...); err != nil {
		t.Fatal(err)
	}
	return f
}

// rotate makes root N+1 with fresh keys, signed by the old and the new root keys.
func (f *testFleet) rotate() []byte {
	old := f.rootKeys
	f.rootKeys = []ed25519.PrivateKey{newKey(f.t)}
	f.configKey = newKey(f.t)
	f.root = &TrustRoot{Version: f.root.Version + 1, OrgID: f.org, Threshold: 1,
		RootKeys: []PublicKey{pub(f.rootKeys[0])}, ConfigKeys: []PublicKey{pub(f.configKey)}}
	raw, err := SealRoot(f.root, append(append([]ed25519.PrivateKey(nil), old...), f.rootKeys...)...)
	if err != nil {
		f.t.Fatal(err)
	}
	f.rootRaw = raw
	return raw
}

func (f *testFleet) payload(version int64, name string) *Payload {
	return &Payload{OrgID: f.org, DeviceID: f.dev, Version: version, IssuedAt: f.now, ExpiresAt: f.now.Add(7 * 24 * time.Hour),
		RootVersion: f.root.Version, Config: Config{Room: RoomConfig{Name: name, TimeZone: "Europe/Oslo"}, PollSeconds: 60}}
}

func (f *testFleet) seal(p *Payload, keys ...ed25519.PrivateKey) []byte {
	if keys == nil {
		keys = []ed25519.PrivateKey{f.configKey}
	}
	raw, err := SealBundle(p, keys...)
	if err != nil {
		f.t.Fatal(err)
	}
	return raw
}

func (f *testFleet) bundle(version int64, name string) []byte {
	return f.seal(f.payload(version, name))
}
