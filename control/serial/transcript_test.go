package serial_test

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/roomd/roomd/control/serial"
	"github.com/roomd/roomd/room"
)

var update = flag.Bool("update", false, "rewrite the expected output in testdata/*.txt from what the server says")

// A transcript (testdata/*.txt) is a conversation with one session.
//
//	# comment; blank lines are ignored
//	!login 1234          serve with RequireLogin and this PIN (before any I/O)
//	!transport socket    talk over the Unix socket instead of a pseudo-terminal
//	!setting unmute anyone   start the room with non-default settings
//	> text               send text and a CR
//	>q "text\r\n"        send these bytes exactly (Go string syntax)
//	!do button mute      the room gets a command from another source
//	!report switch on    the room gets a device report (see act: switch,
//	                     connected, media, temperature, hardware, schedule,
//	                     ended, incoming, gone, registration)
//	!advance 30s         move the lockout clock on
//	!eol lf              from here on lines end in LF (Cisco's dialect)
//	<q "PIN: "           expect exactly these bytes
//	any other line       expect this line and CRLF (or LF after !eol lf)
//
// All expected output up to an action must arrive before the action runs;
// after the last line nothing more may arrive.
func TestTranscripts(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no transcripts: %v", err)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".txt"), func(t *testing.T) { runTranscript(t, f) })
	}
}

type transcript struct {
	t      *testing.T
	room   *room.Room
	clock  *fakeClock
	in     io.Writer
	out    *stream
	expect []byte
	eol    string // how the session ends lines: "\r\n", or "\n" after !eol lf
}

