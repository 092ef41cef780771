package room

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/roomd/roomd/internal/testtool"
)

func TestActionString(t *testing.T) {
	edit := func(s Settings) (Settings, error) { s.VolumeStep = 10; return s, nil }
	for _, tc := range []struct {
		a       Action
		want    string
		without []string
	}{
		{a: SetVolume{Level: 40}, want: "SetVolume{Level:40}"},
		{a: ToggleMicMute{}, want: "ToggleMicMute{}"},
		{a: SetMicMute{Mute: true}, want: "SetMicMute{Mute:true}"},
		{a: EditSettings{Edit: edit, What: "xConfiguration Audio VolumeStep: 10"}, want: `EditSettings{Edit:func What:"xConfiguration Audio VolumeStep: 10"}`, without: []string{"0x"}},
		{a: EditSettings{}, want: `EditSettings{Edit:nil What:""}`},
		{a: Enroll{Code: "1234-5678-9012-3456"}, want: "Enroll{Code:<redacted>}", without: []string{"1234"}},
		{a: SendDTMF{Digits: "98765#"}, want: "SendDTMF{Digits:<redacted>}", without: []string{"98765"}},
		{a: Join{Meeting: Meeting{ID: "m1", URI: "sip:room@example.com", Passcode: "s3cret"}, Replace: true}, want: "Join{Meeting:{ID:m1", without: []string{"s3cret"}},
		{a: ChangeSettings{Settings: Settings{Name: "Fjord"}}, want: "ChangeSettings{Settings:{Name:Fjord"},
		{a: nil, want: "<nil>"},
	} {
		got := ActionString(tc.a)
		if !strings.HasPrefix(got, tc.want) {
			t.Errorf("ActionString(%T) = %s, want %s", tc.a, got, tc.want)
		}
		for _, w := range tc.without {
			if strings.Contains(got, w) {
				t.Errorf("ActionString(%T) = %s holds %q", tc.a, got, w)
			}
		}
	}
}

// TestCommandLogIsReadable: the room logs a settings edit by name and what
// it changes, never as a function pointer, and an activation code not at all.
func TestCommandLogIsReadable(t *testing.T) {
	var logs testtool.LockedBuffer
	r := runRoomWith(t, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	ctx := context.Background()
	edit := EditSettings{What: "volume step 10", Edit: func(s Settings) (Settings, error) { s.VolumeStep = 10; return s, nil }}
	if err := r.Do(ctx, Command{From: panel, Do: edit}); err != nil {
		t.Fatal(err)
	}
	bad := EditSettings{What: "volume step 99", Edit: func(s Settings) (Settings, error) { s.VolumeStep = 99; return s, nil }}
	if err := r.Do(ctx, Command{From: panel, Do: bad}); err == nil {
		t.Fatal("a volume step of 99 was accepted")
	}
	r.Do(ctx, Command{From: panel, Do: Enroll{Code: "1234-5678-9012-3456"}})
	out := logs.String()
	for _, want := range []string{`action="EditSettings{Edit:func What:\"volume step 10\"}"`, `msg="room: command refused"`, `volume step 99`, `Enroll{Code:<redacted>}`} {
		if !strings.Contains(out, want) {
			t.Errorf("the log lacks %s:\n%s", want, out)
		}
	}
	for _, bad := range []string{"0x", "1234-5678"} {
		if strings.Contains(out, bad) {
			t.Errorf("the log holds %q:\n%s", bad, out)
		}
	}
}
