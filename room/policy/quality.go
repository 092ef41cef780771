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
	// Protocols sums up the calls by the protocol that carried them
	// ("Janus", "WHIP", "SIP"), nil when no call said its protocol.
	Protocols map[string]ProtocolSummary
}

// ProtocolSummary sums up the calls one protocol carried between two
// health reports.
type ProtocolSummary struct {
	Calls        int     // calls whose media flowed on the protocol
	Failures     int     // of them, calls that ended failed
	AvgRTTMillis int     // mean round-trip time over the calls' samples
	AvgLossPct   float64 // mean packet loss over the calls' samples
}

// mediaSamples sums round-trip times and losses for their means.
type mediaSamples struct {
	rttSum, lossSum float64
	n               int
}

func (m *mediaSamples) add(media room.CallMedia) {
	m.rttSum += float64(media.RTTMillis)
	m.lossSum += media.LossPercent
	m.n++
}

// means returns the mean round-trip time and loss, zero without samples.
func (m mediaSamples) means() (rttMillis int, lossPct float64) {
	if m.n == 0 {
		return 0, 0
	}
	return int(m.rttSum / float64(m.n)), m.lossSum / float64(m.n)
}

// protocolTally is one protocol's part of the summary being built.
type protocolTally struct {
	calls, failures int
	samples         mediaSamples
}

// CallQuality sums up calls from the room's updates until [CallQuality.Take]
// hands the summary over and starts a new one. The zero value is ready.
type CallQuality struct {
	mu         sync.Mutex
	q          CallSummary
	samples    mediaSamples
	protocols  map[string]*protocolTally
	protoSeq   uint64 // the call last counted for its protocol
	callProto  string // the protocol of call lastSeq, once its media says
	failed     bool
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
	if s.CallSeq != cq.protoSeq {
		cq.callProto = ""
	}
	if p := s.Media.Protocol; p != "" && s.Call.Active() && s.CallSeq != cq.protoSeq {
		cq.protoSeq, cq.callProto = s.CallSeq, p
		cq.tally(p).calls++
	}
	if s.Call == room.Failed && !cq.failed && cq.callProto != "" && s.CallSeq == cq.protoSeq {
		cq.tally(cq.callProto).failures++
	}
	cq.failed = s.Call == room.Failed
	if inCall && !s.Media.Equal(cq.lastMedia) && s.Media.RTTMillis > 0 {
		cq.samples.add(s.Media)
		if cq.callProto != "" {
			cq.tally(cq.callProto).samples.add(s.Media)
		}
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
	q.AvgRTTMillis, q.AvgLossPct = cq.samples.means()
	for name, t := range cq.protocols {
		if q.Protocols == nil {
			q.Protocols = map[string]ProtocolSummary{}
		}
		ps := ProtocolSummary{Calls: t.calls, Failures: t.failures}
		ps.AvgRTTMillis, ps.AvgLossPct = t.samples.means()
		q.Protocols[name] = ps
	}
	cq.q, cq.samples, cq.protocols = CallSummary{}, mediaSamples{}, nil
	return &q
}

// tally is protocol p's part of the summary being built.
func (cq *CallQuality) tally(p string) *protocolTally {
	if cq.protocols == nil {
		cq.protocols = map[string]*protocolTally{}
	}
	t := cq.protocols[p]
	if t == nil {
		t = &protocolTally{}
		cq.protocols[p] = t
	}
	return t
}
