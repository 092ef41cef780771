package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/roomd/roomd/control/remoteusers"
	"github.com/roomd/roomd/control/sshconsole"
	"github.com/roomd/roomd/control/xapiws"
)

// remoteUsers is the user store of the remote xAPI (SSH and the panel's
// /ws), holding the configuration file's [[ssh.users]]; the fleet adds its
// own through provisioning/apply.
func remoteUsers(cfg *Config, log *slog.Logger) (*remoteusers.Store, error) {
	users := make([]remoteusers.User, 0, len(cfg.SSH.Users))
	for _, u := range cfg.SSH.Users {
		ru, err := remoteusers.NewUser(u.Name, u.PasswordHash, u.AuthorizedKeys)
		if err != nil {
			return nil, fmt.Errorf("ssh.users: %w", err)
		}
		users = append(users, ru)
	}
	return remoteusers.New(users, remoteusers.Options{Logger: log})
}

// startSSH serves the console over SSH when [ssh] is enabled. A server
// that cannot start is logged; the room runs without it.
func startSSH(ctx context.Context, wg *sync.WaitGroup, cfg *Config, console sshconsole.Console, users *remoteusers.Store, log *slog.Logger) {
	if !cfg.SSH.Enabled {
		return
	}
	key, err := sshconsole.LoadHostKey(cfg.HostKeyPath(), time.Now())
	if err != nil {
		log.Error("roomd: SSH console not started", "err", err)
		return
	}
	if key.SetAside != "" {
		log.Warn("roomd: the SSH host key was damaged; set aside and replaced: clients will see a new fingerprint", "set_aside", key.SetAside)
	}
	srv, err := sshconsole.New(console, sshconsole.Options{HostKey: key.Signer, Store: users, Logger: log})
	if err != nil {
		log.Error("roomd: SSH console not started", "err", err)
		return
	}
	ln, err := net.Listen("tcp", cfg.SSH.Listen)
	if err != nil {
		log.Error("roomd: SSH console not started", "addr", cfg.SSH.Listen, "err", err)
		return
	}
	if users.Len() == 0 {
		log.Warn("roomd: the SSH console has no users: nobody can log in until [[ssh.users]] or the fleet's ssh.users gives one")
	}
	log.Info("roomd: SSH console", "addr", ln.Addr().String(), "host_key", key.Fingerprint(), "new_key", key.Created)
	wg.Go(func() {
		if err := srv.Serve(ctx, ln); err != nil {
			log.Error("roomd: SSH console stopped", "err", err)
		}
	})
}

// xapiWebSocket is RoomOS's xAPI over WebSocket for the panel's remote
// listener when panel.xapi_websocket is set; nil otherwise.
func xapiWebSocket(cfg *Config, console xapiws.Console, users *remoteusers.Store, log *slog.Logger) http.Handler {
	if !cfg.Panel.XAPIWebSocket || !*cfg.Panel.Enabled {
		return nil
	}
	ws, err := xapiws.New(console, xapiws.Options{Users: users, Logger: log})
	if err != nil {
		log.Error("roomd: the xAPI WebSocket not served", "err", err)
		return nil
	}
	if users.Len() == 0 {
		log.Warn("roomd: the xAPI WebSocket has no users: nobody can log in until [[ssh.users]] or the fleet's ssh.users gives one")
	}
	log.Info("roomd: xAPI WebSocket at /ws on the remote panel")
	return ws
}
