package ua

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/roomd/roomd/media/sip/sdp"
)

// IncomingCall is an inbound call ringing the room. The room answers it
// once, with Accept or Decline; until then the caller hears ringing.
type IncomingCall struct {
	From        string // the caller's address, sip:alice@example.org
	Display     string // the caller's display name, if any
	AllowListed bool   // the caller is on the policy's allow list
	Source      string // the address the INVITE came from
	Offer       []byte // the caller's SDP offer; nil for a late offer

	u    *UA
	ep   *endpoint
	req  *sip.Request
	sess *sipgo.DialogServerSession

	mu       sync.Mutex
	state    ringState
	gone     string        // why the call went away unanswered
	answered chan struct{} // closed when the final response is out
	done     chan struct{} // closed when the call stops ringing
}

type ringState int

const (
	ringing ringState = iota
	answering
	finished
)

// Done is closed when the call stops ringing: answered, declined, or
// given up (see Gone).
func (ic *IncomingCall) Done() <-chan struct{} { return ic.done }

// Gone says why the call stopped ringing before the room answered ("" if
// it did not).
func (ic *IncomingCall) Gone() string {
	ic.mu.Lock()
	defer ic.mu.Unlock()
	return ic.gone
}

// claim moves a ringing call to answering; it reports false if the call
// is no longer ringing.
func (ic *IncomingCall) claim() bool {
	ic.mu.Lock()
	defer ic.mu.Unlock()
	if ic.state != ringing {
		return false
	}
	ic.state = answering
	return true
}

// settle ends the ringing; gone is why, when the room did not answer.
func (ic *IncomingCall) settle(gone string) {
	ic.mu.Lock()
	defer ic.mu.Unlock()
	if ic.state == finished {
		return
	}
	ic.state = finished
	ic.gone = gone
	close(ic.done)
}

// Accept answers the call with an answer from n (or an offer, if the
// caller sent none) and returns it once the caller's ACK confirms it. A
// Negotiator that refuses the offer makes it a 488 and a *CallError of
// ErrNotAcceptable.
func (ic *IncomingCall) Accept(ctx context.Context, n Negotiator, h Handlers) (*Call, error) {
	if !ic.claim() {
		return nil, errCallGone
	}
	defer close(ic.answered)
	u := ic.u
	late := len(ic.Offer) == 0
	var sdp []byte
	var err error
	if late {
		sdp, err = n.Offer(SendRecv)
	} else {
		sdp, err = n.Answer(ic.Offer)
	}
	if err != nil {
		_ = ic.sess.Respond(488, "Not Acceptable Here", nil, sip.NewHeader("Server", u.agent))
		ic.settle("no common codec or encryption")
		u.releaseSlot()
		return nil, &CallError{Code: 488, Phrase: "Not Acceptable Here", Reason: "no common codec or encryption", Kind: ErrNotAcceptable, Err: err}
	}
	inv := ic.sess.InviteRequest
	local, _ := inv.To().Params.Get("tag")
	remote, _ := inv.From().Params.Get("tag")
	c := newCall(u, ic.ep, ic.sess, dialogKey(string(*inv.CallID()), local, remote), n, h)
	c.srv = ic.sess
	c.remote = ic.From
	c.target = inv.Contact().Address
	if a := inv.GetHeader("Allow"); a != nil {
		c.farAllow = a.Value()
	}
	interval, weRefresh := u.sessionTerms(inv)
	c.timer.start(c, 0, false) // armed once confirmed
	res := sip.NewSDPResponseFromRequest(inv, sdp)
	res.AppendHeader(sip.NewHeader("Server", u.agent))
	res.AppendHeader(sip.NewHeader("Allow", allowed))
	res.AppendHeader(sip.NewHeader("Supported", "timer"))
	who := "uac"
	if weRefresh {
		who = "uas"
	}
	res.AppendHeader(sip.NewHeader("Session-Expires", seconds(interval)+";refresher="+who))
	if who == "uac" {
		res.AppendHeader(sip.NewHeader("Require", "timer"))
	}
	c.register()
	ic.settle("")
	if err := ic.sess.WriteResponse(res); err != nil {
		c.finish("the caller did not confirm the answer", true, err)
		return nil, &CallError{Reason: "the caller did not confirm the answer", Kind: ErrUnreachable, Err: err}
	}
	if late {
		var answer []byte
		select {
		case ack := <-c.acks:
			answer = ack.Body()
		case <-time.After(sip.T1):
		}
		if err := n.Accept(answer); err != nil {
			_ = c.Hangup(ctx)
			return nil, &CallError{Reason: "no common codec or encryption", Kind: ErrNotAcceptable, Err: err}
		}
	}
	c.timer.start(c, interval, weRefresh)
	u.log.Info("sip: call accepted", "remote", c.remote)
	return c, nil
}

// Decline refuses the call: 486 Busy Here if busy, else 603 Decline.
func (ic *IncomingCall) Decline(busy bool) error {
	if !ic.claim() {
		return errCallGone
	}
	defer close(ic.answered)
	code, phrase := 603, "Decline"
	if busy {
		code, phrase = 486, "Busy Here"
	}
	ic.settle("the room declined the call")
	ic.u.releaseSlot()
	if err := ic.sess.Respond(code, phrase, nil, sip.NewHeader("Server", ic.u.agent)); err != nil {
		return fmt.Errorf("ua: decline the call from %s: %w", ic.From, err)
	}
	return nil
}

