// Package sshconsole serves roomd's control console over SSH on the room's
// network, as RoomOS serves its own: integrators' Cisco drivers and Cisco's
// jsxapi (`jsxapi.connect('ssh://room', {username, password})`) log in and
// talk to the console in Cisco's dialect (see control/serial and
// docs/serial-protocol.md, "Cisco compatibility").
//
// # An SSH server inside roomd, not OpenSSH
//
// The server is golang.org/x/crypto/ssh inside roomd rather than OpenSSH in
// the image with a forced command, because all it may ever give is the
// console: no shell, no port forwarding, no files, no agent, no system
// accounts. Its users and keys are the fleet bundle's, checked here, and it
// runs in roomd's sandbox; an sshd would need root, PAM and a second
// account database to be locked down to the same thing.
//
// # Hardening
//
//   - Password (bcrypt, asked as keyboard-interactive as well, which is
//     what jsxapi answers) or public key; passwords are never logged. The
//     users are a control/remoteusers Store, shared with the xAPI
//     WebSocket.
//   - Wrong passwords lock every login for 30 s after 5 in a row, doubling
//     up to 15 min, shared by all connections (keys are not counted: clients
//     offer several).
//   - A connection must finish its handshake and open the console within
//     HandshakeTimeout (10 s), at most MaxConnections (8) are open; more
//     are closed at once.
//   - Only "session" channels with "shell" (or "exec tsh", RoomOS's console)
//     are served; forwarding, subsystems, other commands are refused.
//
// The console is line-based and does not echo: a person at a terminal
// connects with `ssh -T`; a pseudo-terminal is accepted but not emulated.
//
// Sessions are "not in the room": commands reach the room as
// room.Source{Kind: room.FromSocket, ID: "ssh:<user>@<address>"}, the same
// authority as roomctl on the socket over SSH has today.
package sshconsole

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/roomd/roomd/control/remoteusers"
	"github.com/roomd/roomd/room"
)

// Console is what the server hands each session to; *serial.Server is one.
type Console interface {
	ServeCisco(ctx context.Context, rw io.ReadWriteCloser, src room.Source) error
}

// User is one account that may log in.
type User = remoteusers.User

// Options configure a Server.
type Options struct {
	// HostKey is the server's identity; required.
	HostKey ssh.Signer
	// Users who may log in, when Store is nil: at least one.
	Users []User
	// Store holds the users and the lockout, shared with the other remote
	// surfaces; it may be empty until the fleet sends users. Nil makes
	// one from Users.
	Store *remoteusers.Store
	// Logger gets logins and refusals; never a password. Nil discards.
	Logger *slog.Logger
	// Now is the clock of the lockout when Store is nil; nil means time.Now.
	Now func() time.Time
	// MaxConnections bounds the connections open at once (default 8).
	MaxConnections int
	// HandshakeTimeout bounds the time from connecting to the console's
	// start (default 10 s).
	HandshakeTimeout time.Duration
}

// Server serves the console over SSH.
type Server struct {
	console Console
	opts    Options
	log     *slog.Logger
	users   *remoteusers.Store
	config  *ssh.ServerConfig
	slots   chan struct{}
}

// New checks o and makes a server for console.
func New(console Console, o Options) (*Server, error) {
	if console == nil {
		return nil, errors.New("sshconsole: no console to serve")
	}
	if o.HostKey == nil {
		return nil, errors.New("sshconsole: no host key; generate one and give it as Options.HostKey")
	}
	users := o.Store
	if users == nil {
		if len(o.Users) == 0 {
			return nil, errors.New("sshconsole: no users; give at least one with a password hash or a key")
		}
		var err error
		if users, err = remoteusers.New(o.Users, remoteusers.Options{Logger: o.Logger, Now: o.Now}); err != nil {
			return nil, fmt.Errorf("sshconsole: %w", err)
		}
	}
	s := &Server{console: console, opts: o, log: o.Logger, users: users}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.opts.MaxConnections <= 0 {
		s.opts.MaxConnections = 8
	}
	if s.opts.HandshakeTimeout <= 0 {
		s.opts.HandshakeTimeout = 10 * time.Second
	}
	s.slots = make(chan struct{}, s.opts.MaxConnections)
	s.config = &ssh.ServerConfig{
		ServerVersion:     "SSH-2.0-roomd",
		MaxAuthTries:      3,
		PasswordCallback:  func(c ssh.ConnMetadata, pw []byte) (*ssh.Permissions, error) { return s.checkPassword(c, pw) },
		PublicKeyCallback: s.checkKey,
		KeyboardInteractiveCallback: func(c ssh.ConnMetadata, ask ssh.KeyboardInteractiveChallenge) (*ssh.Permissions, error) {
			answers, err := ask("", "", []string{"Password: "}, []bool{false})
			if err != nil {
				return nil, err
			}
			if len(answers) != 1 {
				return nil, errors.New("sshconsole: one answer expected")
			}
			return s.checkPassword(c, []byte(answers[0]))
		},
	}
	s.config.AddHostKey(o.HostKey)
	return s, nil
}

