package janus

import (
	"log/slog"
	"sync"

	"github.com/pion/webrtc/v4"
)

// trickler sends a PeerConnection's local candidates to its handle. pion
// starts gathering at SetLocalDescription, before the SDP is on its way, so
// candidates wait until release: Janus should see the SDP first.
type trickler struct {
	c       *conn
	session uint64
	handle  uint64
	log     *slog.Logger

	mu    sync.Mutex
	open  bool
	queue []*trickleEntry
}

// candidate is the PeerConnection's OnICECandidate handler; nil means
// gathering is complete.
func (t *trickler) candidate(c *webrtc.ICECandidate) {
	e := &trickleEntry{Completed: true}
	if c != nil {
		init := c.ToJSON()
		e = &trickleEntry{Candidate: init.Candidate, SDPMid: init.SDPMid, SDPMLineIndex: init.SDPMLineIndex}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.open {
		t.queue = append(t.queue, e)
		return
	}
	t.send(e)
}

// release sends what has queued up and everything after it.
func (t *trickler) release() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.open = true
	for _, e := range t.queue {
		t.send(e)
	}
	t.queue = nil
}

func (t *trickler) send(e *trickleEntry) {
	err := t.c.send(&request{Janus: "trickle", SessionID: t.session, HandleID: t.handle, Candidate: e})
	if err != nil {
		t.log.Debug("janus: trickle", "handle", t.handle, "err", err)
	}
}