// sessionTerms picks the session interval and refresher for an inbound
// INVITE (RFC 4028 section 9).
func (u *UA) sessionTerms(inv *sip.Request) (time.Duration, bool) {
	interval := u.cfg.SessionExpires
	who := ""
	if h := inv.GetHeader("Session-Expires"); h != nil {
		if d, r, ok := parseSessionExpires(h.Value()); ok {
			interval = min(interval, max(d, MinSE))
			who = r
		}
	}
	switch {
	case who == "uac" || who == "uas":
		return interval, who == "uas"
	case supportsTimer(inv):
		return interval, false // the caller can refresh: let it
	}
	return interval, true
}

// onNewInvite handles an INVITE that starts a call.
func (u *UA) onNewInvite(req *sip.Request, tx sip.ServerTransaction) {
	host, _, err := net.SplitHostPort(req.Source())
	if err != nil {
		host = req.Source()
	}
	if !u.limiter.allow(host) {
		u.log.Info("sip: inbound INVITE over the rate limit", "source", host)
		u.respond(req, tx, 503, "Service Unavailable", nil, sip.NewHeader("Retry-After", "5"))
		return
	}
	if req.Contact() == nil || req.From() == nil || req.To() == nil || req.CSeq() == nil {
		u.respond(req, tx, 400, "Bad Request", nil)
		return
	}
	if s := strings.ToLower(req.Recipient.Scheme); s != "sip" && s != "sips" {
		// RFC 3261 8.2.2.1: a Request-URI scheme the UAS does not serve.
		u.respond(req, tx, 416, "Unsupported URI Scheme", nil)
		return
	}
	if ct := req.ContentType(); len(req.Body()) > 0 && (ct == nil || !strings.EqualFold(strings.TrimSpace(strings.SplitN(ct.Value(), ";", 2)[0]), "application/sdp")) {
		u.respond(req, tx, 415, "Unsupported Media Type", nil, sip.NewHeader("Accept", "application/sdp"))
		return
	}
	from := req.From().Address
	if !u.cfg.Inbound.allows(from) || u.cfg.OnIncoming == nil {
		u.log.Info("sip: inbound call refused by policy", "from", from.Addr(), "policy", u.cfg.Inbound.Kind.String())
		u.respond(req, tx, 403, "Forbidden", nil)
		return
	}
	if ext := unsupported(req); ext != "" {
		u.respond(req, tx, 420, "Bad Extension", nil, sip.NewHeader("Unsupported", ext))
		return
	}
	if h := req.GetHeader("Session-Expires"); h != nil {
		if d, _, ok := parseSessionExpires(h.Value()); ok && d < MinSE {
			u.respond(req, tx, 422, "Session Interval Too Small", nil, sip.NewHeader("Min-SE", seconds(MinSE)))
			return
		}
	}
	if len(req.Body()) > 0 {
		// An offer no answer could take must not ring the room.
		if err := sdp.CheckOffer(req.Body()); err != nil {
			u.log.Info("sip: inbound call refused: its offer is unusable", "from", from.Addr(), "err", err)
			if errors.Is(err, sdp.ErrMalformed) {
				u.respond(req, tx, 400, "Bad Request (malformed SDP)", nil)
			} else {
				u.respond(req, tx, 488, "Not Acceptable Here", nil, sip.NewHeader("Warning", `304 roomd "no audio stream the room can take"`))
			}
			return
		}
	}
	ep := u.endpoint(Transport(sip.NetworkToLower(req.Transport())))
	if ep == nil {
		u.respond(req, tx, 500, "Server Internal Error", nil)
		return
	}
	if !u.takeSlot() {
		u.respond(req, tx, 486, "Busy Here", nil)
		return
	}
	sess, err := ep.dialog.ReadInvite(req, tx)
	if err != nil {
		u.releaseSlot()
		u.respond(req, tx, 400, "Bad Request", nil)
		return
	}
	ic := &IncomingCall{
		From:        from.Addr(),
		Display:     req.From().DisplayName,
		AllowListed: u.cfg.Inbound.Kind == PolicyAllowList,
		Source:      req.Source(),
		Offer:       req.Body(),
		u:           u,
		ep:          ep,
		req:         req,
		sess:        sess,
		answered:    make(chan struct{}),
		done:        make(chan struct{}),
	}
	if err := sess.Respond(180, "Ringing", nil, sip.NewHeader("Server", u.agent)); err != nil {
		u.releaseSlot()
		return
	}
	u.log.Info("sip: inbound call ringing", "from", ic.From)
	u.cfg.OnIncoming(ic)
	ring := make(chan struct{})
	t := u.cfg.Clock.AfterFunc(u.cfg.RingTimeout, func() { close(ring) })
	defer t.Stop()
	select {
	case <-ic.answered:
	case <-sess.Context().Done():
		if ic.claim() {
			ic.settle("the caller hung up")
			u.releaseSlot()
			close(ic.answered)
		}
		<-ic.answered
	case <-ring:
		if ic.claim() {
			ic.settle("nobody answered")
			u.releaseSlot()
			_ = sess.Respond(480, "Temporarily Unavailable", nil, sip.NewHeader("Server", u.agent))
			close(ic.answered)
		}
		<-ic.answered
	}
}

// unsupported returns the extensions req requires that the agent lacks
// (it supports only "timer"), comma-separated.
func unsupported(req *sip.Request) string {
	var missing []string
	for _, h := range req.GetHeaders("Require") {
		for _, ext := range strings.Split(h.Value(), ",") {
			if ext = strings.TrimSpace(ext); ext != "" && !strings.EqualFold(ext, "timer") {
				missing = append(missing, ext)
			}
		}
	}
	return strings.Join(missing, ", ")
}
