package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
)

// The command line: global flags, then a command of one or two words, its
// flags and its arguments. Help never touches the database or the key
// directory; only init and serve create them (see cli.fleet).

// errUsage marks a command line fleetd cannot read; main exits 2 on it.
var errUsage = errors.New("fleetd: usage")

// usageError is a command line fleetd cannot read: the message, then the
// usage that says what it can.
type usageError struct {
	msg, usage string
}

func (e *usageError) Error() string { return e.msg + "\n\n" + strings.TrimRight(e.usage, "\n") }
func (e *usageError) Unwrap() error { return errUsage }

// stateUse says what a command may do to the database and key directory.
type stateUse int

const (
	// noState: the command opens neither (help, admin-token).
	noState stateUse = iota
	// existingState: both must exist and the key directory hold a fleet.
	existingState
	// serveState: the key directory must exist; the database and the
	// fleet's keys in it are made on first start (systemd's
	// StateDirectory= makes the directory).
	serveState
	// newState: both are made when missing (init).
	newState
)

// command is one of fleetd's commands.
type command struct {
	name  string // one or two words: "serve", "code issue"
	args  string // what follows the name, for the usage line
	about string // one line
	state stateUse
	// run defines the command's flags on fs, parses args with c.parse and
	// carries the command out.
	run func(ctx context.Context, c *cli, fs *flag.FlagSet, args []string) error
}

// cli is one run of the command line: the global flags and the output.
type cli struct {
	dsn, keyDir, org string
	stdout, stderr   io.Writer
	log              *slog.Logger
	cmd              *command
	cmds             []command
	closers          []func() error
}

// usage is the command's usage: its line, what it does and its flags.
func (c *cli) usage(cmd *command, fs *flag.FlagSet) string {
	var b strings.Builder
	fmt.Fprintf(&b, "usage: fleetd [global flags] %s %s\n\n%s\n", cmd.name, cmd.args, cmd.about)
	if fs != nil && hasFlags(fs) {
		b.WriteString("\nflags:\n")
		fs.SetOutput(&b)
		fs.PrintDefaults()
		fs.SetOutput(c.stderr)
	}
	switch cmd.state {
	case existingState:
		b.WriteString("\nNeeds the database (-db) and the key directory (-keys) of a fleet made by fleetd init or fleetd serve.\n")
	case serveState:
		b.WriteString("\nNeeds the key directory (-keys); makes the database and the fleet's keys in it on first start.\n")
	case newState:
		b.WriteString("\nMakes the database (-db) and the key directory (-keys) when missing; an existing fleet is left as it is.\n")
	}
	return b.String()
}

func hasFlags(fs *flag.FlagSet) bool {
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	return n > 0
}

// parse parses the command's flags and checks it has n arguments (-1: any
// number); -h prints the usage and returns flag.ErrHelp.
func (c *cli) parse(fs *flag.FlagSet, args []string, n int) ([]string, error) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, errUsage // the flag package printed the error and the usage
	}
	if n >= 0 && fs.NArg() != n {
		return nil, c.wrongArgs(fs)
	}
	return fs.Args(), nil
}

// wrongArgs is the error of a command given the wrong arguments.
func (c *cli) wrongArgs(fs *flag.FlagSet) error {
	return &usageError{msg: fmt.Sprintf("fleetd %s: wrong arguments", c.cmd.name), usage: c.usage(c.cmd, fs)}
}

// commandList lists cmds, one a line, each with what it does.
func commandList(cmds []command) string {
	var b strings.Builder
	w := 0
	for _, cmd := range cmds {
		w = max(w, len(cmd.name))
	}
	for _, cmd := range cmds {
		fmt.Fprintf(&b, "  %-*s  %s\n", w, cmd.name, cmd.about)
	}
	return b.String()
}

// groupUsage is the usage of the commands whose first word is name.
func groupUsage(name string, group []command) string {
	return fmt.Sprintf("usage: fleetd [global flags] %s …\n\n%s", name, commandList(group))
}

// mainUsage is fleetd's usage: the global flags and every command.
func mainUsage(gfs *flag.FlagSet, cmds []command) string {
	var b strings.Builder
	b.WriteString("usage: fleetd [-db FILE|postgres://…] [-keys DIR] [-org ORG] COMMAND [flags] [arguments]\n\n")
	b.WriteString("fleetd is the reference fleet server for roomd: it enrolls devices with activation\ncodes, signs their configuration and serves it over mutual TLS (docs/provisioning.md).\n\ncommands:\n")
	b.WriteString(commandList(cmds))
	b.WriteString("\nglobal flags:\n")
	gfs.SetOutput(&b)
	gfs.PrintDefaults()
	b.WriteString("\nStart a fleet with fleetd init (or fleetd serve in an existing key directory);\nfleetd help COMMAND, or fleetd COMMAND -h, shows a command's flags.\n")
	return b.String()
}

// find returns the command args start with and the arguments after its
// name; the commands whose first word is args[0] when it names a group
// only ("org"); neither when args[0] is no command's.
func find(cmds []command, args []string) (cmd *command, rest []string, group []command) {
	for i := range cmds {
		words := strings.Fields(cmds[i].name)
		if len(args) >= len(words) && strings.Join(args[:len(words)], " ") == cmds[i].name {
			return &cmds[i], args[len(words):], nil
		}
		if words[0] == args[0] {
			group = append(group, cmds[i])
		}
	}
	return nil, nil, group
}

