package benchmedia

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/roomd/roomd/systemd"
)

// servicePath is the PATH systemd gives a service.
const servicePath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin"

// unitFiles are roomd.service and the image's drop-in for it, in the
// order systemd applies them.
var unitFiles = []string{"roomd.service", "roomd-image.conf"}

// unitEnvironment is the environment roomd.service gives roomd on the
// device: systemd's PATH and the Environment= assignments of the unit and
// its drop-in (the glibc arena and mmap settings among them), and nothing
// from the shell that started the benchmark.
func unitEnvironment() ([]string, error) {
	env := []string{servicePath}
	for _, name := range unitFiles {
		unit, err := systemd.Files.ReadFile(name)
		if errors.Is(err, fs.ErrNotExist) && name != unitFiles[0] {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("benchmedia: %w", err)
		}
		e, err := parseUnitEnvironment(unit)
		if err != nil {
			return nil, err
		}
		env = append(env, e...)
	}
	return env, nil
}

// parseUnitEnvironment returns the assignments of a unit's Environment=
// lines in order, with systemd's quoting: words split at spaces, "…" and
// '…' quote, a backslash escapes the next character.
func parseUnitEnvironment(unit []byte) ([]string, error) {
	var env []string
	sc := bufio.NewScanner(bytes.NewReader(unit))
	for sc.Scan() {
		v, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "Environment=")
		if !ok {
			continue
		}
		words, err := unitWords(v)
		if err != nil {
			return nil, fmt.Errorf("benchmedia: roomd.service: Environment=%s: %w", v, err)
		}
		for _, w := range words {
			if !strings.Contains(w, "=") {
				return nil, fmt.Errorf("benchmedia: roomd.service: Environment= word %q is not NAME=value", w)
			}
			env = append(env, w)
		}
	}
	return env, sc.Err()
}

func unitWords(s string) ([]string, error) {
	var words []string
	var w strings.Builder
	in, quote, esc := false, rune(0), false
	for _, r := range s {
		switch {
		case esc:
			w.WriteRune(r)
			esc, in = false, true
		case r == '\\':
			esc = true
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			w.WriteRune(r)
		case r == '"' || r == '\'':
			quote, in = r, true
		case r == ' ' || r == '\t':
			if in {
				words = append(words, w.String())
				w.Reset()
				in = false
			}
		default:
			w.WriteRune(r)
			in = true
		}
	}
	if quote != 0 || esc {
		return nil, fmt.Errorf("unterminated quote or escape")
	}
	if in {
		words = append(words, w.String())
	}
	return words, nil
}

// memoryFile is a path for a file in memory (/dev/shm when there is one,
// else the harness's temporary directory), removed with the harness: the
// stand-in for a framebuffer's memory.
func memoryFile(h *harness, name string) string {
	dir := h.TempDir()
	if d, err := os.MkdirTemp("/dev/shm", "bench-media-"); err == nil {
		h.Cleanup(func() { os.RemoveAll(d) })
		dir = d
	}
	return dir + "/" + name
}
