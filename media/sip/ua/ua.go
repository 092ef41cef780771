package ua

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// allowed is what the agent answers to, for Allow headers.
const allowed = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE"

// UA is roomd's SIP user agent. Its methods are safe for concurrent use.
type UA struct {
	cfg     Config
	log     *slog.Logger
	sua     *sipgo.UserAgent
	srv     *sipgo.Server
	eps     []*endpoint // in Config.Listen order
	closers []io.Closer
	limiter *inviteLimiter
	reg     *registrar // nil without an account
	agent   string     // roomd/<version>

	ready chan struct{} // closed once Run serves every listener

	mu     sync.Mutex
	calls  map[string]*Call // established calls by dialog key
	active int              // calls ringing, dialling or established

	closeOnce sync.Once
}

// endpoint is one listener and what requests sent through it carry.
type endpoint struct {
	transport Transport
	listen    string   // the real listening address, host:port
	laddr     sip.Addr // for UDP: send from the listener, so replies reach it
	host      string   // advertised in Contact and Via
	port      int
	client    *sipgo.Client
	dialog    *sipgo.DialogUA
	contact   sip.ContactHeader
	serve     func() error
}

// New opens the listeners of cfg. Serve them with Run.
func New(cfg Config) (*UA, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	u := &UA{
		cfg:     cfg,
		log:     cfg.Logger,
		limiter: newInviteLimiter(cfg.Limits, cfg.Clock),
		agent:   "roomd/" + cfg.Version,
		ready:   make(chan struct{}),
		calls:   make(map[string]*Call),
	}
	parser := sip.NewParser()
	parser.MaxMessageLength = cfg.Limits.MaxMessage
	maxMsg := cfg.Limits.MaxMessage
	u.sua, err = sipgo.NewUA(
		sipgo.WithUserAgent(u.agent),
		sipgo.WithUserAgenTLSConfig(cfg.TLSClient),
		sipgo.WithUserAgentParser(parser),
		sipgo.WithUserAgentTransportLayerOptions(
			sip.WithTransportLayerLogger(u.log),
			sip.WithTransportLayerReadFilter(func(_ sip.TransportReadProps, data []byte) ([]byte, error) {
				if len(data) > maxMsg {
					return nil, nil // dropped unparsed: too large to be ours
				}
				return data, nil
			}),
		),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(u.log)),
	)
	if err != nil {
		return nil, fmt.Errorf("ua: start the SIP stack: %w", err)
	}
	u.srv, err = sipgo.NewServer(u.sua, sipgo.WithServerLogger(u.log))
	if err != nil {
		u.sua.Close()
		return nil, fmt.Errorf("ua: start the SIP stack: %w", err)
	}
	for _, l := range cfg.Listen {
		ep, err := u.listen(l)
		if err != nil {
			u.Close()
			return nil, err
		}
		u.eps = append(u.eps, ep)
	}
	u.routes()
	if cfg.Account != nil {
		u.reg = newRegistrar(u, *cfg.Account)
	}
	return u, nil
}

// listen opens one listener and the client that sends through it.
func (u *UA) listen(l Listen) (*endpoint, error) {
	ep := &endpoint{transport: l.Transport}
	var local net.Addr
	switch l.Transport {
	case UDP:
		pc, err := net.ListenPacket("udp", l.Addr)
		if err != nil {
			return nil, fmt.Errorf("ua: listen on udp %s: %w; pick a free address", l.Addr, err)
		}
		u.closers = append(u.closers, pc)
		local = pc.LocalAddr()
		ep.serve = func() error { return u.srv.ServeUDP(pc) }
	case TCP, TLS:
		ln, err := net.Listen("tcp", l.Addr)
		if err != nil {
			return nil, fmt.Errorf("ua: listen on %s %s: %w; pick a free address", l.Transport, l.Addr, err)
		}
		u.closers = append(u.closers, ln)
		local = ln.Addr()
		if l.Transport == TCP {
			ep.serve = func() error { return u.srv.ServeTCP(ln) }
			break
		}
		cert, err := tls.LoadX509KeyPair(u.cfg.CertFile, u.cfg.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("ua: load the TLS certificate: %w; check CertFile and KeyFile", err)
		}
		tln := tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
		ep.serve = func() error { return u.srv.ServeTLS(tln) }
	}
	ep.listen = local.String()
	host, portStr, _ := net.SplitHostPort(ep.listen)
	ep.port, _ = strconv.Atoi(portStr)
	ip := net.ParseIP(host)
	ep.host = host
	if ip == nil || ip.IsUnspecified() {
		ep.host = u.advertised()
	}
	if l.Transport == UDP {
		ep.laddr = sip.Addr{IP: ip, Port: ep.port, Hostname: host}
	}
	opts := []sipgo.ClientOption{sipgo.WithClientLogger(u.log), sipgo.WithClientHostname(ep.host), sipgo.WithClientPort(ep.port)}
	if l.Transport == UDP {
		opts = append(opts, sipgo.WithClientConnectionAddr(ep.listen))
	}
	client, err := sipgo.NewClient(u.sua, opts...)
	if err != nil {
		return nil, fmt.Errorf("ua: make the %s client: %w", l.Transport, err)
	}
	ep.client = client
	ep.contact = sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: u.cfg.User, Host: ep.host, Port: ep.port}}
	if l.Transport != UDP {
		ep.contact.Address.UriParams = sip.NewParams()
		ep.contact.Address.UriParams.Add("transport", string(l.Transport))
	}
	ep.dialog = &sipgo.DialogUA{Client: client, ContactHDR: ep.contact}
	return ep, nil
}

