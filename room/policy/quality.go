package policy

import (
	"context"
	"sync"
	"time"

	"github.com/roomd/roomd/room"
)

// CallSummary sums up the calls between two health reports.
type CallSummary struct {
	Calls        int     // calls connected
	Minutes      float64 // minutes in a call
	AvgRTTMillis int     // mean round-trip time over the call's samples
	AvgLossPct   float64 // mean packet loss over the call's samples
	Reconnects   int     // times a call went reconnecting
}

// CallQuality sums up calls from the room's updates until [CallQuality.Take]
// hands the summary over and starts a new one. The zero value is ready.
type CallQuality struct {
	mu         sync.Mutex
	q          CallSummary
	rttSum     float64
	lossSum    float64
	samples    int
	inCallFrom time.Time
	lastSeq    uint64
	lastMedia  room.CallMedia
	reconnects bool
}

// Run follows w until ctx ends, timing calls by now (nil: time.Now).
// Cancellation is not an error.
func (cq *CallQuality) Run(ctx context.Context, w Watcher, now func() time.Time) error {
	if now == nil {
		now = time.Now
	}
	for u := range w.Watch(ctx) {
		cq.Update(u.State, now())
	}
	return nil
}

// Update takes the room's state s as it was at now.
func (cq *CallQuality) Update(s room.State, now time.Time) {
	cq.mu.Lock()
	defer cq.mu.Unlock()
	inCall := s.Call == room.InCall
	if inCall && s.CallSeq != cq.lastSeq {
		cq.q.Calls++
		cq.lastSeq = s.CallSeq
	}
	if s.Call == room.Reconnecting && !cq.reconnects {
		cq.q.Reconnects++
	}
	cq.reconnects = s.Call == room.Reconnecting
	switch {
	case inCall && cq.inCallFrom.IsZero():
		cq.inCallFrom = now
	case !inCall && !cq.inCallFrom.IsZero():
		cq.q.Minutes += now.Sub(cq.inCallFrom).Minutes()
		cq.inCallFrom = time.Time{}
	}
	if inCall && !s.Media.Equal(cq.lastMedia) && s.Media.RTTMillis > 0 {
		cq.rttSum += float64(s.Media.RTTMillis)
		cq.lossSum += s.Media.LossPercent
		cq.samples++
	}
	cq.lastMedia = s.Media
}

// Take returns the summary up to now and starts a new one; nil when there
// was no call. A call still going counts up to now in this summary and
// from now in the next.
func (cq *CallQuality) Take(now time.Time) *CallSummary {
	cq.mu.Lock()
	defer cq.mu.Unlock()
	if !cq.inCallFrom.IsZero() {
		cq.q.Minutes += now.Sub(cq.inCallFrom).Minutes()
		cq.inCallFrom = now
	}
	if cq.q.Calls == 0 && cq.q.Minutes == 0 {
		return nil
	}
	q := cq.q
	if cq.samples > 0 {
		q.AvgRTTMillis = int(cq.rttSum / float64(cq.samples))
		q.AvgLossPct = cq.lossSum / float64(cq.samples)
	}
	cq.q, cq.rttSum, cq.lossSum, cq.samples = CallSummary{}, 0, 0, 0
	return &q
}
