package ua

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// dialogSession is what Call needs of sipgo's client and server dialog
// sessions.
type dialogSession interface {
	TransactionRequest(ctx context.Context, req *sip.Request) (sip.ClientTransaction, error)
	WriteRequest(req *sip.Request) error
	WriteBye(ctx context.Context, bye *sip.Request) error
	ReadRequest(req *sip.Request, tx sip.ServerTransaction) error
	Context() context.Context
}

var (
	_ dialogSession = (*sipgo.DialogClientSession)(nil)
	_ dialogSession = (*sipgo.DialogServerSession)(nil)
)

// End is how a call ended.
type End struct {
	Reason string // for the room's status: "the far end hung up"
	Remote bool   // the far end ended it
	Err    error  // what failed, if something did
}

// Call is an established call (a confirmed INVITE dialog). Its methods are
// safe for concurrent use.
type Call struct {
	u        *UA
	ep       *endpoint
	sess     dialogSession
	srv      *sipgo.DialogServerSession // nil for calls the room placed
	key      string
	outbound bool
	remote   string  // the far end's address
	target   sip.Uri // where in-dialog requests go
	farAllow string  // the far end's Allow header
	neg      Negotiator
	h        Handlers

	reqMu    sync.Mutex        // one in-dialog request of ours at a time
	offering atomic.Bool       // a re-INVITE of ours awaits its answer
	acks     chan *sip.Request // ACKs of our 2xx responses
	timer    sessionTimer      // RFC 4028
	done     chan struct{}     // closed when the call ended
	once     sync.Once         // guards end
	end      End               // set before done closes
	mu       sync.Mutex        // guards dir
	dir      Direction         // what the room last offered
}

func newCall(u *UA, ep *endpoint, sess dialogSession, key string, n Negotiator, h Handlers) *Call {
	return &Call{u: u, ep: ep, sess: sess, key: key, neg: n, h: h,
		acks: make(chan *sip.Request, 4), done: make(chan struct{})}
}

// ID returns the call's dialog identifier (Call-ID and tags).
func (c *Call) ID() string { return c.key }

// Remote returns the far end's SIP address.
func (c *Call) Remote() string { return c.remote }

// Outbound says whether the room placed the call.
func (c *Call) Outbound() bool { return c.outbound }

// Done is closed when the call has ended; End says how.
func (c *Call) Done() <-chan struct{} { return c.done }

// End returns how the call ended; it is the zero End while the call lasts.
func (c *Call) End() End {
	select {
	case <-c.done:
		return c.end
	default:
		return End{}
	}
}

// register makes the call reachable by in-dialog requests.
func (c *Call) register() {
	c.u.mu.Lock()
	c.u.calls[c.key] = c
	c.u.mu.Unlock()
}

// finish ends the call once: timers stop, the slot is freed, Done closes.
func (c *Call) finish(reason string, remote bool, err error) {
	c.once.Do(func() {
		c.timer.stop()
		c.u.mu.Lock()
		if c.u.calls[c.key] == c {
			delete(c.u.calls, c.key)
		}
		c.u.mu.Unlock()
		c.u.releaseSlot()
		c.end = End{Reason: reason, Remote: remote, Err: err}
		close(c.done)
		c.u.log.Info("sip: call ended", "remote", c.remote, "reason", reason)
	})
}

// Hangup sends BYE and ends the call. The call ends even if the BYE gets
// no answer.
func (c *Call) Hangup(ctx context.Context) error {
	select {
	case <-c.done:
		return nil
	default:
	}
	c.reqMu.Lock()
	err := c.sess.WriteBye(ctx, c.newRequest(sip.BYE))
	c.reqMu.Unlock()
	c.finish("the room hung up", false, nil)
	if err != nil {
		return fmt.Errorf("ua: hang up %s: %w", c.remote, err)
	}
	return nil
}

