package sframe_test

import (
	"fmt"

	"github.com/roomd/roomd/media/e2ee"
	"github.com/roomd/roomd/media/e2ee/sframe"
)

// A room's sender encrypts each encoded frame under its own key id; every
// other room holds that key id's base key and decrypts.
func Example() {
	baseKey := e2ee.NewSecret([]byte("from the meeting's key exchange"))
	suite := sframe.AES128GCMSHA256_128

	sender, err := sframe.NewSender(suite, 7, baseKey)
	if err != nil {
		panic(err)
	}
	receiver, err := sframe.NewReceiver(suite, nil)
	if err != nil {
		panic(err)
	}
	if err := receiver.SetKey(7, baseKey); err != nil {
		panic(err)
	}

	ct, _ := sender.Encrypt(nil, []byte("an encoded frame"), nil)
	pt, header, err := receiver.Decrypt(nil, ct, nil)
	fmt.Printf("%q kid=%d ctr=%d err=%v overhead=%d\n", pt, header.KID, header.CTR, err, len(ct)-len(pt))
	_, _, err = receiver.Decrypt(nil, ct, nil)
	fmt.Println(err)
	// Output:
	// "an encoded frame" kid=7 ctr=0 err=<nil> overhead=17
	// sframe: frame replayed or too old: key id 7 counter 0
}
