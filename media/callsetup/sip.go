package callsetup

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/roomd/roomd/internal/roomdconfig"
	"github.com/roomd/roomd/media/call"
	"github.com/roomd/roomd/media/call/sipprovider"
	"github.com/roomd/roomd/media/sip/rtpmedia"
	"github.com/roomd/roomd/media/sip/sdp"
	"github.com/roomd/roomd/media/sip/ua"
	"github.com/roomd/roomd/room"
)

// WithSIP adds the SIP provider to providers when the [sip] table enables
// it: one user agent for the daemon, listening and registering until ctx
// ends (stop waits for it to unregister and closes its sockets), whose
// inbound calls ring the room through report. Without SIP, or when its
// addresses cannot be bound (another roomd has them), it returns providers
// as they are.
func WithSIP(ctx context.Context, s roomdconfig.SIP, m roomdconfig.Media, display, version string, report func(room.Report), log *slog.Logger, providers call.Providers) (call.Providers, func(), error) {
	if !s.Enabled() {
		return providers, func() {}, nil
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	enc, err := sdp.ParsePolicy(s.Encryption)
	if err != nil {
		return nil, nil, fmt.Errorf("roomd: sip.encryption: %w", err)
	}
	uc := ua.Config{
		CertFile: s.TLSCertFile, KeyFile: s.TLSKeyFile, Advertise: s.Advertise,
		User: s.User, Display: s.DisplayName, Version: version, Logger: log,
	}
	if uc.Display == "" {
		uc.Display = display
	}
	for _, l := range []struct {
		t    ua.Transport
		addr string
	}{{ua.UDP, s.ListenUDP}, {ua.TCP, s.ListenTCP}, {ua.TLS, s.ListenTLS}} {
		if l.addr != "" {
			uc.Listen = append(uc.Listen, ua.Listen{Transport: l.t, Addr: l.addr})
		}
	}
	switch s.Inbound {
	case "ring":
		uc.Inbound = ua.Policy{Kind: ua.PolicyRing}
	case "allow":
		uc.Inbound = ua.AllowList(s.Allow...)
	}
	if a := s.Account; a.AOR != "" {
		pw, err := s.AccountPassword()
		if err != nil {
			return nil, nil, fmt.Errorf("roomd: %w", err)
		}
		uc.Account = &ua.Account{AOR: a.AOR, Registrar: a.Registrar, Username: a.Username, Password: ua.NewSecret(pw)}
	}
	in := sipprovider.NewInbound(report, s.Account.AOR)
	uc.OnIncoming, uc.OnRegistration = in.Ring, in.Registration
	u, err := ua.New(uc)
	if err != nil {
		// Like an output that cannot open: the room runs without it.
		log.Warn("roomd: SIP cannot listen; running without SIP calls", "err", err)
		return providers, func() {}, nil
	}
	keying := sdp.KeyingSDES
	if s.Keying == "dtls" {
		keying = sdp.KeyingDTLS
	}
	// Parse validated rtp_ports; a range is bound only when it is set.
	first, last, _ := s.RTPPortRange()
	p, err := sipprovider.New(sipprovider.Config{UA: u, Encryption: enc, Keying: keying, Inbound: in, RTPTimeout: time.Duration(s.RTPTimeoutSeconds) * time.Second, RTPPorts: rtpmedia.PortRange{First: first, Last: last},
		VideoRate: rtpmedia.RateConfig{Min: m.MinBitrate, Start: m.StartBitrate, Max: m.MaxBitrate}})
	if err != nil {
		u.Close()
		return nil, nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := u.Run(ctx); err != nil && ctx.Err() == nil {
			log.Warn("roomd: the SIP user agent stopped", "err", err)
		}
	}()
	for _, t := range []ua.Transport{ua.UDP, ua.TCP, ua.TLS} {
		if c := u.Contact(t); c != "" {
			log.Info("roomd: SIP listening", "transport", string(t), "address", c, "inbound", s.Inbound)
		}
	}
	out := call.Providers{sipprovider.Name: p}
	for n, v := range providers {
		out[n] = v
	}
	return out, func() { cancel(); <-done; u.Close() }, nil
}