// Hold puts the far end on hold: a re-INVITE offering sendonly.
func (c *Call) Hold(ctx context.Context) error { return c.reoffer(ctx, SendOnly) }

// Resume takes the far end off hold: a re-INVITE offering sendrecv.
func (c *Call) Resume(ctx context.Context) error { return c.reoffer(ctx, SendRecv) }

func (c *Call) reoffer(ctx context.Context, dir Direction) error {
	c.reqMu.Lock()
	defer c.reqMu.Unlock()
	err := c.reinvite(ctx, dir)
	var ce *CallError
	if errors.As(err, &ce) && ce.Code == 491 {
		// Glare: both re-offered at once. RFC 3261 14.1: try again after
		// 2.1–4 s (the owner of the Call-ID waits longer; close enough).
		wait := 2100*time.Millisecond + time.Duration(rand.Int64N(int64(1900*time.Millisecond)))
		if !sleep(c.u.cfg.Clock, wait, ctx.Done()) {
			return ctx.Err()
		}
		err = c.reinvite(ctx, dir)
	}
	if err != nil {
		return fmt.Errorf("ua: re-offer %s to %s: %w", dir, c.remote, err)
	}
	return nil
}

// reinvite sends a re-INVITE with a fresh offer and ACKs its answer; the
// caller holds reqMu.
func (c *Call) reinvite(ctx context.Context, dir Direction) error {
	c.offering.Store(true)
	defer c.offering.Store(false)
	offer, err := c.neg.Offer(dir)
	if err != nil {
		return err
	}
	req := c.newRequest(sip.INVITE)
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	c.timer.addHeaders(req)
	req.SetBody(offer)
	res, err := c.do(ctx, req)
	if err != nil {
		return err
	}
	if !res.IsSuccess() {
		return reasonFor(int(res.StatusCode), res.Reason)
	}
	ack := c.newRequest(sip.ACK)
	ack.AppendHeader(&sip.CSeqHeader{SeqNo: req.CSeq().SeqNo, MethodName: sip.ACK})
	if err := c.sess.WriteRequest(ack); err != nil {
		return fmt.Errorf("send ACK: %w", err)
	}
	if err := c.neg.Accept(res.Body()); err != nil {
		return &CallError{Reason: "no common codec or encryption", Kind: ErrNotAcceptable, Err: err}
	}
	c.mu.Lock()
	c.dir = dir
	c.mu.Unlock()
	c.timer.refreshed(res)
	return nil
}

// SendFastUpdate asks the far end for a key frame by SIP INFO
// (picture_fast_update), as older room systems expect.
func (c *Call) SendFastUpdate(ctx context.Context) error {
	if err := c.info(ctx, mediaControlType, []byte(fastUpdateXML)); err != nil {
		return fmt.Errorf("ua: send picture_fast_update to %s: %w", c.remote, err)
	}
	return nil
}

// SendDTMF sends one digit by SIP INFO (application/dtmf-relay), for far
// ends that take DTMF only that way; RFC 4733 events in the media are the
// usual path.
func (c *Call) SendDTMF(ctx context.Context, digit rune, d time.Duration) error {
	if _, _, err := dtmfDigit(string(digit), d); err != nil {
		return err
	}
	body := fmt.Sprintf("Signal=%c\r\nDuration=%d\r\n", digit, d.Milliseconds())
	if err := c.info(ctx, "application/dtmf-relay", []byte(body)); err != nil {
		return fmt.Errorf("ua: send DTMF %c to %s: %w", digit, c.remote, err)
	}
	return nil
}

// info sends an INFO and wants a 2xx.
func (c *Call) info(ctx context.Context, contentType string, body []byte) error {
	c.reqMu.Lock()
	defer c.reqMu.Unlock()
	req := c.newRequest(sip.INFO)
	req.AppendHeader(sip.NewHeader("Content-Type", contentType))
	req.SetBody(body)
	res, err := c.do(ctx, req)
	if err != nil {
		return err
	}
	if !res.IsSuccess() {
		return reasonFor(int(res.StatusCode), res.Reason)
	}
	return nil
}

