//go:build imagetest

package imagetest

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// need returns a host tool's path. Under CI a missing tool fails the test:
// CI must install it (make setup-image), not silently skip the boot tests.
func need(t *testing.T, tool string) string {
	t.Helper()
	p, err := exec.LookPath(tool)
	if err != nil {
		msg := fmt.Sprintf("%s not found: run `make setup-image` (it installs Debian's image and emulation tools)", tool)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return p
}

func needFile(t *testing.T, path, hint string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		msg := fmt.Sprintf("%s: %v (%s)", path, err, hint)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
}

// console is a serial line to the guest through a qemu chardev socket. All
// that arrives is kept, so expectations can look back from a mark.
type console struct {
	name string
	conn net.Conn
	log  io.Writer

	mu   sync.Mutex
	buf  []byte
	more chan struct{} // closed and replaced whenever data arrives
	err  error
}

func dialConsole(t *testing.T, name, sock string, log io.Writer) *console {
	t.Helper()
	var conn net.Conn
	var err error
	for i := 0; i < 100; i++ {
		if conn, err = net.Dial("unix", sock); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("%s: connecting to qemu's %s: %v", name, sock, err)
	}
	c := &console{name: name, conn: conn, log: log, more: make(chan struct{})}
	go c.read()
	return c
}

func (c *console) read() {
	b := make([]byte, 4096)
	for {
		n, err := c.conn.Read(b)
		c.mu.Lock()
		if n > 0 {
			c.buf = append(c.buf, b[:n]...)
			c.log.Write(b[:n])
		}
		if err != nil {
			c.err = err
		}
		close(c.more)
		c.more = make(chan struct{})
		c.mu.Unlock()
		if err != nil {
			return
		}
	}
}

// mark is where the next expectation starts looking.
func (c *console) mark() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.buf)
}

// expect waits for re in what arrived after from; it returns the match and
// the offset after it.
func (c *console) expect(t *testing.T, from int, re *regexp.Regexp, timeout time.Duration) ([]string, int) {
	t.Helper()
	m, end, err := c.wait(from, re, timeout)
	if err != nil {
		t.Fatalf("%s: %v", c.name, err)
	}
	return m, end
}

func (c *console) wait(from int, re *regexp.Regexp, timeout time.Duration) ([]string, int, error) {
	deadline := time.After(timeout)
	for {
		c.mu.Lock()
		text := c.buf[from:]
		loc := re.FindSubmatchIndex(text)
		more, err := c.more, c.err
		if loc != nil {
			var m []string
			for i := 0; i < len(loc); i += 2 {
				if loc[i] >= 0 {
					m = append(m, string(text[loc[i]:loc[i+1]]))
				} else {
					m = append(m, "")
				}
			}
			c.mu.Unlock()
			return m, from + loc[1], nil
		}
		tail := string(text[max(0, len(text)-600):])
		c.mu.Unlock()
		if err != nil {
			return nil, 0, fmt.Errorf("waiting for %q: the line closed (%v); last output:\n%s", re, err, tail)
		}
		select {
		case <-more:
		case <-deadline:
			return nil, 0, fmt.Errorf("no %q within %s; last output:\n%s", re, timeout, tail)
		}
	}
}

func (c *console) send(t *testing.T, s string) {
	t.Helper()
	if _, err := c.conn.Write([]byte(s)); err != nil {
		t.Fatalf("%s: writing: %v", c.name, err)
	}
}

// vm is one qemu-system-aarch64 run of an image (reboots stay in it).
type vm struct {
	t       *testing.T
	cmd     *exec.Cmd
	con     *console // the UART: U-Boot, the kernel and (test images) a root shell
	usb     *console // the emulated USB serial adapter: roomd's serial console
	seq     int
	exited  chan error
	logFile *os.File
}

type vmOptions struct {
	image  string   // disk image, booted by U-Boot from its first partition
	extra  []string // more qemu arguments (a second disk)
	logDir string
}

