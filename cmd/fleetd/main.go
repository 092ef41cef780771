// Command fleetd is the reference fleet server for roomd: it enrolls
// devices with activation codes, signs their configuration bundles, serves
// them over mutual TLS and collects health reports. docs/provisioning.md
// specifies the protocol.
//
// Usage (fleetd help lists the commands, fleetd help COMMAND a command's
// flags):
//
//	fleetd [-db fleet.db] [-keys keys/] [-org ORG] init
//	fleetd [-db fleet.db] [-keys keys/] [-org ORG] serve -listen :8443 -name fleet.example.com [-admin-listen 127.0.0.1:8444 -admin-token admin.token] [-conns-per-address 256]
//	fleetd admin-token FILE
//	fleetd org create ORG NAME
//	fleetd room create ORG ROOM NAME
//	fleetd code issue [-ttl 72h] [-require-approval] ORG ROOM
//	fleetd preregister [-serial S] ORG ROOM FINGERPRINT|-key device.pub
//	fleetd approve DEVICE|FINGERPRINT
//	fleetd config set ORG ROOM config.json
//	fleetd health ORG
//	fleetd revoke DEVICE
//	fleetd [-db fleet.db] backup FILE
//	fleetd [-db fleet.db] restore FILE
//
// -db is a SQLite file or a postgres:// URL; signing keys live in -keys,
// never in the database. Only init makes both; serve makes the database
// and the keys in an existing key directory (as systemd's StateDirectory=
// provides); every other command refuses a missing one, naming the flag.
package main

import (
	"context"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/roomd/roomd/internal/netguard"
	"github.com/roomd/roomd/provisioning"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// exitCode prints err to stderr unless it was printed already and returns
// the exit status: 0 for success and help, 2 for a command line fleetd
// cannot read, 1 for any other error.
func exitCode(err error, stderr io.Writer) int {
	var ue *usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintln(stderr, err)
		return 2
	case errors.Is(err, errUsage): // the flag package printed it with the usage
		return 2
	}
	fmt.Fprintln(stderr, err)
	return 1
}

// commands are fleetd's commands, in the order help lists them.
func commands() []command {
	return []command{
		{name: "init", about: "make a new fleet: the database and the key directory with its CA and trust root", state: newState, run: runInit},
		{name: "serve", args: "[-listen :8443] [-name HOST,…] [-admin-listen ADDR -admin-token FILE] [-conns-per-address 256]",
			about: "serve the device API (mutual TLS) and, with -admin-listen, the admin API", state: serveState, run: runServe},
		{name: "admin-token", args: "FILE", about: "write a new random admin API token to FILE (mode 0600)", run: runAdminToken},
		{name: "org create", args: "ORG NAME", about: "create an organisation", state: existingState, run: func(ctx context.Context, c *cli, fs *flag.FlagSet, args []string) error {
			return withFleet(ctx, c, fs, args, 2, func(f *Fleet, a []string) error { return f.Store.CreateOrg(ctx, a[0], a[1]) })
		}},
		{name: "room create", args: "ORG ROOM NAME", about: "create a room in an organisation", state: existingState, run: func(ctx context.Context, c *cli, fs *flag.FlagSet, args []string) error {
			return withFleet(ctx, c, fs, args, 3, func(f *Fleet, a []string) error { return f.Store.CreateRoom(ctx, a[0], a[1], a[2]) })
		}},
		{name: "code issue", args: "[-ttl 72h] [-require-approval] ORG ROOM", about: "issue an activation code for a room and print it", state: existingState, run: runCodeIssue},
		{name: "preregister", args: "[-serial S] ORG ROOM FINGERPRINT | [-serial S] -key device.pub ORG ROOM",
			about: "let a device whose key is known enroll into a room without a code; prints its fingerprint", state: existingState, run: runPreregister},
		{name: "approve", args: "DEVICE|FINGERPRINT", about: "approve a device waiting for approval", state: existingState, run: func(ctx context.Context, c *cli, fs *flag.FlagSet, args []string) error {
			return withFleet(ctx, c, fs, args, 1, func(f *Fleet, a []string) error { return f.Approve(ctx, a[0]) })
		}},
		{name: "config set", args: "ORG ROOM config.json", about: "sign config.json as the room's next configuration version", state: existingState, run: func(ctx context.Context, c *cli, fs *flag.FlagSet, args []string) error {
			return withFleet(ctx, c, fs, args, 3, func(f *Fleet, a []string) error {
				b, err := os.ReadFile(a[2])
				if err != nil {
					return fmt.Errorf("fleetd: %w", err)
				}
				var cfg provisioning.Config
				if err := json.Unmarshal(b, &cfg); err != nil {
					return fmt.Errorf("fleetd: %s: %w", a[2], err)
				}
				return f.SetConfig(ctx, a[0], a[1], cfg)
			})
		}},
		{name: "health", args: "ORG", about: "print the organisation's rooms, devices and their last health reports", state: existingState, run: runHealth},
		{name: "revoke", args: "DEVICE", about: "revoke a device's certificate", state: existingState, run: func(ctx context.Context, c *cli, fs *flag.FlagSet, args []string) error {
			return withFleet(ctx, c, fs, args, 1, func(f *Fleet, a []string) error { return f.Revoke(ctx, a[0]) })
		}},
		{name: "backup", args: "FILE", about: "copy the SQLite database (-db) to FILE while fleetd serves, checked and mode 0600 (PostgreSQL: pg_dump)", run: runBackup},
		{name: "restore", args: "FILE", about: "replace the SQLite database (-db) with the backup FILE, fleetd stopped; keeps the old one aside (PostgreSQL: pg_restore)", run: runRestore},
	}
}

