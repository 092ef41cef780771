package sipprovider

import (
	"testing"
	"time"

	"github.com/roomd/roomd/internal/siptest"
)

// audioSent is how many RTP packets the call in progress's audio sent.
func (p *Provider) audioSent() uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.audio == nil {
		return 0
	}
	return p.audio.Stats().Sent.Packets
}

// TestBaresipHoldStopsRoomMedia: while baresip holds the call (its
// re-INVITE says sendonly) the room sends no audio; after baresip
// resumes, the room sends again and baresip shows roomd's pattern.
func TestBaresipHoldStopsRoomMedia(t *testing.T) {
	b, g := inCallWithBaresip(t, 5*time.Second)
	b.Expect(5*time.Second, siptest.EventCallEstablished)
	eventually(t, 5*time.Second, "roomd's audio going out", func() bool { return g.prov.audioSent() > 10 })
	b.Hold()
	eventually(t, 5*time.Second, "the room on hold", g.prov.cfgHeld)
	time.Sleep(200 * time.Millisecond) // packets already on their way
	held := g.prov.audioSent()
	time.Sleep(500 * time.Millisecond)
	if n := g.prov.audioSent(); n != held {
		t.Errorf("the room sent %d audio packets while held; want none", n-held)
	}
	b.Resume()
	eventually(t, 5*time.Second, "roomd's audio after resume", func() bool { return g.prov.audioSent() > held+10 })
	eventually(t, 15*time.Second, "roomd's pattern at baresip after resume", func() bool {
		img, err := b.ReceivedFrame(3 * time.Second)
		return err == nil && checkPattern(img) == nil
	})
}
