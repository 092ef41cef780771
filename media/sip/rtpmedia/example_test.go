package rtpmedia_test

import (
	"context"
	"fmt"
	"net"
	"sync/atomic"
	"time"

	"github.com/roomd/roomd/media/sip/rtpmedia"
)

// Two streams on loopback, as two ends of a G.711 call: each listens
// (ports for the SDP), then starts towards the other with what
// offer/answer decided.
func Example() {
	ip := net.IPv4(127, 0, 0, 1)
	room, _ := rtpmedia.Listen(ip, rtpmedia.Audio, rtpmedia.Options{})
	far, _ := rtpmedia.Listen(ip, rtpmedia.Audio, rtpmedia.Options{})
	defer room.Close()
	defer far.Close()
	pcmu := rtpmedia.Codec{PT: 0, Name: rtpmedia.CodecPCMU}
	var heard atomic.Int64
	room.Start(context.Background(), rtpmedia.Remote{RTP: far.RTPAddr(), RTCP: far.RTCPAddr(), Codec: pcmu}, rtpmedia.Handlers{})
	far.Start(context.Background(), rtpmedia.Remote{RTP: room.RTPAddr(), RTCP: room.RTCPAddr(), Codec: pcmu},
		rtpmedia.Handlers{OnAudio: func(pcm []int16) { heard.Add(int64(len(pcm))) }})

	// 100 ms of the room's 48 kHz audio goes out as five 20 ms packets.
	room.WriteAudio(make([]int16, 4800))
	for heard.Load() < 4*960 {
		time.Sleep(10 * time.Millisecond)
	}
	// The reorder buffer holds the last packet until the next one.
	fmt.Println("far end played at least", heard.Load()/48, "ms")
	// Output: far end played at least 80 ms
}
