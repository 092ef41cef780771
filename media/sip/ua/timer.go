package ua

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
)

// sessionTimer keeps a call's session alive by RFC 4028: the refresher
// re-offers (UPDATE or re-INVITE) every half interval; the other side
// ends the call with BYE if no refresh comes before the interval runs out.
type sessionTimer struct {
	c *Call

	mu        sync.Mutex
	interval  time.Duration // 0: no session timer
	refresher bool          // the room refreshes
	t         Timer
	stopped   bool
}

// parseSessionExpires reads "1800;refresher=uac".
func parseSessionExpires(v string) (time.Duration, string, bool) {
	parts := strings.Split(v, ";")
	secs, err := strconv.Atoi(strings.TrimSpace(parts[0]))
	if err != nil || secs <= 0 {
		return 0, "", false
	}
	refresher := ""
	for _, p := range parts[1:] {
		k, val, _ := strings.Cut(strings.TrimSpace(p), "=")
		if strings.EqualFold(k, "refresher") {
			refresher = strings.ToLower(strings.TrimSpace(val))
		}
	}
	return time.Duration(secs) * time.Second, refresher, true
}

func seconds(d time.Duration) string { return strconv.Itoa(int(d / time.Second)) }

// start arms the timer for a new call.
func (st *sessionTimer) start(c *Call, interval time.Duration, refresher bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.c, st.interval, st.refresher = c, interval, refresher
	st.armLocked()
}

func (st *sessionTimer) armLocked() {
	if st.t != nil {
		st.t.Stop()
	}
	if st.stopped || st.interval == 0 || st.c == nil {
		return
	}
	if st.refresher {
		st.t = st.c.u.cfg.Clock.AfterFunc(st.interval/2, st.refresh)
		return
	}
	// RFC 4028 section 10: BYE at the interval less min(32 s, a third).
	st.t = st.c.u.cfg.Clock.AfterFunc(st.interval-min(32*time.Second, st.interval/3), st.expired)
}

func (st *sessionTimer) stop() {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.stopped = true
	if st.t != nil {
		st.t.Stop()
	}
}

// addHeaders puts the session timer on a refresh the room sends.
func (st *sessionTimer) addHeaders(req *sip.Request) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.interval == 0 || !st.refresher {
		return
	}
	req.AppendHeader(sip.NewHeader("Session-Expires", seconds(st.interval)+";refresher=uac"))
	req.AppendHeader(sip.NewHeader("Supported", "timer"))
}

// answerHeaders puts the session timer on the room's 2xx to a refresh.
func (st *sessionTimer) answerHeaders(req *sip.Request, res *sip.Response) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.interval == 0 {
		return
	}
	who := "uas"
	if !st.refresher {
		who = "uac" // the far end refreshes and sent this request
	}
	res.AppendHeader(sip.NewHeader("Session-Expires", seconds(st.interval)+";refresher="+who))
	if who == "uac" && supportsTimer(req) {
		res.AppendHeader(sip.NewHeader("Require", "timer"))
	}
}

// heard notes a refresh from the far end.
func (st *sessionTimer) heard(req *sip.Request) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if h := req.GetHeader("Session-Expires"); h != nil {
		if d, _, ok := parseSessionExpires(h.Value()); ok && d >= MinSE {
			st.interval = d
		}
	}
	if !st.refresher {
		st.armLocked()
	}
}

// refreshed notes a successful refresh of ours.
func (st *sessionTimer) refreshed(res *sip.Response) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.interval == 0 {
		return
	}
	if h := res.GetHeader("Session-Expires"); h != nil {
		if d, _, ok := parseSessionExpires(h.Value()); ok && d >= MinSE {
			st.interval = d
		}
	}
	st.armLocked()
}

// refresh sends the room's refresh: UPDATE if the far end takes it,
// otherwise a re-INVITE with the current offer.
func (st *sessionTimer) refresh() {
	c := st.c
	ctx, cancel := context.WithTimeout(context.Background(), 64*sip.T1)
	defer cancel()
	c.reqMu.Lock()
	var err error
	if strings.Contains(strings.ToUpper(c.farAllow), "UPDATE") {
		req := c.newRequest(sip.UPDATE)
		st.addHeaders(req)
		var res *sip.Response
		res, err = c.do(ctx, req)
		if err == nil && !res.IsSuccess() {
			err = reasonFor(int(res.StatusCode), res.Reason)
		}
		if err == nil {
			st.refreshed(res)
		}
	} else {
		c.mu.Lock()
		dir := c.dir
		c.mu.Unlock()
		err = c.reinvite(ctx, dir)
	}
	c.reqMu.Unlock()
	if err == nil {
		return
	}
	var ce *CallError
	if errors.As(err, &ce) && (ce.Code == 0 || ce.Code == 408 || ce.Code == 481) {
		c.u.log.Info("sip: session refresh failed; hanging up", "remote", c.remote, "err", err)
		st.byeAndFinish("the far end stopped answering session refreshes", err)
		return
	}
	// Anything else (491 glare, a refused UPDATE): try again later.
	st.mu.Lock()
	st.armLocked()
	st.mu.Unlock()
}

// expired ends a call whose far end stopped refreshing it.
func (st *sessionTimer) expired() {
	st.byeAndFinish("the far end stopped refreshing the session", nil)
}

func (st *sessionTimer) byeAndFinish(reason string, err error) {
	c := st.c
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
	defer cancel()
	c.reqMu.Lock()
	_ = c.sess.WriteBye(ctx, c.newRequest(sip.BYE))
	c.reqMu.Unlock()
	c.finish(reason, true, err)
}

func supportsTimer(m sip.Message) bool {
	for _, h := range m.GetHeaders("Supported") {
		for _, v := range strings.Split(h.Value(), ",") {
			if strings.EqualFold(strings.TrimSpace(v), "timer") {
				return true
			}
		}
	}
	return false
}
