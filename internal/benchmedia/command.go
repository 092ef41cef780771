package benchmedia

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// Table is a benchmark's report: Markdown renders it, naming the command
// that made it.
type Table interface {
	Markdown(command string) string
}

// Main is the body of a benchmark command once its flags are parsed: it
// runs run until it ends or SIGINT or SIGTERM, prints the table on stdout
// and, when doc is set, writes it into that file with update. viaEnv is
// the environment variable in which the Makefile names its target, for
// the record. It returns the exit status.
func Main(prog, viaEnv, doc string, run func(ctx context.Context) (Table, error), update func(path, body string) error) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	rep, err := run(ctx)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", prog, err)
		return 1
	}
	md := rep.Markdown(commandLine(prog, os.Getenv(viaEnv), os.Args[1:]))
	fmt.Println(md)
	if doc != "" {
		if err := update(doc, md); err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", prog, err)
			return 1
		}
		fmt.Fprintf(os.Stderr, "%s: wrote %s\n", prog, doc)
	}
	return 0
}

// commandLine is how a run was started, for the record; via, when set,
// is the make target that ran it.
func commandLine(prog, via string, args []string) string {
	s := strings.Join(append([]string{prog}, args...), " ")
	if via != "" {
		s = via + "` → `" + s
	}
	return s
}
