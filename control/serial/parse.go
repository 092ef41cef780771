package serial

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/roomd/roomd/control"
)

// Errors Parse returns; the texts after them say what was wrong.
var (
	ErrEmpty          = errors.New("empty request")
	ErrUnknownCommand = errors.New("unknown command")
	ErrSyntax         = errors.New("syntax error")
)

// Verb is the first word of a request.
type Verb int

// Verbs.
const (
	XCommand Verb = iota + 1
	XStatus
	XConfiguration
	XFeedback
	XPreferences
	XDocument
	Echo
	Bye
)

var verbNames = [...]string{"", "xCommand", "xStatus", "xConfiguration", "xFeedback", "xPreferences", "xDocument", "echo", "bye"}

func (v Verb) String() string {
	if v > 0 && int(v) < len(verbNames) {
		return verbNames[v]
	}
	return fmt.Sprintf("Verb(%d)", int(v))
}

// maxTag is the longest resultId accepted.
const maxTag = 128

// Request is one parsed request line. Parse checks only the grammar; the
// session checks paths, parameters and values against the schema.
type Request struct {
	Verb Verb
	// Words are the path elements after the verb, as typed; slashes
	// separate elements like spaces. For xFeedback the first word is the
	// sub-command (Register, Deregister, DeregisterAll, List).
	Words    []string
	Args     []control.Arg // xCommand parameters, in the order given
	Value    string        // xConfiguration: the value to write
	Set      bool          // xConfiguration: this is a write
	ResultID string        // the tag of a trailing |resultId="…", "" if none
}

// Parse reads one request line (without its line ending). When the line has
// a well-formed |resultId tag, the returned Request carries it even if the
// rest of the line is wrong, so the error reply can be matched to it; on
// error nothing else is set.
func Parse(line string) (Request, error) {
	r, err := parse(line)
	if err != nil {
		return Request{ResultID: r.ResultID}, err
	}
	return r, nil
}

func parse(line string) (Request, error) {
	var r Request
	if !utf8.ValidString(line) {
		return Request{ResultID: salvageTag(line)}, fmt.Errorf("%w: the request is not valid UTF-8", ErrSyntax)
	}
	if strings.ContainsFunc(line, isControl) {
		return Request{ResultID: salvageTag(line)}, fmt.Errorf("%w: control characters are not allowed in a request", ErrSyntax)
	}
	head, tag, err := splitTag(line)
	if err != nil {
		return r, err
	}
	r.ResultID = tag
	sc := &scanner{s: head}
	w, colon, err := sc.word()
	switch {
	case err != nil:
		return r, err
	case w == "":
		return r, ErrEmpty
	case colon:
		return r, fmt.Errorf("%w: unexpected ':' after %q", ErrSyntax, w)
	}
	if r.Verb = lookupVerb(w); r.Verb == 0 {
		return r, fmt.Errorf("%w %q; requests start with xCommand, xStatus, xConfiguration, xFeedback, xPreferences, xDocument, echo or bye", ErrUnknownCommand, w)
	}
	for !sc.done() {
		w, colon, err := sc.word()
		if err != nil {
			return r, err
		}
		if !colon {
			if len(r.Args) > 0 {
				return r, fmt.Errorf("%w: expected Name: value after the parameters, not %q", ErrSyntax, w)
			}
			r.Words = append(r.Words, splitSlash(w)...)
			continue
		}
		switch r.Verb {
		case XCommand, XDocument: // xDocument's are Cisco's (Format: JSON Path: … Schema: True)
			v, err := sc.value()
			if err != nil {
				return r, fmt.Errorf("%w (parameter %s)", err, w)
			}
			r.Args = append(r.Args, control.Arg{Name: w, Value: v})
		case XConfiguration:
			el := splitSlash(w)
			if len(el) == 0 {
				return r, fmt.Errorf("%w: a configuration path is needed before ':'", ErrSyntax)
			}
			r.Words = append(r.Words, el...)
			if r.Value, err = sc.value(); err != nil {
				return r, err
			}
			r.Set = true
			if !sc.done() {
				return r, fmt.Errorf("%w: unexpected text after the value; put values with spaces in double quotes", ErrSyntax)
			}
		default:
			return r, fmt.Errorf("%w: %s takes no Name: value parameters", ErrSyntax, r.Verb)
		}
	}
	return r, nil
}

