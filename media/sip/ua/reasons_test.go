package ua

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/roomd/roomd/media/call/provider"
)

// TestReasonFor: every final status has a reason a person understands and
// a provider failure class the engine acts on.
func TestReasonFor(t *testing.T) {
	for _, tc := range []struct {
		code   int
		kind   error
		class  error // nil: unclassified, retried with backoff
		reason string
	}{
		{302, ErrRefused, provider.ErrRefused, "redirected"},
		{401, ErrAuth, provider.ErrRefused, "credentials"},
		{403, ErrAuth, provider.ErrRefused, "forbids"},
		{404, ErrNotFound, provider.ErrNotFound, "no one answers"},
		{408, ErrUnreachable, provider.ErrUnreachable, "did not answer in time"},
		{410, ErrNotFound, provider.ErrNotFound, "gone"},
		{420, ErrRefused, provider.ErrRefused, "refused"},
		{480, ErrUnreachable, provider.ErrUnreachable, "unavailable"},
		{484, ErrNotFound, provider.ErrNotFound, "incomplete"},
		{486, ErrBusy, provider.ErrFull, "busy"},
		{488, ErrNotAcceptable, provider.ErrRefused, "no common codec or encryption"},
		{500, ErrServer, nil, "server failed"},
		{502, ErrServer, nil, "server failed"},
		{503, ErrUnreachable, provider.ErrUnreachable, "unavailable"},
		{600, ErrBusy, provider.ErrFull, "busy everywhere"},
		{603, ErrDeclined, provider.ErrRefused, "declined"},
		{604, ErrNotFound, provider.ErrNotFound, "does not exist"},
		{606, ErrNotAcceptable, provider.ErrRefused, "no common codec"},
		{699, ErrRefused, provider.ErrRefused, "everywhere"},
	} {
		t.Run(fmt.Sprint(tc.code), func(t *testing.T) {
			ce := reasonFor(tc.code, "Phrase")
			err := error(ce)
			if !errors.Is(err, tc.kind) || !strings.Contains(ce.Reason, tc.reason) {
				t.Errorf("reasonFor(%d) = %v (%q); want %v saying %q", tc.code, err, ce.Reason, tc.kind, tc.reason)
			}
			classed := Classify(err)
			for _, class := range []error{provider.ErrUnreachable, provider.ErrRefused, provider.ErrNotFound, provider.ErrBadPasscode, provider.ErrFull} {
				if errors.Is(classed, class) != (class == tc.class) {
					t.Errorf("Classify(%d) is %v: %v; want only %v", tc.code, class, errors.Is(classed, class), tc.class)
				}
			}
			if msg := err.Error(); !strings.HasPrefix(msg, "sip: ") || !strings.Contains(msg, fmt.Sprint(tc.code)) {
				t.Errorf("message %q; want sip: prefix and the code", msg)
			}
		})
	}
}

// TestSecretNeverPrints: the password shows in no fmt verb, no slog
// handler, no JSON, and not through a struct that holds it unexported.
func TestSecretNeverPrints(t *testing.T) {
	const pw = "hunter2-secret"
	a := Account{AOR: "sip:room@example.org", Password: NewSecret(pw)}
	type hidden struct{ acct Account }
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("account", "acct", a, "pw", a.Password)
	slog.New(slog.NewTextHandler(&logs, nil)).Info("account", "acct", a, "pw", a.Password)
	js, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	outs := []string{
		fmt.Sprintf("%v %+v %#v %s %q %x", a, a, a, a.Password, a.Password, a.Password),
		fmt.Sprintf("%v %+v %#v", &a, hidden{a}, hidden{a}),
		logs.String(), string(js),
	}
	for _, s := range outs {
		if strings.Contains(s, pw) {
			t.Errorf("the password shows: %s", s)
		}
	}
	if a.Password.Reveal() != pw || a.Password.IsZero() || !(Secret{}).IsZero() {
		t.Error("Reveal/IsZero do not give the secret back")
	}
}

func TestParseInfo(t *testing.T) {
	if !isFastUpdate([]byte(fastUpdateXML)) {
		t.Error("our own picture_fast_update does not parse")
	}
	polycom := `<?xml version="1.0" encoding="utf-8"?><media_control><vc_primitive><to_encoder><picture_fast_update></picture_fast_update></to_encoder><stream_id>1</stream_id></vc_primitive></media_control>`
	if !isFastUpdate([]byte(polycom)) {
		t.Error("a fast update with stream_id does not parse")
	}
	for _, bad := range []string{"", "<media_control/>", "<media_control><vc_primitive><to_encoder/></vc_primitive></media_control>", "<x><picture_fast_update/></x>", "not xml"} {
		if isFastUpdate([]byte(bad)) {
			t.Errorf("isFastUpdate(%q) = true", bad)
		}
	}
	for _, tc := range []struct {
		ct, body string
		digit    rune
		dur      time.Duration
		ok       bool
	}{
		{"application/dtmf-relay", "Signal=5\r\nDuration=160\r\n", '5', 160 * time.Millisecond, true},
		{"application/dtmf-relay", "Signal= #\nDuration=250", '#', 250 * time.Millisecond, true},
		{"application/dtmf-relay", "Signal=10\r\nDuration=100", '*', 100 * time.Millisecond, true},
		{"application/dtmf-relay", "Signal=d", 'D', 0, true},
		{"application/dtmf", "7", '7', 0, true},
		{"application/dtmf-relay", "Signal=X", 0, 0, false},
		{"application/dtmf-relay", "Duration=100", 0, 0, false},
		{"application/dtmf", "", 0, 0, false},
	} {
		d, dur, err := parseDTMF(tc.ct, []byte(tc.body))
		if (err == nil) != tc.ok || d != tc.digit || dur != tc.dur {
			t.Errorf("parseDTMF(%q, %q) = %q, %v, %v; want %q, %v, ok %v", tc.ct, tc.body, d, dur, err, tc.digit, tc.dur, tc.ok)
		}
	}
}

func TestStateStrings(t *testing.T) {
	for v, want := range map[fmt.Stringer]string{
		Unregistered: "Unregistered", Registering: "Registering", Registered: "Registered", Failed: "Failed", RegState(9): "RegState(9)",
		SendRecv: "sendrecv", SendOnly: "sendonly", RecvOnly: "recvonly", Inactive: "inactive", Direction(7): "Direction(7)",
		PolicyOff: "off", PolicyAllowList: "allow-list", PolicyRing: "ring", PolicyKind(5): "PolicyKind(5)",
	} {
		if got := v.String(); got != want {
			t.Errorf("String() = %q; want %q", got, want)
		}
	}
}
