package lkframe_test

import (
	"fmt"

	"github.com/roomd/roomd/media/e2ee"
	"github.com/roomd/roomd/media/e2ee/lkframe"
)

// Everyone in the meeting derives the same key ring from the shared
// passphrase; a room encrypts what it sends and decrypts what it receives.
func Example() {
	ring, err := lkframe.NewKeyRing(nil)
	if err != nil {
		panic(err)
	}
	if err := ring.SetPassphrase(0, e2ee.Passphrase("the meeting's passphrase"), true); err != nil {
		panic(err)
	}
	enc, dec := lkframe.NewEncryptor(ring), lkframe.NewDecryptor(ring, nil)

	opus := lkframe.Frame{Codec: lkframe.Opus, SSRC: 1234, Timestamp: 960, Data: []byte{0x78, 1, 2, 3}}
	ct, err := enc.Encrypt(nil, opus)
	if err != nil {
		panic(err)
	}
	got, err := dec.Decrypt(nil, lkframe.Frame{Codec: lkframe.Opus, Data: ct})
	fmt.Printf("TOC byte in clear: %v, trailer %x, decrypted %x, key index %d, %v\n",
		ct[0] == 0x78, ct[len(ct)-2:], got.Data, got.KeyIndex, err)
	// Output:
	// TOC byte in clear: true, trailer 0c00, decrypted 78010203, key index 0, <nil>
}