// checkPassword checks a password against the users under their shared
// lockout.
func (s *Server) checkPassword(c ssh.ConnMetadata, pw []byte) (*ssh.Permissions, error) {
	if err := s.users.CheckPassword(c.User(), pw, c.RemoteAddr().String()); err != nil {
		return nil, err
	}
	return &ssh.Permissions{Extensions: map[string]string{"auth": "password"}}, nil
}

// checkKey accepts a key the user has.
func (s *Server) checkKey(c ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
	if !s.users.CheckKey(c.User(), key) {
		return nil, errors.New("sshconsole: key not accepted")
	}
	return &ssh.Permissions{Extensions: map[string]string{"auth": "key " + ssh.FingerprintSHA256(key)}}, nil
}

// Serve serves connections from ln until ctx is cancelled, then closes ln
// and waits for the sessions to end. Cancellation is not an error.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	backoff := 5 * time.Millisecond
	for {
		c, err := ln.Accept()
		switch {
		case ctx.Err() != nil:
			if c != nil {
				c.Close()
			}
			return nil
		case errors.Is(err, net.ErrClosed):
			return fmt.Errorf("sshconsole: listener closed: %w", err)
		case err != nil: // out of descriptors, say: wait and go on
			s.log.Warn("sshconsole: accepting a connection failed; retrying", "err", err, "wait", backoff)
			select {
			case <-time.After(backoff):
			case <-ctx.Done():
			}
			backoff = min(2*backoff, time.Second)
			continue
		}
		backoff = 5 * time.Millisecond
		select {
		case s.slots <- struct{}{}:
		default:
			s.log.Warn("sshconsole: too many connections; closing a new one", "remote", c.RemoteAddr().String(), "max", s.opts.MaxConnections)
			c.Close()
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-s.slots }()
			s.serveConn(ctx, c)
		}()
	}
}

// serveConn runs one SSH connection: handshake, then its session channels.
func (s *Server) serveConn(ctx context.Context, c net.Conn) {
	defer c.Close()
	remote := c.RemoteAddr().String()
	// Until a console starts, the connection lives on a deadline.
	var started atomic.Bool
	deadline := time.AfterFunc(s.opts.HandshakeTimeout, func() {
		if !started.Load() {
			s.log.Info("sshconsole: no console within the handshake timeout; closing", "remote", remote)
			c.Close()
		}
	})
	defer deadline.Stop()
	sc, chans, reqs, err := ssh.NewServerConn(c, s.config)
	if err != nil {
		s.log.Info("sshconsole: handshake failed", "remote", remote, "err", err)
		return
	}
	defer sc.Close()
	stop := context.AfterFunc(ctx, func() { sc.Close() })
	defer stop()
	go ssh.DiscardRequests(reqs) // tcpip-forward and the like: refused
	host, _, _ := net.SplitHostPort(remote)
	src := room.Source{Kind: room.FromSocket, ID: "ssh:" + sc.User() + "@" + host}
	s.log.Info("sshconsole: logged in", "user", sc.User(), "remote", remote, "auth", sc.Permissions.Extensions["auth"])

	var wg sync.WaitGroup
	defer wg.Wait()
	for nc := range chans {
		if nc.ChannelType() != "session" {
			nc.Reject(ssh.Prohibited, "only the console is served here")
			continue
		}
		ch, creqs, err := nc.Accept()
		if err != nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.session(ctx, ch, creqs, src, &started)
		}()
	}
}

// session answers a session channel's requests and runs the console on it
// once it asks for a shell (or RoomOS's "tsh").
func (s *Server) session(ctx context.Context, ch ssh.Channel, reqs <-chan *ssh.Request, src room.Source, started *atomic.Bool) {
	var console sync.WaitGroup
	defer console.Wait()
	defer ch.Close()
	running := false
	for req := range reqs {
		ok := false
		switch req.Type {
		case "shell", "exec":
			if running || (req.Type == "exec" && execCommand(req.Payload) != "tsh") {
				fmt.Fprintf(ch.Stderr(), "roomd serves only its console here: connect without a command (or with tsh)\r\n")
				break
			}
			ok, running = true, true
			started.Store(true)
			console.Add(1)
			go func() {
				defer console.Done()
				if err := s.console.ServeCisco(ctx, &exitingChannel{Channel: ch}, src); err != nil {
					s.log.Info("sshconsole: console session ended", "source", src.String(), "err", err)
				}
			}()
		case "pty-req", "window-change":
			ok = true // accepted and ignored: the console is line-based
		}
		if req.WantReply {
			req.Reply(ok, nil)
		}
	}
}

// execCommand reads an exec request's command.
func execCommand(payload []byte) string {
	var p struct{ Command string }
	if ssh.Unmarshal(payload, &p) != nil {
		return ""
	}
	return p.Command
}

// exitingChannel tells the client the console ended well before it closes
// the channel, as a shell would.
type exitingChannel struct {
	ssh.Channel
	once sync.Once
}

func (c *exitingChannel) Close() error {
	c.once.Do(func() {
		c.Channel.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{0}))
	})
	return c.Channel.Close()
}