func startVM(t *testing.T, o vmOptions) *vm {
	t.Helper()
	qemu := need(t, "qemu-system-aarch64")
	bios := "/usr/lib/u-boot/qemu_arm64/u-boot.bin"
	needFile(t, bios, "Debian's u-boot-qemu")
	dir, err := os.MkdirTemp("", "roomd-vm-") // short: unix socket paths are limited
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	args := []string{
		// acpi=off: with firmware (U-Boot) and ACPI, qemu's virt machine
		// has a GED power button instead of the PL061 GPIO chip.
		"-M", "virt,acpi=off", "-cpu", "max,pauth-impdef=on", "-smp", "2", "-m", "1024",
		"-display", "none", "-monitor", "none",
		// A network card on qemu's user-mode stack with nothing beyond it
		// (restrict=on): roomd's WebRTC agent needs a non-loopback address
		// to call the relay on the guest's own loopback. romfile= skips
		// the PXE ROM Debian's qemu lacks.
		"-netdev", "user,id=n0,restrict=on", "-device", "virtio-net-pci,netdev=n0,romfile=",
		"-bios", bios,
		"-drive", "if=none,id=hd0,file=" + o.image + ",format=raw",
		"-device", "virtio-blk-pci,drive=hd0",
		"-chardev", "socket,id=con,path=" + dir + "/con.sock,server=on,wait=on",
		"-serial", "chardev:con",
		"-device", "qemu-xhci",
		"-chardev", "socket,id=us,path=" + dir + "/usb.sock,server=on,wait=off",
		"-device", "usb-serial,chardev=us,always-plugged=on",
		"-device", "i6300esb",
	}
	args = append(args, o.extra...)
	logf, err := os.Create(filepath.Join(o.logDir, "console.log"))
	if err != nil {
		t.Fatal(err)
	}
	usbLog, err := os.Create(filepath.Join(o.logDir, "usb-serial.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(qemu, args...)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	v := &vm{t: t, cmd: cmd, exited: make(chan error, 1), logFile: logf}
	go func() { v.exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-v.exited
		logf.Close()
		usbLog.Close()
		if s := stderr.String(); s != "" {
			t.Logf("qemu: %s", s)
		}
	})
	v.con = dialConsole(t, "console", dir+"/con.sock", logf)
	v.usb = dialConsole(t, "usb serial", dir+"/usb.sock", usbLog)
	return v
}

// login waits for the root shell the test image starts on the UART and
// makes it quiet: no echo, no prompt, no kernel messages.
func (v *vm) login(from int, timeout time.Duration) {
	t := v.t
	t.Helper()
	v.con.expect(t, from, regexp.MustCompile(`(root@roomd:~# |bash-[0-9.]+# )`), timeout)
	v.con.send(t, "stty -echo; PS1=''; PS2=''; export SYSTEMD_PAGER= SYSTEMD_COLORS=0 PAGER=cat; dmesg -n 1\n")
	v.sh("true")
}

// sh runs a shell command in the guest and returns its output and status.
func (v *vm) sh(cmd string) (string, int) {
	t := v.t
	t.Helper()
	out, code, err := v.trySh(cmd, 3*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return out, code
}

func (v *vm) trySh(cmd string, timeout time.Duration) (string, int, error) {
	v.seq++
	begin, end := fmt.Sprintf("__B%d__", v.seq), fmt.Sprintf("__E%d__", v.seq)
	from := v.con.mark()
	// The markers are printed by printf, so the command's echo (if any)
	// never matches them.
	line := fmt.Sprintf("printf '__%%s%d__\\n' B; ( %s ) 2>&1; printf '__%%s%d__ %%d\\n' E $?\n", v.seq, cmd, v.seq)
	if _, err := v.con.conn.Write([]byte(line)); err != nil {
		return "", 0, err
	}
	re := regexp.MustCompile(regexp.QuoteMeta(begin) + `\r?\n((?s:.*?))` + regexp.QuoteMeta(end) + ` (\d+)`)
	m, _, err := v.con.wait(from, re, timeout)
	if err != nil {
		return "", 0, fmt.Errorf("guest command %q: %w", cmd, err)
	}
	code, _ := strconv.Atoi(m[2])
	return strings.ReplaceAll(m[1], "\r", ""), code, nil
}

// must runs a command that has to succeed.
func (v *vm) must(cmd string) string {
	v.t.Helper()
	out, code := v.sh(cmd)
	if code != 0 {
		v.t.Fatalf("guest: %s: exit %d\n%s", cmd, code, out)
	}
	return out
}

// poll runs cmd until ok accepts its output, or fails the test after timeout.
func (v *vm) poll(cmd string, timeout time.Duration, ok func(out string, code int) bool) string {
	v.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		out, code := v.sh(cmd)
		if ok(out, code) {
			return out
		}
		if time.Now().After(deadline) {
			v.t.Fatalf("guest: %s: not as expected within %s; last (exit %d):\n%s", cmd, timeout, code, out)
		}
		time.Sleep(2 * time.Second)
	}
}

// lines reads the output of a command run on the host.
func host(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func scanLines(s string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}
