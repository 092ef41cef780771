package provisioning

import (
	"testing"
)

// FuzzVerify feeds arbitrary bytes to the bundle parser and verifier: they
// must never panic, and whatever they accept must be signed and bound.
func FuzzVerify(f *testing.F) {
	tf := newTestFleet(f)
	good := tf.bundle(3, "Fjord")
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add(tf.rootRaw)
	f.Add([]byte(`{"payloadType":"application/vnd.roomd.config+json","payload":"e30=","signatures":[{"keyid":"x","sig":"eA=="}]}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(``))
	v := &Verifier{Root: tf.root, OrgID: tf.org, DeviceID: tf.dev}
	f.Fuzz(func(t *testing.T, raw []byte) {
		b, err := v.Verify(raw, nil)
		if err != nil {
			return
		}
		if b.OrgID != tf.org || b.DeviceID != tf.dev || b.Version < 1 {
			t.Fatalf("accepted an unbound bundle: %+v", b.Payload)
		}
		if len(raw) > MaxBundleSize {
			t.Fatalf("accepted %d bytes", len(raw))
		}
		_, _ = ParseRoot(raw, tf.root)
	})
}
