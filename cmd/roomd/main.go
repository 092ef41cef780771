// Command roomd is the firmware service of a meeting-room appliance: it owns
// the room (microphones, camera privacy, volume, display, calls), drives the
// board's buttons, LEDs and relays, and serves the control surfaces (serial
// console, local control socket).
//
// Usage:
//
//	roomd [flags]                 run the room (see roomd -h)
//	roomd --sim                   run on the simulated board with the built-in configuration
//	roomd hash-pin                read a PIN on stdin, print its hash for console.admin_pin_hash
//	roomd check-config FILE       validate a configuration file
//	roomd panel-tokens list|revoke ID|revoke all   list or revoke paired tablets
//	roomd reseed-root ROOTFILE    install a fleet trust root when no stored one verifies
//	roomd version                 print the version
//	roomd --probe [-json]         list the V4L2 devices and what each is to roomd
//	roomd --check-encoder [flags] encode camera frames through a V4L2 M2M encoder, report as JSON
//	roomd help                    the subcommands, the configuration file and the flags
//
// This is the only package that exits.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/roomd/roomd/internal/logging"
	"github.com/roomd/roomd/internal/roomdconfig"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "hash-pin":
			return hashPIN(stdin, stdout, stderr)
		case "check-config":
			if len(args) == 2 && isHelp(args[1]) {
				fmt.Fprintln(stdout, "usage: roomd check-config FILE\n\nReads and validates FILE as roomd would at start (unknown keys, values, the board description) and prints ok, or what is wrong and exits 1.")
				return 0
			}
			if len(args) != 2 {
				fmt.Fprintln(stderr, "usage: roomd check-config FILE")
				return 2
			}
			if _, err := loadConfig(args[1], false); err != nil {
				fmt.Fprintln(stderr, err)
				return 1
			}
			fmt.Fprintln(stdout, "ok")
			return 0
		case "panel-tokens":
			return panelTokens(args[1:], stdout, stderr)
		case "reseed-root":
			return reseedRoot(args[1:], stdout, stderr)
		case "version":
			fmt.Fprintln(stdout, "roomd", version)
			return 0
		case "--probe", "-probe":
			return probeHardware(args[1:], stdout, stderr)
		case "--check-encoder", "-check-encoder":
			return checkEncoder(args[1:], stdout, stderr)
		}
	}
	fs := flag.NewFlagSet("roomd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(fs.Output(), usage); fs.PrintDefaults() }
	var (
		cfgPath    = fs.String("config", "", "configuration file (default: built-in; see docs/config.md)")
		sim        = fs.Bool("sim", false, "run on the simulated board instead of real hardware")
		stateDir   = fs.String("state-dir", "", "override state_dir")
		runtimeDir = fs.String("runtime-dir", "", "override runtime_dir")
		logLevel   = fs.String("log-level", "", "override log.level (debug, info, warn, error)")
		logFormat  = fs.String("log-format", "", "override log.format (auto, text, json, journal)")
		debugAddr  = fs.String("debug-listen", "", "override debug.listen (loopback only)")
		panelAddr  = fs.String("panel-listen", "", "override panel.listen (loopback only)")
	)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() == 1 && fs.Arg(0) == "help" {
		fs.SetOutput(stdout)
		fs.Usage()
		return 0
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "roomd: unknown subcommand or argument %q\n\n%s", fs.Arg(0), usage)
		return 2
	}
	cfg, err := loadConfig(*cfgPath, *sim)
	if err != nil {
		fmt.Fprintln(stderr, "roomd:", err)
		return 1
	}
	for _, o := range []struct {
		flag string
		dst  *string
	}{{*stateDir, &cfg.StateDir}, {*runtimeDir, &cfg.RuntimeDir}, {*logLevel, &cfg.Log.Level}, {*logFormat, &cfg.Log.Format}, {*debugAddr, &cfg.Debug.Listen}, {*panelAddr, &cfg.Panel.Listen}} {
		if o.flag != "" {
			*o.dst = o.flag
		}
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintln(stderr, "roomd:", err)
		return 1
	}
	if *sim && cfg.Board.Profile != "sim" && cfg.Board.Description == "" {
		cfg.Board.Profile = "sim"
	}
	lvl, _ := logging.ParseLevel(cfg.Log.Level)
	log, err := logging.New(stderr, cfg.Log.Format, lvl)
	if err != nil {
		fmt.Fprintln(stderr, "roomd:", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := runDaemon(ctx, cfg, log); err != nil {
		log.Error("roomd: stopped", "err", err)
		return 1
	}
	return 0
}

// usage is roomd's help, printed before its flags: the subcommands, where
// the configuration comes from and what checks there are.
const usage = `usage: roomd [flags]               run the room
       roomd SUBCOMMAND [arguments]

subcommands:
  check-config FILE                    validate a configuration file without starting anything; prints ok
  hash-pin                             read a PIN on stdin, print its hash for console.admin_pin_hash
  panel-tokens list|revoke ID|revoke all  list or revoke paired tablets (-h: its flags)
  reseed-root ROOTFILE                 install a fleet trust root when no stored one verifies
  version                              print the version
  help                                 print this help

configuration: roomd reads the one file --config names (systemd/roomd.service passes
/etc/roomd/roomd.toml) and searches nowhere else. Without --config it runs on the
built-in defaults, or with --sim on the built-in simulated board (admin PIN 1234).
state_dir and runtime_dir default to $STATE_DIRECTORY and $RUNTIME_DIRECTORY (systemd),
else /var/lib/roomd and /run/roomd; the flags below override the file. Every key:
docs/config.md.

checks: check-config FILE validates a file (unknown keys are errors). At start roomd
probes its board and reports each device loaded, skipped or failed (xStatus Hardware),
running degraded rather than stopping; a damaged state file is set aside and reported.

flags:
`

func isHelp(arg string) bool { return arg == "-h" || arg == "-help" || arg == "--help" }

// hashPIN reads a PIN from stdin and prints its bcrypt hash.
func hashPIN(stdin io.Reader, stdout, stderr io.Writer) int {
	if f, ok := stdin.(*os.File); ok && isTerminal(f) {
		fmt.Fprint(stderr, "PIN (4 to 16 digits), then Enter: ")
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		fmt.Fprintln(stderr, "roomd:", err)
		return 1
	}
	h, err := roomdconfig.HashPIN(strings.TrimSpace(line))
	if err != nil {
		fmt.Fprintln(stderr, "roomd:", err)
		return 1
	}
	fmt.Fprintln(stdout, h)
	return 0
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
