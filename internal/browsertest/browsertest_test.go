package browsertest

import (
	"context"
	"testing"
	"time"

	"github.com/roomd/roomd/internal/janustest"
)

// Two browsers in one room each decode the other: the harness itself works
// before it is used to judge roomd.
func TestTwoBrowsersSeeEachOther(t *testing.T) {
	j := janustest.Start(t, nil)
	room := janustest.DefaultRooms()[0]
	y4m := MakeY4M(t, 320, 180, 15, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var bs []*Browser
	for i, name := range []string{"alice", "bob"} {
		b := Start(t, Options{FakeVideo: y4m})
		if err := b.Join(ctx, Join{WebSocket: j.URL, Room: room.ID, PIN: room.PIN, Display: name, Width: 320, Height: 180, FPS: 15}); err != nil {
			t.Fatalf("browser %d: %v", i, err)
		}
		bs = append(bs, b)
	}
	for i, b := range bs {
		var last []Feed
		for {
			fs, err := b.Feeds()
			if err != nil {
				t.Fatal(err)
			}
			last = fs
			if len(fs) == 1 && fs[0].FramesDecoded > 10 && fs[0].AudioPackets > 10 && fs[0].LitFraction > 0.2 {
				break
			}
			if ctx.Err() != nil {
				t.Fatalf("browser %d never decoded the other: %+v\nlog: %v", i, last, b.Log())
			}
			time.Sleep(200 * time.Millisecond)
		}
		t.Logf("browser %d: %+v", i, last[0])
	}
	if err := bs[0].Leave(); err != nil {
		t.Fatal(err)
	}
}
