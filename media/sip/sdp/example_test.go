package sdp_test

import (
	"fmt"
	"net/netip"

	"github.com/roomd/roomd/media/sip/sdp"
)

// Two rooms negotiate a call: one offers, the other answers, and each
// gets the streams to run. Bodies carry keys: log them through Redact.
func Example() {
	caller, err := sdp.NewSession(sdp.Config{Address: netip.MustParseAddr("192.0.2.1"), AudioPort: 40000, VideoPort: 40002})
	if err != nil {
		panic(err)
	}
	callee, err := sdp.NewSession(sdp.Config{Address: netip.MustParseAddr("192.0.2.2"), AudioPort: 50000, VideoPort: 50002})
	if err != nil {
		panic(err)
	}
	offer, _ := caller.Offer(sdp.SendRecv)
	answer, _, err := callee.Answer(offer, sdp.SendRecv)
	if err != nil {
		panic(err) // a SIP UA answers 488 with err's reason
	}
	neg, err := caller.Answered(answer)
	if err != nil {
		panic(err)
	}
	fmt.Println(neg.Audio.Remote, neg.Audio)
	fmt.Println(neg.Video.Remote, neg.Video)
	// Output:
	// 192.0.2.2:50000 audio opus/48000 pt 111 sendrecv SRTP AES_CM_128_HMAC_SHA1_80 (SDES)
	// 192.0.2.2:50002 video H264/90000 pt 96 packetization-mode 1 sendrecv SRTP AES_CM_128_HMAC_SHA1_80 (SDES) up to 1280x720@30 ≤14000 kbit/s
}
