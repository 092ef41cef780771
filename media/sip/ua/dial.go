package ua

import (
	"context"
	"errors"
	"fmt"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// errNoAnswer is the cause of a ring timeout.
var errNoAnswer = errors.New("ua: no answer")

// Dial calls target (a sip: or sips: URI) with an offer from n and waits
// until the far end answers, refuses (a *CallError) or ctx ends (the
// INVITE is then cancelled). h receives progress and in-call requests.
func (u *UA) Dial(ctx context.Context, target string, n Negotiator, h Handlers) (*Call, error) {
	var uri sip.Uri
	if err := sip.ParseUri(target, &uri); err != nil || (uri.Scheme != "sip" && uri.Scheme != "sips") || uri.Host == "" {
		return nil, &CallError{Reason: fmt.Sprintf("%q is not a SIP address; check the address", target), Kind: ErrNotFound, Err: err}
	}
	select {
	case <-u.ready:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if !u.takeSlot() {
		return nil, &CallError{Reason: "the room is already in a call; hang up first", Kind: ErrBusy}
	}
	offer, err := n.Offer(SendRecv)
	if err != nil {
		u.releaseSlot()
		return nil, fmt.Errorf("ua: make the SDP offer: %w", err)
	}
	for hop := 0; ; hop++ {
		c, next, err := u.invite(ctx, uri, offer, n, h)
		if next == nil {
			if err != nil {
				u.releaseSlot()
			}
			return c, err
		}
		if hop >= u.cfg.MaxRedirects {
			u.releaseSlot()
			return nil, err
		}
		u.log.Info("sip: call redirected", "from", uri.String(), "to", next.String())
		uri = *next
	}
}

// invite sends one INVITE to uri and waits for the final answer; for a 3xx
// it returns the address to try next.
func (u *UA) invite(ctx context.Context, uri sip.Uri, offer []byte, n Negotiator, h Handlers) (*Call, *sip.Uri, error) {
	ep, err := u.endpointFor(uri)
	if err != nil {
		return nil, nil, &CallError{Reason: "the room cannot reach that transport", Kind: ErrUnreachable, Err: err}
	}
	req, creds := u.inviteRequest(ep, uri, offer)
	ringCtx, cancel := context.WithTimeoutCause(ctx, u.cfg.RingTimeout, errNoAnswer)
	defer cancel()
	var sess *sipgo.DialogClientSession
	// RFC 3261 18.1.1: a request over 1300 bytes goes over TCP when the
	// address names no transport; a far end without TCP still gets it
	// over UDP (as phones do), in a datagram up to maxUDPMessage.
	if tcp := u.bigRequestEndpoint(uri, req); tcp != nil {
		treq, tcreds := u.inviteRequest(tcp, uri, offer)
		tsess, terr := tcp.dialog.WriteInvite(ringCtx, treq)
		switch {
		case terr == nil:
			sess, ep, req, creds = tsess, tcp, treq, tcreds
		case !isRefused(terr):
			return nil, nil, &CallError{Reason: "the far end is unreachable; check the address and the network", Kind: ErrUnreachable, Err: terr}
		case udpClosed(ringCtx, req.Destination()):
			tsess.Close()
			return nil, nil, &CallError{Reason: "the far end is unreachable: nothing answers there over TCP or UDP; check the address and that the far end is running", Kind: ErrUnreachable, Err: terr}
		default:
			tsess.Close()
			u.log.Info("sip: the far end takes no TCP; sending the INVITE over UDP", "remote", uri.String(), "bytes", len(req.String()))
		}
	}
	if sess == nil {
		sess, err = ep.dialog.WriteInvite(ringCtx, req)
	}
	if err != nil {
		return nil, nil, &CallError{Reason: "the far end is unreachable; check the address and the network", Kind: ErrUnreachable, Err: err}
	}
	creds.OnResponse = func(res *sip.Response) error {
		if res.IsProvisional() && res.StatusCode != 100 && h.Progress != nil {
			h.Progress(int(res.StatusCode), res.Reason)
		}
		return nil
	}
	err = sess.WaitAnswer(ringCtx, creds)
	if err != nil {
		sess.Close()
		err = u.answerError(ctx, ringCtx, err)
		var rd *redirect
		if errors.As(err, &rd) {
			return nil, &rd.to, rd.CallError
		}
		return nil, nil, err
	}
	res := sess.InviteResponse
	target := uri
	if ct := res.Contact(); ct != nil {
		target = ct.Address
	}
	ack := u.dialogRequest(ep, sip.ACK, target)
	ack.AppendHeader(&sip.CSeqHeader{SeqNo: req.CSeq().SeqNo, MethodName: sip.ACK})
	if err := sess.WriteAck(ctx, ack); err != nil {
		sess.Close()
		return nil, nil, &CallError{Reason: "the far end is unreachable; check the address and the network", Kind: ErrUnreachable, Err: err}
	}
	if err := n.Accept(res.Body()); err != nil {
		_ = sess.WriteBye(ctx, u.dialogRequest(ep, sip.BYE, target))
		sess.Close()
		return nil, nil, &CallError{Reason: "no common codec or encryption", Kind: ErrNotAcceptable, Err: err}
	}
	local, _ := req.From().Params.Get("tag")
	remote, _ := res.To().Params.Get("tag")
	c := newCall(u, ep, sess, dialogKey(string(*req.CallID()), local, remote), n, h)
	c.outbound = true
	c.remote = uri.String()
	c.target = target
	if a := res.GetHeader("Allow"); a != nil {
		c.farAllow = a.Value()
	}
	c.register()
	// RFC 4028: the 2xx says who refreshes; without it, nobody does.
	if se := res.GetHeader("Session-Expires"); se != nil {
		if d, who, ok := parseSessionExpires(se.Value()); ok {
			c.timer.start(c, max(d, MinSE), who != "uas")
		}
	}
	u.log.Info("sip: call answered", "remote", c.remote)
	return c, nil, nil
}

// answerError explains why an INVITE got no 2xx: a *CallError, or a
// *redirect for a 3xx with a Contact.
func (u *UA) answerError(ctx, ringCtx context.Context, err error) error {
	var dr *sipgo.ErrDialogResponse
	if errors.As(err, &dr) {
		res := dr.Res
		ce := reasonFor(int(res.StatusCode), res.Reason)
		if res.StatusCode == 401 || res.StatusCode == 407 {
			ce.Reason = "the far end or its proxy refused the room's credentials; check the SIP account"
		}
		if res.StatusCode >= 300 && res.StatusCode < 400 {
			if ct := res.Contact(); ct != nil {
				return &redirect{CallError: ce, to: ct.Address}
			}
		}
		return ce
	}
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.Is(context.Cause(ringCtx), errNoAnswer):
		return &CallError{Reason: "nobody answered", Kind: ErrUnreachable, Err: errNoAnswer}
	}
	return &CallError{Reason: "the far end is unreachable; check the address and the network", Kind: ErrUnreachable, Err: err}
}

// redirect is a 3xx with somewhere to go.
type redirect struct {
	*CallError
	to sip.Uri
}

// inviteRequest is the INVITE carrying offer to uri over ep, and the
// credentials to answer a digest challenge with.
func (u *UA) inviteRequest(ep *endpoint, uri sip.Uri, offer []byte) (*sip.Request, sipgo.AnswerOptions) {
	req := sip.NewRequest(sip.INVITE, uri)
	req.SetTransport(sip.NetworkToUpper(string(ep.transport)))
	from := sip.FromHeader{DisplayName: u.cfg.Display, Address: sip.Uri{Scheme: "sip", User: u.cfg.User, Host: ep.host}, Params: sip.NewParams()}
	var creds sipgo.AnswerOptions
	if a := u.cfg.Account; a != nil {
		_ = sip.ParseUri(a.AOR, &from.Address)
		creds.Username, creds.Password = a.Username, a.Password.Reveal()
		// Calls into the account's domain go through its registrar.
		if a.Registrar != "" && uri.Host == from.Address.Host {
			var reg sip.Uri
			_ = sip.ParseUri(a.Registrar, &reg)
			route := sip.RouteHeader{Address: reg}
			if route.Address.UriParams == nil {
				route.Address.UriParams = sip.NewParams()
			}
			route.Address.UriParams.Add("lr", "")
			req.AppendHeader(&route)
		}
	}
	from.Params.Add("tag", sip.GenerateTagN(16))
	req.AppendHeader(&from)
	req.AppendHeader(&sip.ToHeader{Address: sip.Uri{Scheme: uri.Scheme, User: uri.User, Host: uri.Host, Port: uri.Port}})
	req.AppendHeader(sip.HeaderClone(&ep.contact))
	req.AppendHeader(sip.NewHeader("User-Agent", u.agent))
	req.AppendHeader(sip.NewHeader("Allow", allowed))
	req.AppendHeader(sip.NewHeader("Supported", "timer"))
	req.AppendHeader(sip.NewHeader("Session-Expires", seconds(u.cfg.SessionExpires)))
	req.AppendHeader(sip.NewHeader("Min-SE", seconds(MinSE)))
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	req.SetBody(offer)

	return req, creds
}
