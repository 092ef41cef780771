// Command roomctl talks to roomd's control console over its local Unix
// socket, in the same protocol as the serial port (docs/serial-protocol.md).
//
//	roomctl xStatus Audio                 run one request, print its reply
//	roomctl xCommand Call Join Uri: https://meet.example/abc
//	roomctl 'xCommand Call Join Uri: "janus+ws://127.0.0.1:8188/?room=1234"'
//	roomctl -json xStatus Call            the reply as one JSON object
//	roomctl                               interactive: type requests, bye to leave
//	roomctl help                          the usage and the console's requests (also -h)
//
// The exit status is 0 for OK, 1 for an ERROR reply and 2 when roomd could
// not be reached or the arguments are wrong.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/roomd/roomd/control/consoleclient"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("roomctl", flag.ContinueOnError)
	fs.SetOutput(stderr)
	socket := fs.String("socket", "/run/roomd/control.sock", "roomd's control socket")
	jsonOut := fs.Bool("json", false, "print replies as one JSON object per line")
	timeout := fs.Duration("timeout", 20*time.Second, "how long to wait for a reply")
	fs.Usage = func() { printUsage(fs, stderr) }
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() == 1 && fs.Arg(0) == "help" {
		printUsage(fs, stdout)
		return 0
	}
	c, err := consoleclient.Dial(*socket)
	if err != nil {
		fmt.Fprintf(stderr, "roomctl: %v\n", err)
		return 2
	}
	defer c.Close()
	if *jsonOut {
		if _, err := c.Exec(ctx, "xPreferences OutputMode JSON"); err != nil {
			fmt.Fprintf(stderr, "roomctl: %v\n", err)
			return 2
		}
	}
	if fs.NArg() == 0 {
		if err := c.Bridge(ctx, stdin, stdout); err != nil {
			fmt.Fprintf(stderr, "roomctl: %v\n", err)
			return 2
		}
		return 0
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	lines, err := c.Exec(ctx, requestLine(fs.Args()))
	for _, l := range lines {
		fmt.Fprintln(stdout, l)
	}
	var re *consoleclient.ReplyError
	switch {
	case errors.As(err, &re):
		return 1
	case err != nil:
		fmt.Fprintf(stderr, "roomctl: %v\n", err)
		return 2
	}
	return 0
}

// usage is roomctl's usage before its flags: what it does and the
// console's requests (docs/serial-protocol.md has their grammar).
const usage = `usage: roomctl [-socket PATH] [-json] [-timeout 20s] [request …]
       roomctl help

With a request, roomctl runs it on roomd's control console and prints the
reply; without one, it reads requests from stdin (bye or Ctrl-D to leave).
Exit status: 0 for OK, 1 for an ERROR reply, 2 when roomd could not be
reached or the arguments are wrong.

requests (docs/serial-protocol.md):
  xStatus [PATH]                         read status: roomctl xStatus Audio Volume
  xCommand PATH [NAME: VALUE …]          run a command: roomctl xCommand Call Join Uri: https://meet.example/abc
  xConfiguration [PATH]                  read settings; xConfiguration PATH: VALUE changes one
  xFeedback Register|Deregister PATH     follow changes (interactive); xFeedback List|DeregisterAll
  xPreferences OutputMode Terminal|JSON  reply format (or -json); xPreferences Dialect Cisco|roomd
  xDocument Schema                       every status, command and configuration path
  echo on|off, bye                       session (interactive)

A value with spaces is quoted again for you: roomctl xCommand Call Join Uri: … Title: "Weekly sync".

flags:
`

func printUsage(fs *flag.FlagSet, w io.Writer) {
	fmt.Fprint(w, usage)
	fs.SetOutput(w)
	fs.PrintDefaults()
}

// requestLine joins arguments into one request, putting back the quotes the
// shell took off: `Title: "Weekly sync"` arrives as two words, "Title:" and
// "Weekly sync", and `Title:"Weekly sync"` as one, "Title:Weekly sync".
func requestLine(args []string) string {
	// One argument is a whole request line, quoted as the console expects:
	// roomctl 'xCommand Call Join Uri: "janus+ws://…?room=1234"'.
	if len(args) == 1 {
		return args[0]
	}
	out := make([]string, len(args))
	for i, a := range args {
		switch {
		case a != "" && !strings.ContainsAny(a, " \t"):
			out[i] = a
		case isName(a):
			out[i] = a
		default:
			if name, value, ok := strings.Cut(a, ":"); ok && isName(name+":") {
				out[i] = name + ":" + quote(value)
			} else {
				out[i] = quote(a)
			}
		}
	}
	return strings.Join(out, " ")
}

// isName reports whether a is a parameter name with its colon, like "Uri:".
func isName(a string) bool {
	name, ok := strings.CutSuffix(a, ":")
	return ok && name != "" && !strings.ContainsAny(name, " \t:\"|")
}

func quote(v string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(v) + `"`
}
