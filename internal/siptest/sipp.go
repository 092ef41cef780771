package siptest

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/roomd/roomd/internal/testtool"
)

// SippRun describes one sipp run against Target.
type SippRun struct {
	// Target is host:port of the SIP endpoint under test.
	Target string
	// Scenario is a scenario XML (sipp's format, see `sipp -sd uac`); empty
	// means the built-in scenario named by Builtin.
	Scenario string
	// Builtin is one of sipp's embedded scenarios ("uac", "uas",
	// "uac_pcap", "regexp", "branchc", "branchs", "3pcc-*"); used when
	// Scenario is empty. Empty means "uac".
	Builtin string
	// Service is the user part of the request URI (sipp's -s); empty means
	// "service".
	Service string
	// Transport is "udp" (empty), "tcp" or "tls".
	Transport string
	// Calls stops after this many calls (-m); 0 means 1.
	Calls int
	// Rate is calls started per second (-r); 0 means 10.
	Rate float64
	// Limit caps simultaneous calls (-l); 0 means sipp's default.
	Limit int
	// Timeout ends the run (-timeout, counted as failure); 0 means 30 s.
	Timeout time.Duration
	// Vars are set with -set name value (the scenario's [$name]).
	Vars map[string]string
	// Args are extra sipp arguments.
	Args []string
	// Binary is the sipp executable; empty means "sipp" from PATH.
	Binary string
	// Local is the address sipp sends from (-i); empty means 127.0.0.1.
	// Any address of 127.0.0.0/8 works on Linux, so each run can be a
	// source of its own to a per-source rate limit.
	Local string
	// Trace keeps what sipp received (-trace_msg) for SippResult.Responses.
	Trace bool
}

// SippResult is how a sipp run ended.
type SippResult struct {
	// ExitCode is sipp's: 0 all calls succeeded, 1 at least one failed, 97
	// internal exit, 99 no call processed, 255/254 fatal (binding).
	ExitCode int
	// Stats is the last row of sipp's statistics file, keyed by column
	// (e.g. "SuccessfulCall(C)", "FailedCall(C)", "TotalCallCreated").
	Stats map[string]string
	// Output is what sipp printed; ErrorLog is its -trace_err file.
	Output, ErrorLog string
	// Duration is how long sipp ran.
	Duration time.Duration
	// Responses are the responses sipp received (with Trace), in order,
	// as their start line and CSeq: "SIP/2.0 400 Bad Request | CSeq: 1
	// INVITE"; answers sipp could not match to a call (no Call-ID) are
	// among them.
	Responses []string
}

// Count returns a cumulative statistic such as "SuccessfulCall" (the "(C)"
// column), or -1 when sipp did not report it.
func (r SippResult) Count(name string) int {
	v, ok := r.Stats[name+"(C)"]
	if !ok {
		v, ok = r.Stats[name]
	}
	if !ok {
		return -1
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return -1
	}
	return n
}

// Successful is the number of calls that ended as the scenario expects.
func (r SippResult) Successful() int { return r.Count("SuccessfulCall") }

// Failed is the number of calls that did not.
func (r SippResult) Failed() int { return r.Count("FailedCall") }

// RunSipp runs sipp to the end and returns its result; it fails t only when
// sipp is missing or cannot be started (a failed scenario is a result, for
// the test to judge). Under -short it skips t first.
func RunSipp(t testing.TB, run SippRun) SippResult {
	t.Helper()
	testtool.SkipInShortMode(t, "sipp")
	return runSipp(t, run)
}

