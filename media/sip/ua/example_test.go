package ua_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/roomd/roomd/media/call/provider"
	"github.com/roomd/roomd/media/sip/ua"
)

// refusing is a Negotiator that never gets as far as media.
type refusing struct{}

func (refusing) Offer(ua.Direction) ([]byte, error) {
	return []byte("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n"), nil
}
func (refusing) Accept([]byte) error { return errors.New("no media here") }
func (refusing) Answer([]byte) ([]byte, error) {
	return nil, errors.New("no media here")
}

// Two rooms on loopback, no registrar: one calls the other, which
// declines; the caller learns why, and the call engine's class of it.
func ExampleUA_Dial() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	start := func(cfg ua.Config) *ua.UA {
		cfg.Listen = []ua.Listen{{Transport: ua.UDP, Addr: "127.0.0.1:0"}}
		u, err := ua.New(cfg)
		if err != nil {
			log.Fatal(err)
		}
		go u.Run(ctx)
		return u
	}
	roomB := start(ua.Config{
		User:       "room-b",
		Inbound:    ua.Policy{Kind: ua.PolicyRing},
		OnIncoming: func(ic *ua.IncomingCall) { go ic.Decline(false) },
	})
	defer roomB.Close()
	roomA := start(ua.Config{User: "room-a"})
	defer roomA.Close()

	_, err := roomA.Dial(ctx, roomB.Contact(ua.UDP), refusing{}, ua.Handlers{})
	fmt.Println(err)
	fmt.Println(errors.Is(ua.Classify(err), provider.ErrRefused))
	// Output:
	// sip: the far end declined the call (603 Decline)
	// true
}
