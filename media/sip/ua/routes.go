package ua

import (
	"github.com/emiago/sipgo/sip"
)

// routes installs the request handlers. sipgo runs each on its own
// goroutine, and its transaction layer answers CANCEL for a ringing
// INVITE and 400 for requests too broken to make a transaction of.
func (u *UA) routes() {
	u.srv.OnInvite(func(req *sip.Request, tx sip.ServerTransaction) {
		if _, inDialog := requestKey(req); inDialog {
			u.inDialog(req, tx, (*Call).onReinvite)
			return
		}
		u.onNewInvite(req, tx)
	})
	u.srv.OnAck(func(req *sip.Request, tx sip.ServerTransaction) {
		if c := u.callFor(req); c != nil {
			c.onAck(req, tx)
		}
	})
	u.srv.OnBye(func(req *sip.Request, tx sip.ServerTransaction) {
		u.inDialog(req, tx, (*Call).onBye)
	})
	u.srv.OnInfo(func(req *sip.Request, tx sip.ServerTransaction) {
		u.inDialog(req, tx, (*Call).onInfo)
	})
	u.srv.OnUpdate(func(req *sip.Request, tx sip.ServerTransaction) {
		u.inDialog(req, tx, (*Call).onUpdate)
	})
	u.srv.OnCancel(func(req *sip.Request, tx sip.ServerTransaction) {
		// A CANCEL that matched a ringing INVITE never gets here.
		u.respond(req, tx, 481, "Call/Transaction Does Not Exist", nil)
	})
	u.srv.OnOptions(func(req *sip.Request, tx sip.ServerTransaction) {
		u.respond(req, tx, 200, "OK", nil,
			sip.NewHeader("Allow", allowed),
			sip.NewHeader("Accept", "application/sdp, "+mediaControlType+", application/dtmf-relay"),
			sip.NewHeader("Supported", "timer"))
	})
	u.srv.OnNoRoute(func(req *sip.Request, tx sip.ServerTransaction) {
		u.respond(req, tx, 405, "Method Not Allowed", nil, sip.NewHeader("Allow", allowed))
	})
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