// withFleet parses a command without flags of its own that takes n
// arguments, opens the fleet and runs do.
func withFleet(ctx context.Context, c *cli, fs *flag.FlagSet, args []string, n int, do func(f *Fleet, a []string) error) error {
	a, err := c.parse(fs, args, n)
	if err != nil {
		return err
	}
	f, err := c.fleet(ctx)
	if err != nil {
		return err
	}
	return do(f, a)
}

func runInit(ctx context.Context, c *cli, fs *flag.FlagSet, args []string) error {
	if _, err := c.parse(fs, args, 0); err != nil {
		return err
	}
	f, err := c.fleet(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "fleet of %s: database %s, keys in %s, trust root version %d\n", f.Keys.Root.OrgID, c.dsn, c.keyDir, f.Keys.Root.Version)
	return nil
}

func runServe(ctx context.Context, c *cli, fs *flag.FlagSet, args []string) error {
	listen := fs.String("listen", ":8443", "address of the device API")
	names := fs.String("name", "localhost", "comma-separated host names and IPs for the server certificate")
	adminListen := fs.String("admin-listen", "", "address of the admin API (HTTPS, bearer token); empty: no admin API")
	adminToken := fs.String("admin-token", "", "file holding the admin API's bearer token, mode 0600 (make one with fleetd admin-token FILE)")
	perAddress := fs.Int("conns-per-address", DefaultPerAddress, "most connections one client address may hold to the device API (raise it when more rooms share one NAT address)")
	if _, err := c.parse(fs, args, 0); err != nil {
		return err
	}
	var token []byte
	if *adminListen != "" {
		if *adminToken == "" {
			return &usageError{msg: "fleetd serve: -admin-listen needs -admin-token FILE", usage: c.usage(c.cmd, fs)}
		}
		var err error
		if token, err = LoadAdminToken(*adminToken); err != nil {
			return err
		}
	}
	f, err := c.fleet(ctx)
	if err != nil {
		return err
	}
	f.reportCodes(ctx)
	return serve(ctx, f, *listen, *adminListen, token, strings.Split(*names, ","), serveOptions{PerAddress: *perAddress})
}

func runAdminToken(ctx context.Context, c *cli, fs *flag.FlagSet, args []string) error {
	a, err := c.parse(fs, args, 1)
	if err != nil {
		return err
	}
	return CreateAdminToken(a[0])
}

func runCodeIssue(ctx context.Context, c *cli, fs *flag.FlagSet, args []string) error {
	ttl := fs.Duration("ttl", 72*time.Hour, "how long the code is valid")
	approve := fs.Bool("require-approval", false, "devices enrolled with it wait for approval (fleetd approve)")
	return withFleet(ctx, c, fs, args, 2, func(f *Fleet, a []string) error {
		code, err := f.IssueCode(ctx, a[0], a[1], *ttl, *approve)
		if err != nil {
			return err
		}
		fmt.Fprintln(c.stdout, code)
		return nil
	})
}

func runPreregister(ctx context.Context, c *cli, fs *flag.FlagSet, args []string) error {
	serial := fs.String("serial", "", "the device's serial number; when set, the device must report it")
	keyFile := fs.String("key", "", "the device's public key (PEM) instead of its fingerprint")
	a, err := c.parse(fs, args, -1)
	if err != nil {
		return err
	}
	fp := ""
	switch {
	case *keyFile != "" && len(a) == 2:
		if fp, err = keyFingerprint(*keyFile); err != nil {
			return err
		}
	case *keyFile == "" && len(a) == 3:
		fp = a[2]
	default:
		return c.wrongArgs(fs)
	}
	f, err := c.fleet(ctx)
	if err != nil {
		return err
	}
	if fp, err = f.Preregister(ctx, a[0], a[1], fp, *serial); err != nil {
		return err
	}
	fmt.Fprintln(c.stdout, fp)
	return nil
}