func runTranscript(t *testing.T, file string) {
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")

	// Set-up directives come first.
	opts := serial.Options{SoftwareVersion: testVersion}
	transport := "pty"
	settings := room.DefaultSettings()
	body := 0
	for ; body < len(lines); body++ {
		l := lines[body]
		f := strings.Fields(l)
		switch {
		case l == "" || strings.HasPrefix(l, "#"):
		case len(f) == 2 && f[0] == "!login":
			opts.RequireLogin, opts.PINHash = true, pinHash(t, f[1])
		case len(f) == 2 && f[0] == "!transport":
			transport = f[1]
		case len(f) == 3 && f[0] == "!setting" && f[1] == "unmute" && f[2] == "anyone":
			settings.Unmute = room.UnmuteAnyone
		default:
			goto run
		}
	}
run:
	tr := &transcript{t: t, clock: newClock(), eol: "\r\n"}
	tr.room = startRoom(t, &settings)
	opts.Now = tr.clock.Now
	srv, err := serial.NewServer(tr.room, opts)
	if err != nil {
		t.Fatal(err)
	}
	switch transport {
	case "pty":
		line, master := ptyLine(t)
		serveLine(t, srv, line)
		tr.in, tr.out = master, newStream(master)
	case "socket":
		c := dialRaw(t, listen(t, srv))
		tr.in, tr.out = c, newStream(c)
	default:
		t.Fatalf("unknown transport %q", transport)
	}

	var rewritten []string
	rewritten = append(rewritten, lines[:body]...)
	for i, l := range lines[body:] {
		lineNo := body + i + 1
		switch {
		case l == "" || strings.HasPrefix(l, "#"):
			rewritten = append(rewritten, l)
		case strings.HasPrefix(l, "<q "):
			b, err := strconv.Unquote(strings.TrimPrefix(l, "<q "))
			if err != nil {
				t.Fatalf("%s:%d: %v", file, lineNo, err)
			}
			tr.expect = append(tr.expect, b...)
		case strings.HasPrefix(l, ">") || strings.HasPrefix(l, "!"):
			if *update {
				rewritten = append(rewritten, formatOutput(tr.out.drain(300*time.Millisecond), tr.eol)...)
			} else {
				tr.check(file, lineNo)
			}
			rewritten = append(rewritten, l)
			if err := tr.act(l); err != nil {
				t.Fatalf("%s:%d: %v", file, lineNo, err)
			}
		default:
			tr.expect = append(tr.expect, l+tr.eol...)
		}
	}
	if *update {
		rewritten = append(rewritten, formatOutput(tr.out.drain(300*time.Millisecond), tr.eol)...)
		if err := os.WriteFile(file, []byte(strings.Join(rewritten, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	tr.check(file, len(lines))
	if extra := tr.out.drain(150 * time.Millisecond); len(extra) > 0 {
		t.Errorf("%s: unexpected output after the transcript:\n%s", file, strings.Join(formatOutput(extra, tr.eol), "\n"))
	}
}

// check waits for the expected output so far and compares it.
func (tr *transcript) check(file string, lineNo int) {
	tr.t.Helper()
	if len(tr.expect) == 0 {
		return
	}
	got, err := tr.out.take(len(tr.expect), waitOutput)
	if !bytes.Equal(got, tr.expect) {
		tr.t.Fatalf("%s: output before line %d differs (%v)\n--- got:\n%s\n--- want:\n%s", file, lineNo, err,
			strings.Join(formatOutput(got, tr.eol), "\n"), strings.Join(formatOutput(tr.expect, tr.eol), "\n"))
	}
	tr.expect = nil
}

func (tr *transcript) act(l string) error {
	t := tr.t
	switch {
	case strings.HasPrefix(l, ">q "):
		b, err := strconv.Unquote(strings.TrimPrefix(l, ">q "))
		if err != nil {
			return err
		}
		_, err = io.WriteString(tr.in, b)
		return err
	case strings.HasPrefix(l, "> "), l == ">":
		_, err := io.WriteString(tr.in, strings.TrimPrefix(strings.TrimPrefix(l, ">"), " ")+"\r")
		return err
	}
	f := strings.Fields(l)
	switch f[0] {
	case "!do":
		if len(f) < 3 {
			return fmt.Errorf("!do <source> <action> [argument]")
		}
		kinds := map[string]room.SourceKind{"button": room.FromButton, "panel": room.FromPanel, "remote": room.FromRemote, "system": room.FromSystem}
		kind, ok := kinds[f[1]]
		if !ok {
			return fmt.Errorf("unknown source %q", f[1])
		}
		arg := ""
		if len(f) > 3 {
			arg = f[3]
		}
		var a room.Action
		switch f[2] {
		case "mute":
			a = room.SetMicMute{Mute: true}
		case "unmute":
			a = room.SetMicMute{Mute: false}
		case "volume":
			n, _ := strconv.Atoi(arg)
			a = room.SetVolume{Level: n}
		case "join":
			a = room.Join{Meeting: room.Meeting{ID: "m-1", URI: arg}}
		case "leave":
			a = room.Leave{}
		case "accept":
			a = room.AcceptIncoming{ID: arg}
		case "decline":
			a = room.DeclineIncoming{ID: arg}
		default:
			return fmt.Errorf("unknown action %q", f[2])
		}
		return tr.room.Do(context.Background(), room.Command{From: room.Source{Kind: kind, ID: "test"}, Do: a})
	case "!report":
		switch {
		case len(f) == 3 && f[1] == "switch":
			tr.room.Report(room.MicSwitchChanged{Engaged: f[2] == "on"})
		case len(f) == 2 && f[1] == "connected":
			tr.room.Report(room.CallReported{Seq: tr.room.Snapshot().CallSeq, State: room.InCall})
		case len(f) == 2 && f[1] == "ended":
			tr.room.Report(room.CallReported{Seq: tr.room.Snapshot().CallSeq, State: room.Idle})
		case len(f) == 2 && f[1] == "media":
			tr.room.Report(room.MediaReported{Seq: tr.room.Snapshot().CallSeq, Media: room.CallMedia{
				Protocol: "Janus", Encryption: "DTLS-SRTP",
				Participants: 2, TargetBitrate: 1_500_000, SendBitrate: 1_200_000, RecvBitrate: 2_100_000,
				LossPercent: 0.4, RTTMillis: 38, SendFPS: 30, Width: 1280, Height: 720,
				Received: []room.ReceivedVideo{
					{Participant: "Alice (Oslo)#4711", Width: 1280, Height: 720, FPS: 30, Bitrate: 1_800_000},
					{Participant: "bob#12", Width: 320, Height: 180, FPS: 15, Bitrate: 300_000},
				},
			}})
		case len(f) == 4 && f[1] == "temperature":
			v, _ := strconv.ParseFloat(f[2], 64)
			h, _ := strconv.ParseFloat(f[3], 64)
			tr.room.Report(room.EnvReported{Env: room.Environment{Temperature: v, HaveTemperature: true, Humidity: h, HaveHumidity: true}})
		case len(f) == 5 && f[1] == "hardware":
			tr.room.Report(room.HardwareReported{Devices: []room.Device{{Name: f[2], Kind: f[3], State: f[4]}}})
		case len(f) == 5 && f[1] == "schedule":
			start, err := time.Parse(time.RFC3339, f[4])
			if err != nil {
				return err
			}
			tr.room.Report(room.ScheduleReported{Next: []room.Meeting{{ID: f[2], Title: f[3], URI: "https://meet.example/" + f[2], Start: start, End: start.Add(30 * time.Minute)}}})
		case len(f) == 2 && f[1] == "noschedule":
			tr.room.Report(room.ScheduleReported{})
		case len(f) >= 4 && f[1] == "incoming": // !report incoming ID FROM [DISPLAY NAME…]
			tr.room.Report(room.IncomingCallReported{ID: f[2], From: f[3], Display: strings.Join(f[4:], " ")})
		case len(f) == 3 && f[1] == "gone":
			tr.room.Report(room.IncomingCallGone{ID: f[2], Reason: "the caller hung up"})
		case len(f) >= 3 && f[1] == "registration": // !report registration STATUS [URI [REASON…]]
			rep := room.SIPRegistrationReported{Status: f[2]}
			if len(f) > 3 {
				rep.URI, rep.Reason = f[3], strings.Join(f[4:], " ")
			}
			tr.room.Report(rep)
		default:
			return fmt.Errorf("unknown report %q", l)
		}
		syncRoom(t, tr.room)
		return nil
	case "!eol":
		if len(f) != 2 || f[1] != "lf" {
			return fmt.Errorf("!eol lf")
		}
		tr.eol = "\n"
		return nil
	case "!advance":
		d, err := time.ParseDuration(f[1])
		if err != nil {
			return err
		}
		tr.clock.Advance(d)
		return nil
	}
	return fmt.Errorf("unknown directive %q", l)
}

// formatOutput writes server output as transcript lines: plain lines (ending
// in eol) where they read back unambiguously, <q "…"> otherwise.
func formatOutput(b []byte, eol string) []string {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Split(func(data []byte, atEOF bool) (int, []byte, error) {
		if i := bytes.Index(data, []byte(eol)); i >= 0 {
			return i + len(eol), data[:i+len(eol)], nil
		}
		if atEOF && len(data) > 0 {
			return len(data), data, nil
		}
		return 0, nil, nil
	})
	for sc.Scan() {
		seg := sc.Text()
		line, complete := strings.CutSuffix(seg, eol)
		plain := complete && line != "" && !strings.ContainsFunc(line, unicode.IsControl) &&
			!strings.HasPrefix(line, ">") && !strings.HasPrefix(line, "!") && !strings.HasPrefix(line, "#") && !strings.HasPrefix(line, "<q ")
		if plain {
			out = append(out, line)
		} else {
			out = append(out, "<q "+strconv.Quote(seg))
		}
	}
	return out
}