// run runs fleetd's command line. Help and usage errors never open the
// database or the key directory.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := &cli{stdout: stdout, stderr: stderr, cmds: commands(), log: slog.New(slog.NewTextHandler(stderr, nil))}
	gfs := flag.NewFlagSet("fleetd", flag.ContinueOnError)
	gfs.StringVar(&c.dsn, "db", "fleet.db", "the fleet's database: a SQLite file or a postgres:// URL")
	gfs.StringVar(&c.keyDir, "keys", "keys", "the directory of the fleet's CA and signing keys (kept apart from the database)")
	gfs.StringVar(&c.org, "org", "default", "the organisation a new fleet's trust root is made for")
	gfs.SetOutput(stderr)
	gfs.Usage = func() { fmt.Fprint(stderr, mainUsage(gfs, c.cmds)) }
	if err := gfs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage // the flag package printed the error and the usage
	}
	a := gfs.Args()
	if len(a) == 0 {
		return &usageError{msg: "fleetd: no command", usage: mainUsage(gfs, c.cmds)}
	}
	if a[0] == "help" {
		return c.help(gfs, a[1:])
	}
	cmd, rest, group := find(c.cmds, a)
	switch {
	case cmd == nil && len(group) > 0 && len(a) > 1 && isHelpFlag(a[1]):
		fmt.Fprint(stderr, groupUsage(a[0], group))
		return flag.ErrHelp
	case cmd == nil && len(group) > 0:
		return &usageError{msg: fmt.Sprintf("fleetd: %q needs one of its commands", strings.Join(a, " ")), usage: "commands:\n" + commandList(group)}
	case cmd == nil:
		return &usageError{msg: fmt.Sprintf("fleetd: unknown command %q", a[0]), usage: mainUsage(gfs, c.cmds)}
	}
	c.cmd = cmd
	fs := flag.NewFlagSet("fleetd "+cmd.name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, c.usage(cmd, fs)) }
	defer c.close()
	return cmd.run(ctx, c, fs, rest)
}

func isHelpFlag(a string) bool { return a == "-h" || a == "-help" || a == "--help" }

// help prints fleetd's usage, or a command's, on stdout.
func (c *cli) help(gfs *flag.FlagSet, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(c.stdout, mainUsage(gfs, c.cmds))
		return nil
	}
	cmd, _, group := find(c.cmds, args)
	switch {
	case cmd != nil:
		// The command's flags are defined by its run: run it with -h on
		// a flag set that prints to stdout, opening nothing.
		c.cmd = cmd
		fs := flag.NewFlagSet("fleetd "+cmd.name, flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		fs.Usage = func() { fmt.Fprint(c.stdout, c.usage(cmd, fs)) }
		if err := cmd.run(context.Background(), c, fs, []string{"-h"}); !errors.Is(err, flag.ErrHelp) {
			return fmt.Errorf("fleetd: help %s: %v", cmd.name, err) // every command parses its flags first
		}
		return nil
	case len(group) > 0:
		fmt.Fprint(c.stdout, groupUsage(args[0], group))
		return nil
	}
	return &usageError{msg: fmt.Sprintf("fleetd: help: unknown command %q", strings.Join(args, " ")), usage: mainUsage(gfs, c.cmds)}
}

// fleet opens the database and the key directory as the command's state
// use allows, refusing with an error that names the flag when one is
// missing instead of making it.
func (c *cli) fleet(ctx context.Context) (*Fleet, error) {
	if err := checkStatePaths(c.dsn, c.keyDir, c.cmd.state); err != nil {
		return nil, err
	}
	if err := checkDatabaseOfFleet(c.dsn, c.keyDir); err != nil {
		return nil, err
	}
	store, err := openStore(ctx, c.dsn, c.log)
	if err != nil {
		return nil, err
	}
	c.closers = append(c.closers, store.Close)
	keys, err := loadOrCreateKeys(c.keyDir, c.org)
	if err != nil {
		return nil, err
	}
	for _, n := range keys.Notes {
		c.log.Warn(n)
	}
	return &Fleet{Store: store, Keys: keys, Log: c.log}, nil
}

func (c *cli) close() {
	for _, f := range c.closers {
		f()
	}
}

// isPostgres reports whether dsn names a PostgreSQL database rather than
// a SQLite file.
func isPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// checkStatePaths refuses a missing database file or key directory that
// the command may not make, naming the flag to set.
func checkStatePaths(dsn, keyDir string, use stateUse) error {
	if use == noState {
		return nil
	}
	fi, err := os.Stat(keyDir)
	switch {
	case errors.Is(err, fs.ErrNotExist) && use < newState:
		return fmt.Errorf("fleetd: the key directory %s does not exist: give -keys the fleet's key directory, or make a new fleet with fleetd -keys DIR -db FILE init", keyDir)
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("fleetd: key directory (-keys): %w", err)
	case err == nil && !fi.IsDir():
		return fmt.Errorf("fleetd: -keys %s is not a directory: give -keys the fleet's key directory", keyDir)
	}
	if use == existingState && !holdsFleet(keyDir) {
		return fmt.Errorf("fleetd: the key directory %s holds no fleet (no ca.crt or root-N.json): give -keys the directory fleetd init or fleetd serve made", keyDir)
	}
	if isPostgres(dsn) {
		return nil
	}
	if _, err := os.Stat(dsn); errors.Is(err, fs.ErrNotExist) && use < serveState {
		return fmt.Errorf("fleetd: the database %s does not exist: give -db the fleet's SQLite file or postgres:// URL, or make a new fleet with fleetd -keys DIR -db FILE init", dsn)
	}
	return nil
}

// holdsFleet reports whether the key directory holds a fleet's keys.
func holdsFleet(keyDir string) bool {
	if _, err := os.Stat(filepath.Join(keyDir, "ca.crt")); err == nil {
		return true
	}
	roots, _ := filepath.Glob(filepath.Join(keyDir, "root-*.json"))
	return len(roots) > 0
}
