package ua

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
	"golang.org/x/time/rate"
)

// Transport is a SIP transport the agent listens on.
type Transport string

// The transports.
const (
	UDP Transport = "udp"
	TCP Transport = "tcp"
	TLS Transport = "tls"
)

// Listen is one listening socket.
type Listen struct {
	Transport Transport
	Addr      string // host:port; port 0 picks a free one
}

// Account is the room's SIP account on a registrar.
type Account struct {
	// AOR is the address of record, e.g. sip:room42@example.org.
	AOR string
	// Registrar is where REGISTER goes, e.g. sip:pbx.example.org;transport=tcp;
	// empty means the AOR's host.
	Registrar string
	// Username for digest authentication; empty means the AOR's user.
	Username string
	Password Secret
	// Expires is the registration lifetime asked for; 0 means 600 s.
	Expires time.Duration
}

// Limits bounds inbound INVITEs (new calls only; in-dialog requests pass).
type Limits struct {
	PerSource rate.Limit // INVITEs per second from one address; 0 means 1
	Total     rate.Limit // INVITEs per second from everyone; 0 means 5
	Burst     int        // bucket size of both; 0 means 3
	MaxCalls  int        // concurrent calls, ringing ones included; 0 means 1
	// MaxMessage is the largest SIP message accepted, in bytes; 0 means
	// 16 KiB. Larger ones are dropped before parsing.
	MaxMessage int
}

// Config configures a user agent. Zero values mean the documented
// defaults.
type Config struct {
	Listen []Listen
	// CertFile and KeyFile are the TLS listener's certificate and key
	// (PEM); required when Listen has a TLS entry.
	CertFile, KeyFile string
	// TLSClient verifies servers the agent calls or registers to over TLS;
	// nil means the system roots.
	TLSClient *tls.Config
	// Advertise is the host put in Contact and Via when a listener is on
	// an unspecified address; empty means the address of the interface
	// that routes outward (127.0.0.1 if none does).
	Advertise string
	// User is the user part of the room's Contact and, without an
	// account, of its From: "room" by default.
	User string
	// Display is the display name in From.
	Display string
	// Version goes into the User-Agent header as roomd/<version>.
	Version string

	// Account, when set, is registered while Run runs.
	Account *Account

	// Inbound decides who may call the room: PolicyOff (the default)
	// refuses every inbound call.
	Inbound Policy
	// OnIncoming is given each inbound call the policy lets through; it
	// must return quickly and answer the call later with Accept or
	// Decline.
	OnIncoming func(*IncomingCall)
	// OnRegistration is told every change of the registration status.
	OnRegistration func(Registration)
	Limits         Limits

	// SessionExpires is the session-timer interval asked for (RFC 4028);
	// 0 means 1800 s, and it is never below MinSE.
	SessionExpires time.Duration
	// RingTimeout ends an unanswered call, both ways; 0 means 60 s.
	RingTimeout time.Duration
	// MaxRedirects bounds the 3xx a call follows; 0 means 3.
	MaxRedirects int
	// RequestTimeout bounds one REGISTER exchange, challenge included;
	// 0 means 10 s.
	RequestTimeout time.Duration

	Logger *slog.Logger
	Clock  Clock
}

// MinSE is the smallest session interval the agent accepts (RFC 4028's
// minimum).
const MinSE = 90 * time.Second

// PolicyKind says who may call the room.
type PolicyKind int

// The policies.
const (
	PolicyOff       PolicyKind = iota // nobody: 403
	PolicyAllowList                   // only the listed callers ring the room
	PolicyRing                        // anyone rings the room
)

func (k PolicyKind) String() string {
	switch k {
	case PolicyOff:
		return "off"
	case PolicyAllowList:
		return "allow-list"
	case PolicyRing:
		return "ring"
	}
	return fmt.Sprintf("PolicyKind(%d)", int(k))
}

// Policy decides whether an inbound call reaches the room.
type Policy struct {
	Kind PolicyKind
	// Allow lists the callers PolicyAllowList lets through, as SIP URIs
	// (sip:alice@example.org) or bare hosts (192.0.2.7, example.org) that
	// admit anyone from there.
	Allow []string
}

// AllowList returns a policy that lets only uris through.
func AllowList(uris ...string) Policy { return Policy{Kind: PolicyAllowList, Allow: uris} }

// allows reports whether a caller with From address from may ring the
// room. Allow-list entries match user and host; ports do not matter.
func (p Policy) allows(from sip.Uri) bool {
	switch p.Kind {
	case PolicyRing:
		return true
	case PolicyAllowList:
		for _, a := range p.Allow {
			if !strings.HasPrefix(a, "sip:") && !strings.HasPrefix(a, "sips:") {
				a = "sip:" + a
			}
			var u sip.Uri
			if err := sip.ParseUri(a, &u); err != nil {
				continue
			}
			if strings.EqualFold(u.Host, from.Host) && (u.User == "" || strings.EqualFold(u.User, from.User)) {
				return true
			}
		}
	}
	return false
}

// withDefaults fills the zero values and checks the rest.
func (c Config) withDefaults() (Config, error) {
	if len(c.Listen) == 0 {
		return c, errors.New("ua: no listen address; configure at least one (udp 0.0.0.0:5060)")
	}
	for _, l := range c.Listen {
		switch l.Transport {
		case UDP, TCP:
		case TLS:
			if c.CertFile == "" || c.KeyFile == "" {
				return c, errors.New("ua: a TLS listener needs a certificate and key; set CertFile and KeyFile")
			}
		default:
			return c, fmt.Errorf("ua: unknown transport %q; use udp, tcp or tls", l.Transport)
		}
	}
	if c.User == "" {
		c.User = "room"
	}
	if c.Version == "" {
		c.Version = "dev"
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Clock == nil {
		c.Clock = systemClock{}
	}
	if c.SessionExpires == 0 {
		c.SessionExpires = 1800 * time.Second
	}
	c.SessionExpires = max(c.SessionExpires, MinSE)
	if c.RingTimeout == 0 {
		c.RingTimeout = 60 * time.Second
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = 10 * time.Second
	}
	if c.MaxRedirects == 0 {
		c.MaxRedirects = 3
	}
	l := &c.Limits
	if l.PerSource == 0 {
		l.PerSource = 1
	}
	if l.Total == 0 {
		l.Total = 5
	}
	if l.Burst == 0 {
		l.Burst = 3
	}
	if l.MaxCalls == 0 {
		l.MaxCalls = 1
	}
	if l.MaxMessage == 0 {
		l.MaxMessage = 16 << 10
	}
	if c.Account != nil {
		a := *c.Account
		var aor sip.Uri
		if err := sip.ParseUri(a.AOR, &aor); err != nil || aor.User == "" {
			return c, fmt.Errorf("ua: account address %q is not a sip:user@domain URI; fix the SIP account", a.AOR)
		}
		if a.Registrar != "" {
			var reg sip.Uri
			if err := sip.ParseUri(a.Registrar, &reg); err != nil {
				return c, fmt.Errorf("ua: registrar %q is not a SIP URI: %w; fix the SIP account", a.Registrar, err)
			}
		}
		if a.Username == "" {
			a.Username = aor.User
		}
		if a.Expires == 0 {
			a.Expires = 600 * time.Second
		}
		c.Account = &a
	}
	return c, nil
}