func runSipp(t testing.TB, run SippRun) SippResult {
	t.Helper()
	path := lookTool(t, run.Binary, "sipp", "sip-tester", "Debian's SIPp 3.6")
	dir := shortTempDir(t, "sipp-")
	local := run.Local
	if local == "" {
		local = "127.0.0.1"
	}
	args := []string{run.Target, "-nostdin", "-i", local, "-bind_local",
		"-trace_stat", "-stf", filepath.Join(dir, "stats.csv"), "-fd", "1",
		"-trace_err", "-error_file", filepath.Join(dir, "errors.log")}
	if run.Scenario != "" {
		sf := filepath.Join(dir, "scenario.xml")
		if err := os.WriteFile(sf, []byte(run.Scenario), 0o644); err != nil {
			t.Fatalf("siptest: %v", err)
		}
		args = append(args, "-sf", sf)
	} else {
		builtin := run.Builtin
		if builtin == "" {
			builtin = "uac"
		}
		args = append(args, "-sn", builtin)
	}
	if run.Service != "" {
		args = append(args, "-s", run.Service)
	}
	switch run.Transport {
	case "", "udp":
		args = append(args, "-t", "u1")
	case "tcp":
		args = append(args, "-t", "t1")
	case "tls":
		args = append(args, "-t", "l1")
	default:
		t.Fatalf("siptest: sipp transport %q; want udp, tcp or tls", run.Transport)
	}
	calls, rate, timeout := run.Calls, run.Rate, run.Timeout
	if calls == 0 {
		calls = 1
	}
	if rate == 0 {
		rate = 10
	}
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	args = append(args, "-m", strconv.Itoa(calls), "-r", strconv.FormatFloat(rate, 'f', -1, 64),
		"-timeout", fmt.Sprintf("%dms", timeout.Milliseconds()), "-timeout_error")
	if run.Limit > 0 {
		args = append(args, "-l", strconv.Itoa(run.Limit))
	}
	for k, v := range run.Vars {
		args = append(args, "-set", k, v)
	}
	if run.Trace {
		args = append(args, "-trace_msg", "-message_file", filepath.Join(dir, "messages.log"))
	}
	args = append(args, run.Args...)

	ctx, cancel := context.WithTimeout(context.Background(), timeout+10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Dir = dir
	cmd.SysProcAttr = procAttr()
	var out testtool.LockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	begin := time.Now()
	err := cmd.Run()
	res := SippResult{Output: out.String(), Duration: time.Since(begin)}
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		res.ExitCode = exit.ExitCode()
	default:
		t.Fatalf("siptest: running sipp: %v\n%s", err, res.Output)
	}
	if data, err := os.ReadFile(filepath.Join(dir, "errors.log")); err == nil {
		res.ErrorLog = string(data)
	}
	res.Stats = lastStatsRow(filepath.Join(dir, "stats.csv"))
	if run.Trace {
		msgs, _ := os.ReadFile(filepath.Join(dir, "messages.log"))
		res.Responses = append(responses(string(msgs)), responses(res.ErrorLog)...)
	}
	return res
}

// lastStatsRow reads sipp's ';'-separated statistics file.
func lastStatsRow(path string) map[string]string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.Comma = ';'
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	if err != nil || len(rows) < 2 {
		return nil
	}
	head, last := rows[0], rows[len(rows)-1]
	stats := make(map[string]string, len(head))
	for i, k := range head {
		if i < len(last) && k != "" {
			stats[k] = last[i]
		}
	}
	return stats
}

// statusLine finds responses in sipp's message trace and error log: a
// start line at the beginning of a line or quoted in an error message.
var statusLine = regexp.MustCompile(`(?m)(?:^|')SIP/2\.0 \d{3}[^\r\n]*`)

// responses lists the responses in a sipp log with the CSeq that follows
// each.
func responses(log string) []string {
	found := statusLine.FindAllStringIndex(log, -1)
	out := make([]string, 0, len(found))
	for i, f := range found {
		end := len(log)
		if i+1 < len(found) {
			end = found[i+1][0]
		}
		line := strings.TrimPrefix(log[f[0]:f[1]], "'")
		if _, after, ok := strings.Cut(log[f[1]:end], "\nCSeq:"); ok {
			cseq, _, _ := strings.Cut(after, "\n")
			line += " | CSeq: " + strings.TrimSpace(cseq)
		}
		out = append(out, line)
	}
	return out
}

// LocalAddrMark in SendRaw's data is replaced by the sending socket's
// host:port, for Via and Contact headers that the far end answers to.
const LocalAddrMark = "{{local}}"

// SendRaw sends data as one datagram ("udp") or over a fresh connection
// ("tcp") to addr, and returns whatever comes back within wait (nil when
// nothing does: the far end dropped it). For malformed requests sipp cannot
// write.
func SendRaw(network, addr string, data []byte, wait time.Duration) ([]byte, error) {
	c, err := net.DialTimeout(network, addr, 2*time.Second)
	if err != nil {
		return nil, fmt.Errorf("siptest: %w", err)
	}
	defer c.Close()
	data = bytes.ReplaceAll(data, []byte(LocalAddrMark), []byte(c.LocalAddr().String()))
	_ = c.SetDeadline(time.Now().Add(wait + 2*time.Second))
	if _, err := c.Write(data); err != nil {
		return nil, fmt.Errorf("siptest: sending %d bytes: %w", len(data), err)
	}
	_ = c.SetReadDeadline(time.Now().Add(wait))
	buf := make([]byte, 64*1024)
	n, err := c.Read(buf)
	if n > 0 {
		return buf[:n], nil
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		return nil, fmt.Errorf("siptest: nothing listens on %s %s: %w", network, addr, err)
	}
	// Silence, or a connection the far end closed or reset: no answer.
	return nil, nil
}