// newRequest starts an in-dialog request; the dialog session adds From,
// To, Call-ID, CSeq, Via and Route.
func (c *Call) newRequest(m sip.RequestMethod) *sip.Request {
	return c.u.dialogRequest(c.ep, m, c.target)
}

// dialogRequest starts a request of a dialog through ep to its remote
// target, with the agent's User-Agent.
func (u *UA) dialogRequest(ep *endpoint, m sip.RequestMethod, target sip.Uri) *sip.Request {
	req := sip.NewRequest(m, *target.Clone())
	req.AppendHeader(sip.NewHeader("User-Agent", u.agent))
	if m != sip.ACK {
		req.AppendHeader(sip.NewHeader("Allow", allowed))
	}
	if ep.transport == UDP {
		req.Laddr = ep.laddr
	}
	return req
}

// do sends an in-dialog request and waits for its final response.
func (c *Call) do(ctx context.Context, req *sip.Request) (*sip.Response, error) {
	tx, err := c.sess.TransactionRequest(ctx, req)
	if err != nil {
		return nil, err
	}
	defer tx.Terminate()
	for {
		select {
		case res := <-tx.Responses():
			if res.IsProvisional() {
				continue
			}
			return res, nil
		case <-tx.Done():
			return nil, &CallError{Reason: "the far end stopped answering", Kind: ErrUnreachable, Err: tx.Err()}
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// onReinvite answers the far end's re-INVITE (hold, resume, refresh).
func (c *Call) onReinvite(req *sip.Request, tx sip.ServerTransaction) {
	if !c.readRequest(req, tx) {
		return
	}
	body := req.Body()
	var sdp []byte
	var err error
	late := len(body) == 0
	if late {
		c.mu.Lock()
		dir := c.dir
		c.mu.Unlock()
		sdp, err = c.neg.Offer(dir)
	} else {
		sdp, err = c.neg.Answer(body)
	}
	if err != nil {
		c.u.log.Info("sip: refused a re-offer", "remote", c.remote, "err", err)
		c.u.respond(req, tx, 488, "Not Acceptable Here", nil)
		return
	}
	c.timer.heard(req)
	res := c.okWithSDP(req, sdp)
	ack := c.respondUntilAck(req, tx, res)
	if late && ack != nil {
		if err := c.neg.Accept(ack.Body()); err != nil {
			c.u.log.Info("sip: refused the answer in ACK", "remote", c.remote, "err", err)
		}
	}
}

// readRequest checks an in-dialog offer or refresh: its CSeq in order
// (else 500), and no offer of ours pending (else 491, RFC 3261 14.2).
func (c *Call) readRequest(req *sip.Request, tx sip.ServerTransaction) bool {
	if c.offering.Load() && len(req.Body()) > 0 {
		c.u.respond(req, tx, 491, "Request Pending", nil)
		return false
	}
	if err := c.sess.ReadRequest(req, tx); err != nil {
		c.u.respond(req, tx, 500, "Server Internal Error", nil, sip.NewHeader("Retry-After", "1"))
		return false
	}
	return true
}

// onUpdate answers UPDATE: a session refresh, with or without an offer.
func (c *Call) onUpdate(req *sip.Request, tx sip.ServerTransaction) {
	if !c.readRequest(req, tx) {
		return
	}
	var sdp []byte
	if body := req.Body(); len(body) > 0 {
		ans, err := c.neg.Answer(body)
		if err != nil {
			c.u.respond(req, tx, 488, "Not Acceptable Here", nil)
			return
		}
		sdp = ans
	}
	c.timer.heard(req)
	res := c.okWithSDP(req, sdp)
	if err := tx.Respond(res); err != nil {
		c.u.log.Debug("sip: answer UPDATE", "err", err)
	}
}

// okWithSDP builds a 200 for an in-dialog request, with sdp if any.
func (c *Call) okWithSDP(req *sip.Request, sdp []byte) *sip.Response {
	res := sip.NewResponseFromRequest(req, 200, "OK", nil)
	if sdp != nil {
		res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		res.SetBody(sdp)
	}
	res.AppendHeader(sip.HeaderClone(&c.ep.contact))
	res.AppendHeader(sip.NewHeader("Server", c.u.agent))
	res.AppendHeader(sip.NewHeader("Allow", allowed))
	c.timer.answerHeaders(req, res)
	return res
}

// respondUntilAck sends a 2xx to an INVITE and, on UDP, repeats it until
// the ACK comes (RFC 3261 13.3.1.4); it returns the ACK, nil if none came.
func (c *Call) respondUntilAck(req *sip.Request, tx sip.ServerTransaction, res *sip.Response) *sip.Request {
	if err := tx.Respond(res); err != nil {
		return nil
	}
	interval := sip.T1
	deadline := time.NewTimer(64 * sip.T1)
	defer deadline.Stop()
	for {
		resend := time.NewTimer(interval)
		select {
		case ack := <-c.acks:
			resend.Stop()
			if ack.CSeq().SeqNo == req.CSeq().SeqNo {
				return ack
			}
		case <-resend.C:
			if !sip.IsReliable(req.Transport()) {
				_ = tx.Respond(res)
			}
			interval = min(2*interval, sip.T2)
		case <-deadline.C:
			resend.Stop()
			c.u.log.Info("sip: no ACK to a re-INVITE", "remote", c.remote)
			return nil
		case <-c.done:
			resend.Stop()
			return nil
		}
	}
}

// onAck takes an ACK of one of our 2xx responses.
func (c *Call) onAck(req *sip.Request, tx sip.ServerTransaction) {
	if c.srv != nil {
		_ = c.srv.ReadAck(req, tx)
	}
	select {
	case c.acks <- req:
	default:
	}
}

// onBye ends the call at the far end's request.
func (c *Call) onBye(req *sip.Request, tx sip.ServerTransaction) {
	c.u.respond(req, tx, 200, "OK", nil)
	reason := "the far end hung up"
	if h := req.GetHeader("Reason"); h != nil {
		reason += " (" + h.Value() + ")"
	}
	c.finish(reason, true, nil)
}

// onInfo takes picture_fast_update and DTMF.
func (c *Call) onInfo(req *sip.Request, tx sip.ServerTransaction) {
	ct := ""
	if h := req.ContentType(); h != nil {
		ct = strings.ToLower(strings.TrimSpace(strings.SplitN(h.Value(), ";", 2)[0]))
	}
	switch ct {
	case mediaControlType:
		if !isFastUpdate(req.Body()) {
			c.u.respond(req, tx, 400, "Bad Request", nil)
			return
		}
		if c.h.FastUpdate != nil {
			c.h.FastUpdate()
		}
		c.u.respond(req, tx, 200, "OK", nil)
	case "application/dtmf-relay", "application/dtmf":
		digit, dur, err := parseDTMF(ct, req.Body())
		if err != nil {
			c.u.respond(req, tx, 400, "Bad Request", nil)
			return
		}
		if c.h.DTMF != nil {
			c.h.DTMF(digit, dur)
		}
		c.u.respond(req, tx, 200, "OK", nil)
	case "":
		c.u.respond(req, tx, 200, "OK", nil) // an empty INFO is a keepalive
	default:
		c.u.respond(req, tx, 415, "Unsupported Media Type", nil,
			sip.NewHeader("Accept", mediaControlType+", application/dtmf-relay, application/dtmf"))
	}
}

// errCallGone is returned by Accept when the caller gave up first.
var errCallGone = errors.New("ua: the caller hung up before the room answered")
