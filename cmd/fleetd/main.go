// Command fleetd is the reference fleet server for roomd: it enrolls
// devices with activation codes, signs their configuration bundles, serves
// them over mutual TLS and collects health reports. docs/provisioning.md
// specifies the protocol.
//
// Usage:
//
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
//
// -db is a SQLite file or a postgres:// URL; signing keys live in -keys,
// never in the database.
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
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/roomd/roomd/internal/netguard"
	"github.com/roomd/roomd/provisioning"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("fleetd", flag.ContinueOnError)
	dsn := fs.String("db", "fleet.db", "SQLite file or postgres:// URL")
	keyDir := fs.String("keys", "keys", "directory of the CA and signing keys (kept apart from the database)")
	org := fs.String("org", "default", "organisation the trust root is made for on first use")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := checkDatabaseOfFleet(*dsn, *keyDir); err != nil {
		return err
	}
	store, err := openStore(ctx, *dsn, log)
	if err != nil {
		return err
	}
	defer store.Close()
	keys, err := loadOrCreateKeys(*keyDir, *org)
	if err != nil {
		return err
	}
	for _, n := range keys.Notes {
		log.Warn(n)
	}
	f := &Fleet{Store: store, Keys: keys, Log: log}
	a := fs.Args()
	need := func(n int, usage string) error {
		if len(a) != n {
			return fmt.Errorf("fleetd: usage: fleetd %s", usage)
		}
		return nil
	}
	if len(a) == 0 {
		return errors.New("fleetd: no command; see the package documentation")
	}
	switch strings.Join(a[:min(2, len(a))], " ") {
	case "org create":
		if err := need(4, "org create ORG NAME"); err != nil {
			return err
		}
		return store.CreateOrg(ctx, a[2], a[3])
	case "room create":
		if err := need(5, "room create ORG ROOM NAME"); err != nil {
			return err
		}
		return store.CreateRoom(ctx, a[2], a[3], a[4])
	case "code issue":
		cf := flag.NewFlagSet("code issue", flag.ContinueOnError)
		ttl := cf.Duration("ttl", 72*time.Hour, "how long the code is valid")
		approve := cf.Bool("require-approval", false, "devices enrolled with it wait for approval")
		if err := cf.Parse(a[2:]); err != nil {
			return err
		}
		if cf.NArg() != 2 {
			return errors.New("fleetd: usage: fleetd code issue [-ttl 72h] [-require-approval] ORG ROOM")
		}
		code, err := f.IssueCode(ctx, cf.Arg(0), cf.Arg(1), *ttl, *approve)
		if err != nil {
			return err
		}
		fmt.Println(code)
		return nil
	case "config set":
		if err := need(5, "config set ORG ROOM config.json"); err != nil {
			return err
		}
		b, err := os.ReadFile(a[4])
		if err != nil {
			return fmt.Errorf("fleetd: %w", err)
		}
		var cfg provisioning.Config
		if err := json.Unmarshal(b, &cfg); err != nil {
			return fmt.Errorf("fleetd: %s: %w", a[4], err)
		}
		return f.SetConfig(ctx, a[2], a[3], cfg)
	}
	switch a[0] {
	case "serve":
		sf := flag.NewFlagSet("serve", flag.ContinueOnError)
		listen := sf.String("listen", ":8443", "address of the device API")
		names := sf.String("name", "localhost", "comma-separated host names and IPs for the server certificate")
		adminListen := sf.String("admin-listen", "", "address of the admin API (HTTPS, bearer token); empty: no admin API")
		adminToken := sf.String("admin-token", "", "file holding the admin API's bearer token, mode 0600 (make one with fleetd admin-token FILE)")
		perAddress := sf.Int("conns-per-address", DefaultPerAddress, "most connections one client address may hold to the device API (raise it when more rooms share one NAT address)")
		if err := sf.Parse(a[1:]); err != nil {
			return err
		}
		var token []byte
		if *adminListen != "" {
			if *adminToken == "" {
				return errors.New("fleetd: -admin-listen needs -admin-token FILE")
			}
			var err error
			if token, err = LoadAdminToken(*adminToken); err != nil {
				return err
			}
		}
		f.reportCodes(ctx)
		return serve(ctx, f, *listen, *adminListen, token, strings.Split(*names, ","), serveOptions{PerAddress: *perAddress})
	case "admin-token":
		if err := need(2, "admin-token FILE"); err != nil {
			return err
		}
		return CreateAdminToken(a[1])
	case "preregister":
		pf := flag.NewFlagSet("preregister", flag.ContinueOnError)
		serial := pf.String("serial", "", "the device's serial number; when set, the device must report it")
		keyFile := pf.String("key", "", "the device's public key (PEM) instead of its fingerprint")
		if err := pf.Parse(a[1:]); err != nil {
			return err
		}
		usage := errors.New("fleetd: usage: fleetd preregister [-serial S] ORG ROOM FINGERPRINT, or -key device.pub ORG ROOM")
		fp := ""
		switch {
		case *keyFile != "" && pf.NArg() == 2:
			var err error
			if fp, err = keyFingerprint(*keyFile); err != nil {
				return err
			}
		case *keyFile == "" && pf.NArg() == 3:
			fp = pf.Arg(2)
		default:
			return usage
		}
		fp, err := f.Preregister(ctx, pf.Arg(0), pf.Arg(1), fp, *serial)
		if err != nil {
			return err
		}
		fmt.Println(fp)
		return nil
	case "approve":
		if err := need(2, "approve DEVICE|FINGERPRINT"); err != nil {
			return err
		}
		return f.Approve(ctx, a[1])
	case "revoke":
		if err := need(2, "revoke DEVICE"); err != nil {
			return err
		}
		return f.Revoke(ctx, a[1])
	case "health":
		if err := need(2, "health ORG"); err != nil {
			return err
		}
		hs, err := store.Fleet(ctx, a[1])
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ROOM\tDEVICE\tSTATE\tCONFIG\tLAST REPORT\tREPORT")
		for _, h := range hs {
			at := "never"
			if !h.ReportAt.IsZero() {
				at = h.ReportAt.Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", h.RoomID, h.ID, h.State, h.ConfigVersion, at, h.Report)
		}
		return tw.Flush()
	}
	return fmt.Errorf("fleetd: unknown command %q", strings.Join(a, " "))
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
	httpOpts := o.HTTP
	httpOpts.Logger = f.Log
	stopOnDone := func(srv *http.Server) {
		go func() {
			<-ctx.Done()
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = srv.Shutdown(sctx)
		}()
	}
	if aln != nil {
		// The admin API has its own listener (keep it off the devices'
		// network) and no client certificates: the token authenticates.
		atc := tc.Clone()
		atc.ClientAuth = tls.NoClientCert
		asrv := netguard.NewHTTPServer(f.AdminHandler(adminToken), httpOpts)
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
	return nil
}