// advertised is the host to put in Contact for a listener on an
// unspecified address.
func (u *UA) advertised() string {
	if u.cfg.Advertise != "" {
		return u.cfg.Advertise
	}
	// Connecting a UDP socket sends nothing; it only asks for a route.
	c, err := net.Dial("udp4", "192.0.2.1:9")
	if err != nil {
		return "127.0.0.1"
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).IP.String()
}

// Addr returns the real address the agent listens on for t ("" if none).
func (u *UA) Addr(t Transport) string {
	if ep := u.endpoint(t); ep != nil {
		return ep.listen
	}
	return ""
}

// Contact returns the room's SIP address on transport t, as a far end
// dials it ("" if the agent does not listen on t).
func (u *UA) Contact(t Transport) string {
	if ep := u.endpoint(t); ep != nil {
		return ep.contact.Address.String()
	}
	return ""
}

func (u *UA) endpoint(t Transport) *endpoint {
	for _, ep := range u.eps {
		if ep.transport == t {
			return ep
		}
	}
	return nil
}

// Run serves the listeners and keeps the registration until ctx ends,
// then unregisters and returns nil. It returns early with an error if a
// listener fails.
func (u *UA) Run(ctx context.Context) error {
	errc := make(chan error, len(u.eps))
	for _, ep := range u.eps {
		go func() {
			err := ep.serve()
			if err != nil && !errors.Is(err, net.ErrClosed) {
				errc <- fmt.Errorf("ua: serve %s %s: %w", ep.transport, ep.listen, err)
			}
		}()
	}
	u.waitListening(ctx)
	close(u.ready)
	regDone := make(chan struct{})
	if u.reg != nil {
		go func() {
			defer close(regDone)
			u.reg.run(ctx)
		}()
	} else {
		close(regDone)
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	<-regDone
	return err
}

// waitListening waits until the UDP listeners are in sipgo's connection
// pool, so that requests go out through them.
func (u *UA) waitListening(ctx context.Context) {
	for _, ep := range u.eps {
		if ep.transport != UDP {
			continue
		}
		for ctx.Err() == nil {
			if c, _ := u.sua.TransportLayer().GetConnection("udp", ep.listen); c != nil {
				break
			}
			time.Sleep(time.Millisecond)
		}
	}
}

// Close ends every call without signalling and closes the listeners. It
// is idempotent; Run's caller should end Run's context first, so the
// registration is removed.
func (u *UA) Close() error {
	u.closeOnce.Do(func() {
		u.mu.Lock()
		calls := make([]*Call, 0, len(u.calls))
		for _, c := range u.calls {
			calls = append(calls, c)
		}
		u.mu.Unlock()
		for _, c := range calls {
			c.finish("the room's SIP agent stopped", false, nil)
		}
		for _, c := range u.closers {
			c.Close()
		}
		u.sua.Close()
	})
	return nil
}

// Registration returns the registration status (Unregistered without an
// account).
func (u *UA) Registration() Registration {
	if u.reg == nil {
		return Registration{State: Unregistered}
	}
	return u.reg.status()
}

// takeSlot reserves a call slot; it reports false when the room is at
// Limits.MaxCalls.
func (u *UA) takeSlot() bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.active >= u.cfg.Limits.MaxCalls {
		return false
	}
	u.active++
	return true
}

func (u *UA) releaseSlot() {
	u.mu.Lock()
	u.active--
	u.mu.Unlock()
}

// dialogKey names a dialog from this side: Call-ID, our tag, their tag.
func dialogKey(callID, local, remote string) string {
	return callID + "|" + local + "|" + remote
}

// requestKey is the dialog key of a request the far end sent in a dialog.
func requestKey(req *sip.Request) (string, bool) {
	cid, from, to := req.CallID(), req.From(), req.To()
	if cid == nil || from == nil || to == nil {
		return "", false
	}
	local, ok := to.Params.Get("tag")
	if !ok {
		return "", false
	}
	remote, _ := from.Params.Get("tag")
	return dialogKey(string(*cid), local, remote), true
}

func (u *UA) callFor(req *sip.Request) *Call {
	key, ok := requestKey(req)
	if !ok {
		return nil
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.calls[key]
}

// endpointFor picks the endpoint a request to uri goes through.
func (u *UA) endpointFor(uri sip.Uri) (*endpoint, error) {
	want := UDP
	if t, ok := uri.UriParams.Get("transport"); ok && t != "" {
		want = Transport(strings.ToLower(t))
	} else if uri.IsEncrypted() {
		want = TLS
	} else if u.endpoint(UDP) == nil {
		want = u.eps[0].transport
	}
	ep := u.endpoint(want)
	if ep == nil {
		return nil, fmt.Errorf("ua: %s needs a %s listener; add one to the SIP listen addresses", uri.String(), want)
	}
	return ep, nil
}

// respond answers req with code, adding the Server header.
func (u *UA) respond(req *sip.Request, tx sip.ServerTransaction, code int, phrase string, body []byte, hdrs ...sip.Header) {
	res := sip.NewResponseFromRequest(req, code, phrase, body)
	res.AppendHeader(sip.NewHeader("Server", u.agent))
	for _, h := range hdrs {
		res.AppendHeader(h)
	}
	if err := tx.Respond(res); err != nil {
		u.log.Debug("sip: respond", "code", code, "method", string(req.Method), "err", err)
	}
}
