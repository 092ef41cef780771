package ua

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/google/uuid"
	"github.com/icholy/digest"
)

// RegState is where the registration stands.
type RegState int

// The registration states.
const (
	Unregistered RegState = iota
	Registering
	Registered
	Failed
)

func (s RegState) String() string {
	switch s {
	case Unregistered:
		return "Unregistered"
	case Registering:
		return "Registering"
	case Registered:
		return "Registered"
	case Failed:
		return "Failed"
	}
	return fmt.Sprintf("RegState(%d)", int(s))
}

// Registration is the registration status, for xStatus SIP Registration.
type Registration struct {
	State   RegState
	Reason  string    // why it failed, for Failed
	Since   time.Time // when State began
	Expires time.Time // when the registrar forgets the room, for Registered
}

// reasonBadCredentials is the Failed reason for a wrong password.
const reasonBadCredentials = "registrar refused the credentials (403/401 after auth)"

// errBadCredentials marks a registration the registrar refused.
var errBadCredentials = errors.New("ua: " + reasonBadCredentials + "; check the SIP username and password")

// Registration timing: refreshes fall at 50–80 % of the granted time;
// failures back off from 2 s to 5 min.
const (
	refreshMin = 0.5
	refreshMax = 0.8
	backoffMin = 2 * time.Second
	backoffMax = 5 * time.Minute
)

// registrar keeps the room registered.
type registrar struct {
	u       *UA
	acct    Account
	aor     sip.Uri
	target  sip.Uri // the registrar's URI, the REGISTER's request URI
	callID  string
	fromTag string

	mu   sync.Mutex
	st   Registration
	cseq uint32
	auth *authState // the last challenge, reused with a rising nonce count
}

// authState is a digest challenge and how often it was answered.
type authState struct {
	chal  *digest.Challenge
	proxy bool // Proxy-Authorization rather than Authorization
	count int  // nonce count of the last answer
}

func newRegistrar(u *UA, a Account) *registrar {
	r := &registrar{u: u, acct: a, callID: uuid.NewString(), fromTag: sip.GenerateTagN(16)}
	_ = sip.ParseUri(a.AOR, &r.aor) // checked by withDefaults
	r.target = sip.Uri{Scheme: r.aor.Scheme, Host: r.aor.Host, Port: r.aor.Port}
	if a.Registrar != "" {
		_ = sip.ParseUri(a.Registrar, &r.target)
		r.target.User = ""
	}
	r.st = Registration{State: Unregistered, Since: u.cfg.Clock.Now()}
	return r
}

func (r *registrar) status() Registration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.st
}

func (r *registrar) set(st Registration) {
	r.mu.Lock()
	if st.State == r.st.State && st.Reason == r.st.Reason {
		st.Since = r.st.Since
	}
	changed := st != r.st
	r.st = st
	r.mu.Unlock()
	if changed && r.u.cfg.OnRegistration != nil {
		r.u.cfg.OnRegistration(st)
	}
}

// run registers, refreshes before expiry and retries with backoff until
// ctx ends, then unregisters.
func (r *registrar) run(ctx context.Context) {
	clock := r.u.cfg.Clock
	backoff := backoffMin
	for ctx.Err() == nil {
		if r.status().State != Registered {
			r.set(Registration{State: Registering, Since: clock.Now()})
		}
		granted, err := r.register(ctx, r.acct.Expires)
		if ctx.Err() != nil {
			break
		}
		wait := backoff
		if err == nil {
			backoff = backoffMin
			now := clock.Now()
			r.set(Registration{State: Registered, Since: now, Expires: now.Add(granted)})
			wait = time.Duration(float64(granted) * (refreshMin + rand.Float64()*(refreshMax-refreshMin)))
		} else {
			r.u.log.Warn("sip: registration failed", "aor", r.aor.Addr(), "err", err)
			r.set(Registration{State: Failed, Reason: failReason(err), Since: clock.Now()})
			backoff = min(2*backoff, backoffMax)
		}
		if !sleep(clock, wait, ctx.Done()) {
			break
		}
	}
	if r.status().State == Registered {
		uctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		if _, err := r.register(uctx, 0); err != nil {
			r.u.log.Info("sip: unregister failed", "err", err)
		}
		cancel()
	}
	r.set(Registration{State: Unregistered, Since: clock.Now()})
}

func failReason(err error) string {
	var ce *CallError
	switch {
	case errors.Is(err, errBadCredentials):
		return reasonBadCredentials
	case errors.As(err, &ce):
		return "registrar " + ce.Reason
	}
	return err.Error()
}

