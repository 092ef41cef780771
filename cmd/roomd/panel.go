package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/roomd/roomd/control/feedback"
	"github.com/roomd/roomd/internal/logging"
	"github.com/roomd/roomd/media/display"
	"github.com/roomd/roomd/panel"
	"github.com/roomd/roomd/room"
)

// panelLogLines is how many recent log lines the settings screen shows.
const panelLogLines = 200

// panelLogRing keeps recent log lines for the panel's settings screen.
func panelLogRing(log *slog.Logger) (*slog.Logger, *logging.Ring) {
	ring := logging.NewRing(panelLogLines)
	return slog.New(ring.Tee(log.Handler(), slog.LevelInfo)), ring
}

// startPanel serves the touch panel on the kiosk address and, if set, the
// remote one. pinHash is the admin PIN's hash in force (the fleet may change
// it). A panel that cannot listen is logged; the room runs without it.
// xapi, when not nil, is served at /ws on the remote listener.
func startPanel(ctx context.Context, wg *sync.WaitGroup, cfg *Config, rm *room.Room, hub *feedback.Hub, pinHash func() []byte, logs *logging.Ring, comp *display.Compositor, xapi http.Handler, log *slog.Logger) {
	pc := cfg.Panel
	if !*pc.Enabled {
		return
	}
	if len(pinHash()) == 0 {
		log.Warn("roomd: no admin PIN is set: the panel's settings stay locked (panel.admin_pin_hash)")
	}
	srv, err := panel.New(rm, panel.Options{
		AdminPINHash:    pinHash,
		StateDir:        cfg.StateDir,
		RecentLogs:      logs.Lines,
		SoftwareVersion: version,
		Feedback:        hub,
		RemoteEnabled:   pc.RemoteListen != "",
		KioskUIDs:       pc.KioskUIDs(log),
		XAPI:            xapi,
		Logger:          log,
		// The code goes on the room's HDMI display too, over whatever it
		// shows, so that only someone who can see the room can pair.
		ShowPairingCode: func(code string, until time.Time) {
			if code == "" {
				comp.SetNotice(nil, time.Time{})
				return
			}
			comp.SetNotice([]string{code, "Code to pair a tablet with this room's panel"}, until)
		},
	})
	if err != nil {
		log.Error("roomd: panel not started", "err", err)
		return
	}
	listen := func(addr string, a panel.Access) bool {
		scheme := "http"
		var tlsCfg *tls.Config
		if a == panel.Remote && pc.RemoteCertFile != "" {
			cert, err := tls.LoadX509KeyPair(pc.RemoteCertFile, pc.RemoteKeyFile)
			if err != nil {
				log.Error("roomd: remote panel not served; its certificate does not load", "err", err)
				return false
			}
			scheme, tlsCfg = "https", &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			log.Error("roomd: panel not served; running without it", "access", a.String(), "addr", addr, "err", err)
			return false
		}
		if tlsCfg == nil && a == panel.Remote {
			log.Warn("roomd: the remote panel speaks plain HTTP: paired tablets' tokens cross the network in clear; set panel.remote_cert_file and remote_key_file")
		}
		log.Info("roomd: touch panel", "access", a.String(), "url", scheme+"://"+ln.Addr().String()+"/")
		wg.Go(func() {
			// Serve caps connections before TLS, so handshakes count too.
			serve := srv.Serve
			if tlsCfg != nil {
				serve = func(ctx context.Context, ln net.Listener, a panel.Access) error {
					return srv.ServeTLS(ctx, ln, a, tlsCfg)
				}
			}
			if err := serve(ctx, ln, a); err != nil {
				log.Error("roomd: panel stopped", "access", a.String(), "err", err)
			}
		})
		return true
	}
	ok := listen(pc.Listen, panel.Kiosk)
	if pc.RemoteListen != "" {
		ok = listen(pc.RemoteListen, panel.Remote) || ok
	}
	if ok {
		wg.Go(func() { srv.Run(ctx) })
	}
}

// stateDirCommand parses the flags of a roomd command that works on the
// state directory (--config for its state_dir, --state-dir to override it)
// and loads the configuration. cfg is nil when the command must end, with
// code as its exit code.
func stateDirCommand(name, usage string, args []string, stderr io.Writer) (fs *flag.FlagSet, cfg *Config, code int) {
	fs = flag.NewFlagSet("roomd "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "configuration file, for its state_dir")
	stateDir := fs.String("state-dir", "", "override state_dir")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: roomd %s [--config FILE] [--state-dir DIR] %s\n\nflags:\n", name, usage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return fs, nil, 0
		}
		return fs, nil, 2
	}
	cfg, err := loadConfig(*cfgPath, false)
	if err != nil {
		fmt.Fprintln(stderr, "roomd:", err)
		return fs, nil, 1
	}
	if *stateDir != "" {
		cfg.StateDir = *stateDir
	}
	return fs, cfg, 0
}

// panelTokens is `roomd panel-tokens`: list or revoke paired tablets.
func panelTokens(args []string, stdout, stderr io.Writer) int {
	fs, cfg, code := stateDirCommand("panel-tokens", "list | revoke ID | revoke all", args, stderr)
	if cfg == nil {
		return code
	}
	switch {
	case fs.NArg() == 1 && fs.Arg(0) == "list":
		ps, err := panel.ListPaired(cfg.StateDir)
		if err != nil {
			fmt.Fprintln(stderr, "roomd:", err)
			return 1
		}
		if len(ps) == 0 {
			fmt.Fprintln(stdout, "no paired panels")
		}
		for _, p := range ps {
			fmt.Fprintf(stdout, "%s\t%s\tpaired %s\n", p.ID, p.Name, p.Created.Local().Format(time.DateTime))
		}
		return 0
	case fs.NArg() == 2 && fs.Arg(0) == "revoke":
		gone, err := panel.Revoke(cfg.StateDir, fs.Arg(1))
		if err != nil {
			fmt.Fprintln(stderr, "roomd:", err)
			return 1
		}
		fmt.Fprintf(stdout, "revoked %d panel(s); a running roomd closes their connections within a second\n", len(gone))
		return 0
	}
	fs.Usage()
	return 2
}
