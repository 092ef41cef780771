package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestHelp: roomd help, -h and --help list the subcommands, the
// configuration file (no search path), the checks and the flags and exit
// 0 without starting anything; a subcommand's -h shows its flags; an
// unknown argument exits 2 with the help.
func TestHelp(t *testing.T) {
	subcommands := []string{"check-config FILE", "hash-pin", "panel-tokens", "reseed-root", "version", "help"}
	want := append([]string{"usage: roomd", "--config", "/etc/roomd/roomd.toml", "searches nowhere else", "--sim", "$STATE_DIRECTORY",
		"xStatus Hardware", "-state-dir", "-log-level", "-panel-listen"}, subcommands...)
	for _, tc := range []struct {
		args     []string
		code     int
		toStdout bool
		want     []string
	}{
		{args: []string{"help"}, toStdout: true, want: want},
		{args: []string{"-h"}, want: want},
		{args: []string{"--help"}, want: want},
		{args: []string{"bogus"}, code: 2, want: append([]string{`unknown subcommand or argument "bogus"`}, subcommands...)},
		{args: []string{"check-config", "-h"}, toStdout: true, want: []string{"usage: roomd check-config FILE"}},
		{args: []string{"panel-tokens", "-h"}, want: []string{"usage: roomd panel-tokens", "-state-dir", "-config"}},
		{args: []string{"reseed-root", "--help"}, want: []string{"usage: roomd reseed-root", "ROOTFILE", "-state-dir"}},
	} {
		var out, errb bytes.Buffer
		code := run(tc.args, strings.NewReader(""), &out, &errb)
		if code != tc.code {
			t.Errorf("roomd %v: exit %d, want %d\n%s%s", tc.args, code, tc.code, out.String(), errb.String())
		}
		got := errb.String()
		if tc.toStdout {
			got = out.String()
		}
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("roomd %v: help lacks %q:\n%s", tc.args, w, got)
			}
		}
	}
}
