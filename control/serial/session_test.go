package serial_test

import (
	"strings"
	"testing"

	"github.com/roomd/roomd/control/serial"
)

// A line too long to run still answers with its resultId, which is kept
// from the line's end even when the limit falls inside the tag, and even
// when the line's quotes cannot be followed from its start.
func TestLongLineKeepsTag(t *testing.T) {
	r := startRoom(t, nil)
	line, master := ptyLine(t)
	serveLine(t, newServer(t, r, serial.Options{MaxLineLength: 200}), line)
	lr := lineReader{t, newStream(master)}
	send(t, master, "echo off\r")
	lr.expectLines("echo off", "** end", "OK")
	refused := "ERROR: the line is longer than 200 bytes; nothing was done"

	long := "xCommand Audio Volume Set Level: 90" + strings.Repeat(" ", 1000)
	send(t, master, long+`|resultId="long-1"`+"\r")
	lr.expectLines(`** resultId: "long-1"`, "** end", refused)

	// The limit (200) falls inside the tag.
	head := "xStatus Audio Volume" + strings.Repeat(" ", 190-len("xStatus Audio Volume"))
	tag := strings.Repeat("t", 128)
	send(t, master, head+` | resultId = "`+tag+`"`+"\r")
	lr.expectLines(`** resultId: "`+tag+`"`, "** end", refused)

	// A quote opened before the kept end, and a fake tag inside it.
	send(t, master, `xCommand Call Join Title: "`+strings.Repeat("x", 400)+` |resultId=fake" |resultId=real`+"\r")
	lr.expectLines(`** resultId: "real"`, "** end", refused)

	// No tag, a malformed tag, a tag with a bad byte: no resultId line.
	for _, end := range []string{"", ` |resultId=""`, " |resultId=\"a\xffb\""} {
		send(t, master, long+end+"\r")
		lr.expectLines("** end", refused)
	}

	// The session goes on, and the next line's reply carries no old tag.
	send(t, master, "xStatus Audio Volume\r")
	lr.expectLines("*s Audio Volume: 50", "** end", "OK")
}