func lookupVerb(w string) Verb {
	for v := XCommand; v <= Bye; v++ {
		if strings.EqualFold(w, verbNames[v]) {
			return v
		}
	}
	return 0
}

// splitSlash splits a word into path elements at slashes, and an element
// written Cisco's way with an index, Receive[1], into Receive and 1.
func splitSlash(w string) []string {
	var out []string
	for _, e := range strings.FieldsFunc(w, func(r rune) bool { return r == '/' }) {
		out = append(out, splitIndex(e)...)
	}
	return out
}

// splitIndex cuts "Name[N]" (N digits, Name without brackets) into Name
// and N; anything else is one element.
func splitIndex(e string) []string {
	open := strings.IndexByte(e, '[')
	if open <= 0 || !strings.HasSuffix(e, "]") || strings.ContainsAny(e[:open], "[]") {
		return []string{e}
	}
	n := e[open+1 : len(e)-1]
	if n == "" || strings.Trim(n, "0123456789") != "" {
		return []string{e}
	}
	return []string{e[:open], n}
}

func isControl(c rune) bool { return c != '\t' && unicode.IsControl(c) }

// salvageTag returns the tag of a line that is refused as a whole (bad
// UTF-8, control characters), so that the error still comes back tagged:
// the tag must itself be well-formed, valid UTF-8 and free of control
// characters, since the reply repeats it. Otherwise it returns "".
func salvageTag(line string) string {
	_, tag, err := splitTag(line)
	if err != nil || !utf8.ValidString(tag) || strings.ContainsFunc(tag, isControl) {
		return ""
	}
	return tag
}

// trailingTag returns the well-formed |resultId tag that ends s, the kept
// end of a line too long to read whole (whose quotes cannot be followed
// from its start), or "" if there is none: it tries each '|' from the
// right until the rest reads as a tag.
func trailingTag(s string) string {
	for i := strings.LastIndexByte(s, '|'); i >= 0; i = strings.LastIndexByte(s[:i], '|') {
		if tag, err := parseTag(s[i+1:]); err == nil {
			if !utf8.ValidString(tag) || strings.ContainsFunc(tag, isControl) {
				return ""
			}
			return tag
		}
	}
	return ""
}

// splitTag cuts a trailing |resultId="tag" off line.
func splitTag(line string) (head, tag string, err error) {
	inQuote := false
	for i := 0; i < len(line); i++ {
		switch c := line[i]; {
		case inQuote && c == '\\':
			i++
		case c == '"':
			inQuote = !inQuote
		case !inQuote && c == '|':
			tag, err := parseTag(line[i+1:])
			return line[:i], tag, err
		}
	}
	return line, "", nil
}

func parseTag(s string) (string, error) {
	bad := fmt.Errorf(`%w: after '|' only resultId="tag" may follow`, ErrSyntax)
	s = strings.TrimLeft(s, " \t")
	const key = "resultid"
	if len(s) < len(key) || !strings.EqualFold(s[:len(key)], key) {
		return "", bad
	}
	s = strings.TrimLeft(s[len(key):], " \t")
	if !strings.HasPrefix(s, "=") {
		return "", bad
	}
	s = strings.TrimLeft(s[1:], " \t")
	var tag string
	if strings.HasPrefix(s, `"`) {
		end := strings.IndexByte(s[1:], '"')
		if end < 0 {
			return "", fmt.Errorf("%w: the resultId has no closing quote", ErrSyntax)
		}
		tag, s = s[1:1+end], s[2+end:]
	} else {
		end := strings.IndexAny(s, " \t")
		if end < 0 {
			end = len(s)
		}
		tag, s = s[:end], s[end:]
	}
	if strings.Trim(s, " \t") != "" {
		return "", bad
	}
	if tag == "" || len(tag) > maxTag || strings.ContainsAny(tag, "\"\\\t") {
		return "", fmt.Errorf(`%w: a resultId is 1 to %d characters without '"' or '\'`, ErrSyntax, maxTag)
	}
	return tag, nil
}

// scanner reads words and values from a request.
type scanner struct {
	s string
	i int
}

