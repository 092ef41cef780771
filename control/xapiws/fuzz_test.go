package xapiws

import (
	"encoding/json"
	"strings"
	"testing"
)

// FuzzLineValue: whatever a client sends as a value, what reaches the
// console's line is one value: no line end, no other control character,
// and a quoted string reads back as the client's string.
func FuzzLineValue(f *testing.F) {
	for _, s := range []string{`30`, `-1.5`, `true`, `"a value"`, `"with \"quotes\" and \\"`, `"30\nxCommand Audio Microphones Unmute"`, `"\u0000"`, `[1,2]`, `{"a":1}`, `null`, `"|resultId=\"x\""`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		v, err := lineValue(raw)
		if err != nil {
			return
		}
		if strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			t.Fatalf("lineValue(%q) = %q holds a control character", raw, v)
		}
		var s string
		if json.Unmarshal(raw, &s) == nil {
			if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
				t.Fatalf("string %q written unquoted: %q", raw, v)
			}
			back := strings.NewReplacer(`\\`, `\`, `\"`, `"`).Replace(v[1 : len(v)-1])
			if back != s {
				t.Fatalf("string %q reads back as %q", s, back)
			}
		}
	})
}

// FuzzPathPart: a path element that is accepted is a name of letters,
// digits and _ or a number, so a path cannot carry a space, quote, | or
// line end into the console.
func FuzzPathPart(f *testing.F) {
	for _, s := range []string{`"Audio"`, `2`, `"2"`, `"Audio Volume"`, `"a|b"`, `"x\ny"`, `-1`, `1.5`, `""`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var p pathPart
		if p.UnmarshalJSON(raw) != nil {
			return
		}
		w := p.String()
		if w == "" || strings.Trim(w, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") != "" {
			t.Fatalf("path element %q accepted as %q", raw, w)
		}
	})
}
