package main

import (
	"context"
	"log/slog"
	"os"
	"sync"

	"github.com/roomd/roomd/control/feedback"
	"github.com/roomd/roomd/control/serial"
	"github.com/roomd/roomd/hal"
	"github.com/roomd/roomd/room"
)

// startConsoles serves the console protocol on the board's serial console
// and on the control socket, with feedback from hub; the server it returns
// takes PIN changes.
func startConsoles(ctx context.Context, wg *sync.WaitGroup, cfg *Config, rm *room.Room, hub *feedback.Hub, b *hal.Board, log *slog.Logger) (*serial.Server, error) {
	login := *cfg.Console.Login
	if login && cfg.Console.AdminPINHash == "" {
		log.Warn("roomd: console.login is on but no admin_pin_hash is set: nobody can log in on the serial port until a PIN is configured (roomd hash-pin)")
	}
	dialect, err := serial.ParseDialect(cfg.Console.Dialect)
	if err != nil {
		return nil, err
	}
	srv, err := serial.NewServer(rm, serial.Options{
		LineDialect:     dialect,
		RequireLogin:    login,
		PINHash:         []byte(cfg.Console.AdminPINHash),
		SoftwareVersion: version,
		Feedback:        hub,
		Logger:          log,
	})
	if err != nil {
		return nil, err
	}
	if *cfg.Console.Serial {
		if line, ok := b.Serial[hal.RoleConsole]; ok {
			log.Info("roomd: serial console", "port", line.Name(), "login", login, "dialect", dialect.String())
			wg.Go(func() {
				if err := srv.ServeLine(ctx, line); err != nil {
					log.Error("roomd: serial console stopped; running without it", "err", err)
				}
			})
		}
	}
	if p := cfg.SocketPath(); p != "" {
		// Bound before roomd tells systemd it is ready, so a client started
		// after roomd finds the socket.
		if ln, err := serial.ListenUnix(p); err != nil {
			log.Error("roomd: control socket not served", "path", p, "err", err)
		} else {
			log.Info("roomd: control socket", "path", p)
			wg.Go(func() {
				defer os.Remove(p)
				if err := srv.ServeListener(ctx, ln); err != nil {
					log.Error("roomd: control socket stopped", "path", p, "err", err)
				}
			})
		}
	}
	return srv, nil
}