func runHealth(ctx context.Context, c *cli, fs *flag.FlagSet, args []string) error {
	return withFleet(ctx, c, fs, args, 1, func(f *Fleet, a []string) error {
		hs, err := f.Store.Fleet(ctx, a[0])
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ROOM\tDEVICE\tSTATE\tCONFIG\tLAST REPORT\tREPORT")
		for _, h := range hs {
			at := "never"
			if !h.ReportAt.IsZero() {
				at = h.ReportAt.Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", h.RoomID, h.ID, h.State, h.ConfigVersion, at, h.Report)
		}
		return tw.Flush()
	})
}

// keyFingerprint reads a PEM public key (or a device's PKCS#8 private key)
// and returns its fingerprint as the device shows it.
func keyFingerprint(path string) (string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("fleetd: %w", err)
	}
	blk, _ := pem.Decode(raw)
	if blk == nil {
		return "", fmt.Errorf("fleetd: %s holds no PEM block", path)
	}
	if pub, err := x509.ParsePKIXPublicKey(blk.Bytes); err == nil {
		return provisioning.Fingerprint(pub), nil
	}
	if k, err := x509.ParsePKCS8PrivateKey(blk.Bytes); err == nil {
		if s, ok := k.(crypto.Signer); ok {
			return provisioning.Fingerprint(s.Public()), nil
		}
	}
	return "", fmt.Errorf("fleetd: %s is not a PEM public key", path)
}

// serveOptions bound the device and admin APIs' connections; zero fields
// take their defaults.
type serveOptions struct {
	// HTTP are both servers' timeouts and header limit (netguard's
	// defaults: 5 s for headers, 30 s for a whole request, 60 s for a
	// response, 90 s idle). A client trickling a body is cut off at the
	// read timeout.
	HTTP netguard.ServerOptions
	// PerAddress is the most connections one client address may hold to
	// the device API (256: many rooms may share one NAT address; a room
	// holds at most one between polls). The admin API allows
	// netguard.DefaultPerClient.
	PerAddress int
}

// DefaultPerAddress is the device API's default per-address connection cap.
const DefaultPerAddress = 256

func serve(ctx context.Context, f *Fleet, listen, adminListen string, adminToken []byte, names []string, o serveOptions) error {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("fleetd: %w", err)
	}
	var aln net.Listener
	if adminListen != "" {
		if aln, err = net.Listen("tcp", adminListen); err != nil {
			ln.Close()
			return fmt.Errorf("fleetd: admin API: %w", err)
		}
	}
	return serveOn(ctx, f, ln, aln, adminToken, names, o)
}

// serveOn serves the device API on ln and, when aln is not nil, the admin
// API on aln, until ctx ends. Both go through netguard: a cap on each
// client address's connections, accept errors retried with backoff rather
// than ending the server, and every timeout set.
func serveOn(ctx context.Context, f *Fleet, ln, aln net.Listener, adminToken []byte, names []string, o serveOptions) error {
	tc, err := f.TLSConfig(names...)
	if err != nil {
		ln.Close()
		if aln != nil {
			aln.Close()
		}
		return err
	}
	if o.PerAddress == 0 {
		o.PerAddress = DefaultPerAddress
	}
	if f.Metrics == nil && aln != nil {
		f.Metrics = f.newMetrics() // served on the admin API only
	}
	httpOpts := o.HTTP
	httpOpts.Logger = f.Log
	// Serve returns as soon as Shutdown begins; serveOn returns only once
	// every server's in-flight requests are done (or 5 s have passed), so
	// the caller closes the store after the last handler let go of it and
	// SQLite checkpoints its write-ahead log on a clean stop.
	var shutdowns sync.WaitGroup
	stopOnDone := func(srv *http.Server) {
		shutdowns.Go(func() {
			<-ctx.Done()
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = srv.Shutdown(sctx)
		})
	}
	if aln != nil {
		// The admin API has its own listener (keep it off the devices'
		// network) and no client certificates: the token authenticates.
		atc := tc.Clone()
		atc.ClientAuth = tls.NoClientCert
		asrv := netguard.NewHTTPServer(f.AdminSite(adminToken), httpOpts) // the admin API and the console
		asrv.TLSConfig = atc
		stopOnDone(asrv)
		gl := netguard.Listen(aln, netguard.Options{Name: "fleetd admin API", Logger: f.Log})
		go func() {
			if err := asrv.Serve(tls.NewListener(gl, atc)); !errors.Is(err, http.ErrServerClosed) {
				f.Log.Error("fleetd: admin API stopped", "err", err)
			}
		}()
		f.Log.Info("fleetd admin API", "addr", aln.Addr().String())
	}
	srv := netguard.NewHTTPServer(f.Handler(), httpOpts)
	srv.TLSConfig = tc
	stopOnDone(srv)
	gl := netguard.Listen(ln, netguard.Options{Name: "fleetd device API", PerClient: o.PerAddress, Logger: f.Log})
	f.Log.Info("fleetd serving", "addr", ln.Addr().String(), "trust_root", f.Keys.Root.Version)
	if err := srv.Serve(tls.NewListener(gl, tc)); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("fleetd: %w", err)
	}
	shutdowns.Wait()
	return nil
}