func (sc *scanner) skip() {
	for sc.i < len(sc.s) && (sc.s[sc.i] == ' ' || sc.s[sc.i] == '\t') {
		sc.i++
	}
}

func (sc *scanner) done() bool { sc.skip(); return sc.i >= len(sc.s) }

// word reads a bare word; colon reports a ':' right after it.
func (sc *scanner) word() (w string, colon bool, err error) {
	sc.skip()
	start := sc.i
	for sc.i < len(sc.s) && !strings.ContainsRune(" \t:\"", rune(sc.s[sc.i])) {
		sc.i++
	}
	w = sc.s[start:sc.i]
	if sc.i < len(sc.s) {
		switch sc.s[sc.i] {
		case ':':
			sc.i++
			if w == "" {
				return "", false, fmt.Errorf("%w: ':' needs a name before it", ErrSyntax)
			}
			return w, true, nil
		case '"':
			return "", false, fmt.Errorf("%w: unexpected '\"'; quotes go around values, as in Name: \"a value\"", ErrSyntax)
		}
	}
	return w, false, nil
}

// value reads a value: a bare word (which may hold ':') or a double-quoted
// string in which \" and \\ stand for " and \.
func (sc *scanner) value() (string, error) {
	sc.skip()
	if sc.i >= len(sc.s) {
		return "", fmt.Errorf("%w: a value is missing after ':'", ErrSyntax)
	}
	if sc.s[sc.i] != '"' {
		start := sc.i
		for sc.i < len(sc.s) && !strings.ContainsRune(" \t\"", rune(sc.s[sc.i])) {
			sc.i++
		}
		if sc.i < len(sc.s) && sc.s[sc.i] == '"' {
			return "", fmt.Errorf("%w: unexpected '\"' inside a value; quote the whole value", ErrSyntax)
		}
		return sc.s[start:sc.i], nil
	}
	var b strings.Builder
	for sc.i++; sc.i < len(sc.s); sc.i++ {
		c := sc.s[sc.i]
		switch {
		case c == '\\' && sc.i+1 < len(sc.s) && (sc.s[sc.i+1] == '"' || sc.s[sc.i+1] == '\\'):
			sc.i++
			b.WriteByte(sc.s[sc.i])
		case c == '"':
			sc.i++
			if sc.i < len(sc.s) && sc.s[sc.i] != ' ' && sc.s[sc.i] != '\t' {
				return "", fmt.Errorf("%w: a space must follow the closing quote", ErrSyntax)
			}
			return b.String(), nil
		default:
			b.WriteByte(c)
		}
	}
	return "", fmt.Errorf("%w: a quoted value has no closing quote", ErrSyntax)
}

// String renders the request so that Parse reads it back unchanged.
func (r Request) String() string {
	var b strings.Builder
	b.WriteString(r.Verb.String())
	words := r.Words
	switch {
	case r.Verb == XFeedback && len(words) > 0:
		b.WriteString(" " + words[0])
		if len(words) > 1 {
			b.WriteString(" /" + strings.Join(words[1:], "/"))
		}
	case r.Verb == XConfiguration && r.Set && len(words) > 0:
		for _, w := range words[:len(words)-1] {
			b.WriteString(" " + w)
		}
		b.WriteString(" " + words[len(words)-1] + ": " + quoteValue(r.Value))
	default:
		for _, w := range words {
			b.WriteString(" " + w)
		}
	}
	for _, a := range r.Args {
		b.WriteString(" " + a.Name + ": " + quoteValue(a.Value))
	}
	if r.ResultID != "" {
		b.WriteString(` |resultId="` + r.ResultID + `"`)
	}
	return b.String()
}

// quoteValue writes v bare when that reads back the same, quoted otherwise.
func quoteValue(v string) string {
	if v != "" && !strings.ContainsAny(v, " \t\"|\\") {
		return v
	}
	return quote(v)
}

// quote writes v in double quotes, escaping '"' and '\'.
func quote(v string) string {
	if !strings.ContainsAny(v, `"\`) {
		return `"` + v + `"`
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(v); i++ {
		if v[i] == '"' || v[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(v[i])
	}
	b.WriteByte('"')
	return b.String()
}