// register sends REGISTER for expires (0 unregisters), answering up to
// two challenges, and returns the time the registrar granted.
func (r *registrar) register(ctx context.Context, expires time.Duration) (time.Duration, error) {
	ep, err := r.u.endpointFor(r.target)
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, r.u.cfg.RequestTimeout)
	defer cancel()
	answered := false // the last request carried an answer to a fresh challenge
	for range 4 {
		req := r.request(ep, expires)
		fresh := r.authorize(req)
		res, err := ep.client.Do(ctx, req)
		if err != nil {
			if ctx.Err() != nil && errors.Is(err, context.Canceled) {
				return 0, err
			}
			return 0, &CallError{Reason: "is unreachable; check the registrar address and the network", Kind: ErrUnreachable, Err: err}
		}
		switch code := int(res.StatusCode); {
		case res.IsSuccess():
			return r.granted(res, ep, expires), nil
		case code == 401 || code == 407:
			stale := r.challenge(res)
			if !stale && (answered || fresh) {
				r.forgetAuth()
				return 0, errBadCredentials
			}
			answered = true
		case code == 403:
			r.forgetAuth()
			return 0, errBadCredentials
		case code == 423:
			if h := res.GetHeader("Min-Expires"); h != nil {
				if n, err := strconv.Atoi(strings.TrimSpace(h.Value())); err == nil && n > 0 {
					expires = time.Duration(n) * time.Second
					continue
				}
			}
			return 0, reasonFor(code, res.Reason)
		default:
			ce := reasonFor(code, res.Reason)
			ce.Reason = fmt.Sprintf("answered %d %s", code, res.Reason)
			return 0, ce
		}
	}
	r.forgetAuth()
	return 0, errBadCredentials
}

// forgetAuth drops the cached challenge, so the next attempt starts over.
func (r *registrar) forgetAuth() {
	r.mu.Lock()
	r.auth = nil
	r.mu.Unlock()
}

// request builds one REGISTER.
func (r *registrar) request(ep *endpoint, expires time.Duration) *sip.Request {
	r.mu.Lock()
	r.cseq++
	cseq := r.cseq
	r.mu.Unlock()
	req := sip.NewRequest(sip.REGISTER, r.target)
	req.SetTransport(sip.NetworkToUpper(string(ep.transport)))
	from := sip.FromHeader{DisplayName: r.u.cfg.Display, Address: r.aor, Params: sip.NewParams()}
	from.Params.Add("tag", r.fromTag)
	req.AppendHeader(&from)
	req.AppendHeader(&sip.ToHeader{Address: r.aor})
	cid := sip.CallIDHeader(r.callID)
	req.AppendHeader(&cid)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: cseq, MethodName: sip.REGISTER})
	req.AppendHeader(sip.HeaderClone(&ep.contact))
	req.AppendHeader(sip.NewHeader("Expires", seconds(expires)))
	req.AppendHeader(sip.NewHeader("User-Agent", r.u.agent))
	req.AppendHeader(sip.NewHeader("Allow", allowed))
	return req
}

// authorize answers the last challenge on req, with the next nonce count;
// it reports whether this is the challenge's first answer.
func (r *registrar) authorize(req *sip.Request) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	a := r.auth
	if a == nil {
		return false
	}
	a.count++
	cred, err := digest.Digest(a.chal, digest.Options{
		Method:   string(sip.REGISTER),
		URI:      req.Recipient.Addr(),
		Username: r.acct.Username,
		Password: r.acct.Password.Reveal(),
		Count:    a.count,
	})
	if err != nil {
		r.auth = nil
		return false
	}
	name := "Authorization"
	if a.proxy {
		name = "Proxy-Authorization"
	}
	req.AppendHeader(sip.NewHeader(name, cred.String()))
	return a.count == 1
}

// challenge keeps the challenge of a 401/407; it reports whether the
// registrar said the last nonce was merely stale.
func (r *registrar) challenge(res *sip.Response) bool {
	name, proxy := "WWW-Authenticate", false
	if res.StatusCode == 407 {
		name, proxy = "Proxy-Authenticate", true
	}
	h := res.GetHeader(name)
	r.mu.Lock()
	defer r.mu.Unlock()
	if h == nil {
		r.auth = nil
		return false
	}
	chal, err := digest.ParseChallenge(h.Value())
	if err != nil {
		r.auth = nil
		return false
	}
	chal.Algorithm = strings.ToUpper(chal.Algorithm)
	r.auth = &authState{chal: chal, proxy: proxy}
	return chal.Stale
}

// granted reads the registration time from a 2xx: our Contact's expires,
// else the Expires header, else what was asked.
func (r *registrar) granted(res *sip.Response, ep *endpoint, asked time.Duration) time.Duration {
	for _, h := range res.GetHeaders("Contact") {
		ct, ok := h.(*sip.ContactHeader)
		if !ok || ct.Address.Host != ep.host || ct.Address.Port != ep.port {
			continue
		}
		if v, ok := ct.Params.Get("expires"); ok {
			if n, err := strconv.Atoi(v); err == nil && n > 0 {
				return time.Duration(n) * time.Second
			}
		}
	}
	if h := res.GetHeader("Expires"); h != nil {
		if n, err := strconv.Atoi(strings.TrimSpace(h.Value())); err == nil && n > 0 {
			return time.Duration(n) * time.Second
		}
	}
	return asked
}
