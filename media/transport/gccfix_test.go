package transport

import (
	"testing"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/gcc"
	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// twccFeedback is the feedback pion's receiver sends for packets 100 and
// 102 (101 lost), as the sender parses it off the wire.
func twccFeedback(t *testing.T) *rtcp.TransportLayerCC {
	t.Helper()
	r := twcc.NewRecorder(5)
	r.Record(1, 100, 1_000_000)
	r.Record(1, 102, 1_002_000)
	b, err := rtcp.Marshal(r.BuildFeedbackPacket())
	must(t, err)
	pkts, err := rtcp.Unmarshal(b)
	must(t, err)
	return pkts[0].(*rtcp.TransportLayerCC)
}

func chunkTotal(fb *rtcp.TransportLayerCC) (n int) {
	for _, c := range fb.PacketChunks {
		n += chunkLen(c)
	}
	return n
}

func TestTrimTWCCDropsPadding(t *testing.T) {
	fb := twccFeedback(t)
	if fb.PacketStatusCount != 3 {
		t.Fatalf("feedback reports %d packets, want 3", fb.PacketStatusCount)
	}
	padded := chunkTotal(fb)
	if padded <= 3 {
		t.Fatalf("the wire format no longer pads (%d symbols); is the workaround still needed?", padded)
	}
	rr := &rtcp.ReceiverReport{SSRC: 7}
	in := []rtcp.Packet{rr, fb}
	out := trimTWCC(in)
	if len(out) != 2 || out[0] != rr {
		t.Fatalf("trimTWCC changed the other packets: %v", out)
	}
	got := out[1].(*rtcp.TransportLayerCC)
	if chunkTotal(got) != 3 {
		t.Errorf("trimmed feedback describes %d packets, want 3", chunkTotal(got))
	}
	if chunkTotal(fb) != padded || in[1] != fb {
		t.Error("trimTWCC modified the packet it was given")
	}

	// A run-length chunk longer than the count is cut too, and chunks past
	// the count are dropped.
	long := &rtcp.TransportLayerCC{PacketStatusCount: 5, PacketChunks: []rtcp.PacketStatusChunk{
		&rtcp.RunLengthChunk{PacketStatusSymbol: rtcp.TypeTCCPacketReceivedSmallDelta, RunLength: 9},
		&rtcp.RunLengthChunk{PacketStatusSymbol: rtcp.TypeTCCPacketNotReceived, RunLength: 4},
	}}
	cut := trimTWCC([]rtcp.Packet{long})[0].(*rtcp.TransportLayerCC)
	if len(cut.PacketChunks) != 1 || chunkTotal(cut) != 5 {
		t.Errorf("run-length trim: %d chunks for %d packets, want 1 for 5", len(cut.PacketChunks), chunkTotal(cut))
	}

	exact := []rtcp.Packet{&rtcp.TransportLayerCC{PacketStatusCount: 9, PacketChunks: long.PacketChunks[:1]}}
	if res := trimTWCC(exact); &res[0] != &exact[0] {
		t.Error("unpadded feedback was copied")
	}
}

// TestRTXPacerPassesRetransmissions: pion's pacers drop packets whose SSRC
// was never added as a stream; RTX must go out through its primary's writer.
func TestRTXPacerPassesRetransmissions(t *testing.T) {
	p := &rtxPacer{Pacer: gcc.NewNoOpPacer(), companions: map[uint32][]uint32{}}
	p.pair(10, 11, 0)
	var got []uint32
	p.AddStream(10, interceptor.RTPWriterFunc(func(h *rtp.Header, _ []byte, _ interceptor.Attributes) (int, error) {
		got = append(got, h.SSRC)
		return 0, nil
	}))
	for _, ssrc := range []uint32{10, 11} {
		if _, err := p.Write(&rtp.Header{SSRC: ssrc}, nil, nil); err != nil {
			t.Errorf("SSRC %d: %v", ssrc, err)
		}
	}
	if _, err := p.Write(&rtp.Header{SSRC: 12}, nil, nil); err == nil {
		t.Error("an unknown SSRC was accepted")
	}
	if len(got) != 2 || got[0] != 10 || got[1] != 11 {
		t.Errorf("writer saw SSRCs %v, want [10 11]", got)
	}
}
