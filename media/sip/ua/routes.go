package ua

import (
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// routes installs the request handlers. sipgo runs each on its own
// goroutine, and its transaction layer answers CANCEL for a ringing
// INVITE and 400 for requests too broken to make a transaction of; every
// handler first refuses a request without the headers RFC 3261 8.1.1
// makes mandatory.
func (u *UA) routes() {
	on := func(register func(sipgo.RequestHandler), h sipgo.RequestHandler) { register(u.checked(h)) }
	on(u.srv.OnInvite, func(req *sip.Request, tx sip.ServerTransaction) {
		if _, inDialog := requestKey(req); inDialog {
			u.inDialog(req, tx, (*Call).onReinvite)
			return
		}
		u.onNewInvite(req, tx)
	})
	on(u.srv.OnAck, func(req *sip.Request, tx sip.ServerTransaction) {
		if c := u.callFor(req); c != nil {
			c.onAck(req, tx)
		}
	})
	on(u.srv.OnBye, func(req *sip.Request, tx sip.ServerTransaction) {
		u.inDialog(req, tx, (*Call).onBye)
	})
	on(u.srv.OnInfo, func(req *sip.Request, tx sip.ServerTransaction) {
		u.inDialog(req, tx, (*Call).onInfo)
	})
	on(u.srv.OnUpdate, func(req *sip.Request, tx sip.ServerTransaction) {
		u.inDialog(req, tx, (*Call).onUpdate)
	})
	on(u.srv.OnCancel, func(req *sip.Request, tx sip.ServerTransaction) {
		// A CANCEL that matched a ringing INVITE never gets here.
		u.respond(req, tx, 481, "Call/Transaction Does Not Exist", nil)
	})
	on(u.srv.OnOptions, func(req *sip.Request, tx sip.ServerTransaction) {
		u.respond(req, tx, 200, "OK", nil,
			sip.NewHeader("Allow", allowed),
			sip.NewHeader("Accept", "application/sdp, "+mediaControlType+", application/dtmf-relay"),
			sip.NewHeader("Supported", "timer"))
	})
	on(u.srv.OnNoRoute, func(req *sip.Request, tx sip.ServerTransaction) {
		u.respond(req, tx, 405, "Method Not Allowed", nil, sip.NewHeader("Allow", allowed))
	})
}

// checked refuses, before h, a request missingHeader finds fault with.
func (u *UA) checked(h sipgo.RequestHandler) sipgo.RequestHandler {
	return func(req *sip.Request, tx sip.ServerTransaction) {
		if why := missingHeader(req); why != "" {
			u.log.Debug("sip: malformed request refused", "method", string(req.Method), "source", req.Source(), "why", why)
			if req.Method != sip.ACK { // an ACK is never answered
				u.respond(req, tx, 400, why, nil)
			}
			return
		}
		h(req, tx)
	}
}

// missingHeader returns the reason phrase of a 400 for a request that
// lacks a header RFC 3261 8.1.1 makes mandatory (Max-Forwards aside,
// which only proxies act on) or whose CSeq names another method
// (8.1.1.5); "" for a well-formed one. RFC 3261 21.4.1 asks the phrase to
// name the problem.
func missingHeader(req *sip.Request) string {
	switch {
	case req.CallID() == nil:
		return "Missing Call-ID header field"
	case req.From() == nil:
		return "Missing From header field"
	case req.To() == nil:
		return "Missing To header field"
	case req.Via() == nil:
		return "Missing Via header field"
	case req.CSeq() == nil:
		return "Missing CSeq header field"
	case req.CSeq().MethodName != req.Method:
		return "CSeq method does not match the request"
	}
	return ""
}

// inDialog hands req to its call, or answers 481 when there is none.
func (u *UA) inDialog(req *sip.Request, tx sip.ServerTransaction, handle func(*Call, *sip.Request, sip.ServerTransaction)) {
	c := u.callFor(req)
	if c == nil {
		u.respond(req, tx, 481, "Call/Transaction Does Not Exist", nil)
		return
	}
	handle(c, req, tx)
}
