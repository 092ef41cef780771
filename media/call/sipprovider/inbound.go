package sipprovider

import (
	"strconv"
	"sync"
	"time"

	"github.com/roomd/roomd/media/sip/ua"
	"github.com/roomd/roomd/room"
)

// Inbound holds the calls ringing the room until the room answers
// (a join with room.Meeting.Incoming, which the provider takes from here)
// or declines them, and tells the room about them and about the SIP
// registration. Give Ring to ua.Config.OnIncoming and Registration to
// ua.Config.OnRegistration. It is safe for concurrent use.
type Inbound struct {
	report func(room.Report)
	aor    string

	mu      sync.Mutex
	next    uint64
	ringing map[string]*ua.IncomingCall
}

// NewInbound makes the ringing-call holder; report is the room's inbox,
// aor the registered address of record ("" without an account).
func NewInbound(report func(room.Report), aor string) *Inbound {
	return &Inbound{report: report, aor: aor, ringing: map[string]*ua.IncomingCall{}}
}

// Ring takes a call the inbound policy let through and rings the room.
func (in *Inbound) Ring(ic *ua.IncomingCall) {
	in.mu.Lock()
	in.next++
	id := strconv.FormatUint(in.next, 10)
	in.ringing[id] = ic
	in.mu.Unlock()
	in.report(room.IncomingCallReported{ID: id, From: ic.From, Display: ic.Display, At: time.Now()})
	go func() {
		<-ic.Done()
		in.mu.Lock()
		_, still := in.ringing[id]
		delete(in.ringing, id)
		in.mu.Unlock()
		if still {
			why := ic.Gone()
			if why == "" {
				why = "the caller hung up"
			}
			in.report(room.IncomingCallGone{ID: id, Reason: why})
		}
	}()
}

// Take hands the ringing call id to the join that answers it.
func (in *Inbound) Take(id string) (*ua.IncomingCall, bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	ic, ok := in.ringing[id]
	delete(in.ringing, id)
	return ic, ok
}

// Decline refuses the ringing call id (603 Decline).
func (in *Inbound) Decline(id string) {
	if ic, ok := in.Take(id); ok {
		go ic.Decline(false)
	}
}

// Registration reports the SIP account's registration to the room.
func (in *Inbound) Registration(r ua.Registration) {
	st := room.SIPOff
	switch r.State {
	case ua.Registering:
		st = room.SIPRegistering
	case ua.Registered:
		st = room.SIPRegistered
	case ua.Failed:
		st = room.SIPFailed
	}
	in.report(room.SIPRegistrationReported{Status: st, Reason: r.Reason, URI: in.aor, Since: r.Since})
}
