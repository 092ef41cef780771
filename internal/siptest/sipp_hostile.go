package siptest

import (
	"embed"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// hostileFiles are the requests of HostileRequests, one per file: a few
// "# key: value" lines, then the request in sipp's message syntax.
//
//go:embed testdata/hostile/*.sip
var hostileFiles embed.FS

// Outcomes of a hostile request besides a final status code.
const (
	// Dropped: nothing came back within the probe's wait.
	Dropped = 0
	// Rang: the target answered 180 or 183, i.e. the room rang; the probe
	// then cancelled the call.
	Rang = 1
)

// HostileRequest is a malformed, abusive or oversized request for sipp to
// send at a SIP endpoint, from testdata/hostile.
type HostileRequest struct {
	// Name is the file's name without .sip.
	Name string
	// About is the file's comment: what the request is and what RFC 3261
	// wants back.
	About string
	// Method is the request's method (from its start line).
	Method string
	// Transports are the transports to send it over ("udp", "tcp").
	Transports []string
	// Want are the acceptable outcomes: status codes, Dropped, Rang.
	Want []int
	// Message is the request in sipp's syntax ([service], [len]...).
	Message string
}

// Allows says whether outcome is one of h.Want.
func (h HostileRequest) Allows(outcome int) bool { return slices.Contains(h.Want, outcome) }

// HostileRequests returns the hostile requests of testdata/hostile, by
// name.
func HostileRequests() ([]HostileRequest, error) {
	entries, err := hostileFiles.ReadDir("testdata/hostile")
	if err != nil {
		return nil, fmt.Errorf("siptest: %w", err)
	}
	var out []HostileRequest
	for _, e := range entries {
		data, err := hostileFiles.ReadFile(path.Join("testdata/hostile", e.Name()))
		if err != nil {
			return nil, fmt.Errorf("siptest: %w", err)
		}
		h, err := parseHostile(strings.TrimSuffix(e.Name(), ".sip"), string(data))
		if err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, nil
}

// repeatMark is {{repeat TEXT N}}: TEXT (with \n and \t escapes) N times.
var repeatMark = regexp.MustCompile(`\{\{repeat (.+?) (\d+)\}\}`)

func parseHostile(name, data string) (HostileRequest, error) {
	h := HostileRequest{Name: name}
	var about []string
	lines := strings.SplitAfter(data, "\n")
	i := 0
	for ; i < len(lines) && strings.HasPrefix(lines[i], "#"); i++ {
		l := strings.TrimSpace(strings.TrimPrefix(lines[i], "#"))
		switch key, val, _ := strings.Cut(l, ":"); key {
		case "want":
			for _, w := range strings.Fields(val) {
				switch w {
				case "drop":
					h.Want = append(h.Want, Dropped)
				case "ring":
					h.Want = append(h.Want, Rang)
				default:
					code, err := strconv.Atoi(w)
					if err != nil || code < 200 || code > 699 {
						return h, fmt.Errorf("siptest: %s: want %q is not drop, ring or a final status code", name, w)
					}
					h.Want = append(h.Want, code)
				}
			}
		case "transports":
			h.Transports = strings.Fields(val)
		default:
			about = append(about, l)
		}
	}
	h.About = strings.Join(about, " ")
	h.Message = repeatMark.ReplaceAllStringFunc(strings.Join(lines[i:], ""), func(m string) string {
		sub := repeatMark.FindStringSubmatch(m)
		n, _ := strconv.Atoi(sub[2])
		return strings.Repeat(strings.NewReplacer(`\n`, "\n", `\t`, "\t").Replace(sub[1]), n)
	})
	h.Method, _, _ = strings.Cut(h.Message, " ")
	if len(h.Want) == 0 || len(h.Transports) == 0 || h.Method == "" {
		return h, fmt.Errorf("siptest: %s needs '# want:' and '# transports:' lines and a request", name)
	}
	return h, nil
}

// probeBranch replaces [branch] so that the probe's ACK and CANCEL can
// name the request's transaction.
const probeBranch = "z9hG4bK-[pid]-[call_number]-hostile"

// finalCodes are the final responses a probe scenario waits for; a 2xx is
// not among them, so sipp counts one as an unexpected message, a failure.
const finalCodes = "300 301 302 380 400 401 403 404 405 406 407 408 410 413 414 415 416 420 " +
	"421 480 481 482 483 484 485 486 487 488 491 493 500 501 502 503 504 505 513 600 603 604 606"

// scenario is the sipp scenario that sends h once and waits up to wait
// for a final answer: ACKed for an INVITE, and a ringing INVITE
// cancelled.
func (h HostileRequest) scenario(wait time.Duration) string {
	msg := foldMarks(strings.ReplaceAll(h.Message, "[branch]", probeBranch))
	var b strings.Builder
	fmt.Fprintf(&b, "<?xml version=\"1.0\" encoding=\"ISO-8859-1\" ?>\n<scenario name=\"hostile %s\">\n", h.Name)
	// sipp refuses a variable referenced once; these keep both in use.
	b.WriteString("<Global variables=\"sp,tab\"/>\n<nop><action><assignstr assign_to=\"sp\" value=\"[$sp]\"/><assignstr assign_to=\"tab\" value=\"[$tab]\"/></action></nop>\n")
	fmt.Fprintf(&b, "<send><![CDATA[\n%s\n]]></send>\n", msg)
	// sipp waits at the first receive, so the wait goes there; nothing
	// answers 999, and anything else is an unexpected message.
	fmt.Fprintf(&b, "<recv response=\"100\" optional=\"true\" timeout=\"%d\" ontimeout=\"end\"/>\n", wait.Milliseconds())
	if h.Method == "INVITE" {
		b.WriteString("<recv response=\"180\" optional=\"true\" next=\"rang\"/>\n<recv response=\"183\" optional=\"true\" next=\"rang\"/>\n")
	}
	for _, c := range strings.Fields(finalCodes) {
		fmt.Fprintf(&b, "<recv response=\"%s\" optional=\"true\" next=\"final\"/>\n", c)
	}
	b.WriteString("<recv response=\"999\"/>\n")
	if h.Method == "INVITE" {
		fmt.Fprintf(&b, "<label id=\"rang\"/>\n<send><![CDATA[\n%s\n]]></send>\n", inDialog(msg, "CANCEL", false))
		b.WriteString("<recv response=\"200\"/>\n<recv response=\"487\"/>\n")
		fmt.Fprintf(&b, "<label id=\"final\"/>\n<send><![CDATA[\n%s\n]]></send>\n", inDialog(msg, "ACK", true))
	} else {
		b.WriteString("<label id=\"rang\"/>\n<label id=\"final\"/>\n")
	}
	b.WriteString("<label id=\"end\"/>\n</scenario>\n")
	return b.String()
}

// foldMarks writes the leading blanks of msg's lines, which sipp strips,
// as variables sipp fills in after (SendHostile sets them): header
// folding (RFC 3261 7.3.1) reaches the far end as written.
func foldMarks(msg string) string {
	lines := strings.Split(msg, "\n")
	for i, l := range lines {
		rest := strings.TrimLeft(l, " \t")
		lead := strings.NewReplacer(" ", "[$sp]", "\t", "[$tab]").Replace(l[:len(l)-len(rest)])
		lines[i] = lead + rest
	}
	return strings.Join(lines, "\n")
}

// inDialog derives the CANCEL or ACK of the INVITE msg: its request line
// and its Via, From, To, Call-ID (the To tag of the answer for an ACK)
// and CSeq number, no body.
func inDialog(msg, method string, toTag bool) string {
	head, _, _ := strings.Cut(msg, "\n\n")
	var out []string
	for i, l := range strings.Split(head, "\n") {
		name, _, _ := strings.Cut(l, ":")
		switch {
		case i == 0:
			out = append(out, method+strings.TrimPrefix(l, "INVITE"))
		case strings.EqualFold(name, "To") && toTag:
			out = append(out, l+"[peer_tag_param]")
		case strings.EqualFold(name, "CSeq"):
			out = append(out, "CSeq: 1 "+method)
		case slices.ContainsFunc([]string{"Via", "From", "To", "Call-ID", "Max-Forwards"}, func(h string) bool { return strings.EqualFold(name, h) }):
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n") + "\nContent-Length: 0\n"
}

// HostileResult is how the target answered one hostile request.
type HostileResult struct {
	// Outcome is the final status code of the answer to the request;
	// Rang when it rang (and was cancelled, 487); else Dropped.
	Outcome int
	// Sipp is the whole run; Sipp.Responses is everything that came back.
	Sipp SippResult
}

// SendHostile has sipp send h once over transport from local (an address
// of 127.0.0.0/8, so that each probe can come from its own source; empty
// means 127.0.0.1) to target, and reports what came back within wait.
// Under -short it skips t.
func SendHostile(t testing.TB, target, transport, local string, h HostileRequest, wait time.Duration) HostileResult {
	t.Helper()
	res := RunSipp(t, SippRun{Target: target, Transport: transport, Local: local, Service: "room",
		Scenario: h.scenario(wait), Timeout: wait + 5*time.Second, Trace: true, Vars: map[string]string{"sp": " ", "tab": "\t"}})
	return HostileResult{Outcome: outcome(h.Method, res.Responses), Sipp: res}
}

// outcome reads the answer to a request of method from responses (as
// SippResult.Responses has them); one to the probe's CANCEL or ACK does
// not count, one without CSeq (or with the request's own wrong CSeq)
// does.
func outcome(method string, responses []string) int {
	rang := false
	for _, r := range responses {
		line, cseq, _ := strings.Cut(r, " | CSeq: ")
		if f := strings.Fields(cseq); len(f) == 2 && !strings.EqualFold(f[1], method) && (f[1] == "CANCEL" || f[1] == "ACK") {
			continue // to the probe's own CANCEL or ACK
		}
		rest, _ := strings.CutPrefix(line, "SIP/2.0 ")
		code, err := strconv.Atoi(rest[:min(3, len(rest))])
		switch {
		case err != nil || code < 180:
		case code < 200:
			rang = true
		case code == 487 && rang:
			return Rang
		default:
			return code
		}
	}
	if rang {
		return Rang
	}
	return Dropped
}
