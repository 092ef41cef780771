package rtpmedia

import (
	"net"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// nextPacket reads one RTP packet from c, or fails the test after d.
func nextPacket(t *testing.T, c *net.UDPConn, d time.Duration) rtp.Packet {
	t.Helper()
	buf := make([]byte, 1500)
	_ = c.SetReadDeadline(time.Now().Add(d))
	for {
		n, err := c.Read(buf)
		if err != nil {
			t.Fatalf("no RTP at %v: %v", c.LocalAddr(), err)
		}
		var p rtp.Packet
		if !isRTCP(buf[:n]) && p.Unmarshal(buf[:n]) == nil {
			return p
		}
	}
}

// TestUpdateMovesMedia: Update to a new port and payload type sends
// there with the same SSRC and the next sequence number; an update that
// says the far end holds the call sends nothing until the next one
// resumes it; another codec is refused.
func TestUpdateMovesMedia(t *testing.T) {
	first, moved := rawPeer(t), rawPeer(t)
	opus := Codec{PT: 111, Name: CodecOpus}
	s := listen(t, Audio, Options{})
	start(t, s, Remote{RTP: first.LocalAddr().(*net.UDPAddr), Codec: opus})
	frame := tone(440, 0, 960)
	if err := s.WriteAudio(frame); err != nil {
		t.Fatal(err)
	}
	before := nextPacket(t, first, 2*time.Second)

	r := Remote{RTP: moved.LocalAddr().(*net.UDPAddr), Codec: Codec{PT: 112, Name: CodecOpus}}
	if err := s.Update(r); err != nil {
		t.Fatalf("Update to %v: %v", r.RTP, err)
	}
	if err := s.WriteAudio(frame); err != nil {
		t.Fatal(err)
	}
	after := nextPacket(t, moved, 2*time.Second)
	if after.SSRC != before.SSRC || after.SequenceNumber != before.SequenceNumber+1 || after.PayloadType != 112 {
		t.Errorf("after Update: SSRC %x seq %d PT %d; want SSRC %x seq %d PT 112", after.SSRC, after.SequenceNumber, after.PayloadType, before.SSRC, before.SequenceNumber+1)
	}

	r.NoSend = true
	if err := s.Update(r); err != nil {
		t.Fatal(err)
	}
	if err := s.WriteAudio(frame); err != nil {
		t.Fatal(err)
	}
	r.NoSend = false
	if err := s.Update(r); err != nil {
		t.Fatal(err)
	}
	if err := s.WriteAudio(frame); err != nil {
		t.Fatal(err)
	}
	resumed := nextPacket(t, moved, 2*time.Second)
	if resumed.SequenceNumber != after.SequenceNumber+1 {
		t.Errorf("after hold and resume: seq %d; want %d (nothing sent on hold, no gap)", resumed.SequenceNumber, after.SequenceNumber+1)
	}
	if err := s.Update(Remote{RTP: r.RTP, Codec: Codec{PT: 0, Name: CodecPCMU}}); err == nil {
		t.Error("Update to another codec succeeded; want an error")
	}
}
