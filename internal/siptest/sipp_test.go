package siptest_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/roomd/roomd/internal/siptest"
)

// optionsScenario sends one OPTIONS per call and wants a 200.
const optionsScenario = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="options">
  <send retrans="500">
    <![CDATA[
OPTIONS sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:sipp@[local_ip]:[local_port]>;tag=[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: 1 OPTIONS
Max-Forwards: 70
Content-Length: 0

    ]]>
  </send>
  <recv response="200"/>
</scenario>
`

// sipp's OPTIONS and its built-in INVITE scenario (uac) against an
// auto-answering baresip: every call succeeds. The same OPTIONS at a port
// where nothing listens fails, so the check can fail.
func TestSippAgainstBaresip(t *testing.T) {
	b := siptest.StartBaresip(t, &siptest.Options{User: "sippee", AutoAnswer: true, NoVideo: true})
	target := fmt.Sprintf("127.0.0.1:%d", b.Port)

	res := siptest.RunSipp(t, siptest.SippRun{Target: target, Scenario: optionsScenario, Service: b.User, Calls: 5, Rate: 50})
	if res.ExitCode != 0 || res.Successful() != 5 {
		t.Errorf("OPTIONS: exit %d, %d successful of 5\n%s\n%s", res.ExitCode, res.Successful(), res.Output, res.ErrorLog)
	}
	t.Logf("5 OPTIONS in %v", res.Duration)

	res = siptest.RunSipp(t, siptest.SippRun{Target: target, Builtin: "uac", Service: b.User, Calls: 2, Rate: 2, Limit: 1})
	if res.ExitCode != 0 || res.Successful() != 2 {
		t.Errorf("INVITE: exit %d, %d successful of 2\n%s\n%s", res.ExitCode, res.Successful(), res.Output, res.ErrorLog)
	}
	for i := 0; i < 2; i++ {
		if ev := b.Expect(5*time.Second, siptest.EventCallEstablished); ev.Direction != "incoming" {
			t.Errorf("call %d: %v", i, ev)
		}
	}

	nobody := siptest.FreeSIPPort(t, 1)
	res = siptest.RunSipp(t, siptest.SippRun{Target: fmt.Sprintf("127.0.0.1:%d", nobody), Scenario: optionsScenario, Timeout: 2 * time.Second})
	if res.ExitCode == 0 || res.Successful() > 0 {
		t.Errorf("OPTIONS to a closed port: exit %d, %d successful; want a failure", res.ExitCode, res.Successful())
	}
}

// SendRaw gets baresip's answer to a request and nothing for garbage.
func TestSendRawToBaresip(t *testing.T) {
	b := siptest.StartBaresip(t, &siptest.Options{User: "raw", NoVideo: true})
	addr := fmt.Sprintf("127.0.0.1:%d", b.Port)
	req := "OPTIONS sip:raw@" + addr + " SIP/2.0\r\nVia: SIP/2.0/UDP " + siptest.LocalAddrMark + ";branch=z9hG4bK-raw1;rport\r\n" +
		"From: <sip:x@127.0.0.1>;tag=1\r\nTo: <sip:raw@" + addr + ">\r\nCall-ID: raw-1\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
	for _, network := range []string{"udp", "tcp"} {
		r := strings.NewReplacer("UDP", strings.ToUpper(network), "raw1", "raw-"+network, "raw-1", "raw-"+network).Replace(req)
		got, err := siptest.SendRaw(network, addr, []byte(r), 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(got), "SIP/2.0 200") {
			t.Errorf("%s OPTIONS answered %q", network, got)
		}
	}
	got, err := siptest.SendRaw("udp", addr, []byte("\x00\xffINVITE garbage\r\n\r\n"), 300*time.Millisecond)
	if err != nil || len(got) != 0 {
		t.Errorf("garbage answered %q, %v", got, err)
	}
	if !b.Running() {
		t.Error("baresip died of a malformed datagram")
	}
}
