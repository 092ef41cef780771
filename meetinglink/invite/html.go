package invite

import (
	"html"
	"strings"
)

// MaxText is the most of one field (LOCATION, DESCRIPTION, the HTML body)
// that is read; the rest is ignored. Invitations are a few KiB.
const MaxText = 256 << 10

// blockTags end a line of text: an invitation's lines ("Meeting ID:
// …") are paragraphs, divs or table rows in Outlook's HTML body.
var blockTags = map[string]bool{
	"br": true, "p": true, "div": true, "tr": true, "td": true, "th": true, "li": true,
	"table": true, "h1": true, "h2": true, "h3": true, "h4": true, "h5": true, "h6": true,
	"hr": true, "ul": true, "ol": true, "blockquote": true, "pre": true, "title": true,
}

// skippedTags have content that is not text.
var skippedTags = map[string]bool{"script": true, "style": true, "head": true}

// Text turns an HTML body (the X-ALT-DESC;FMTTYPE=text/html that Outlook
// sends) into plain text: tags are dropped (block elements end a line),
// a link's href is kept beside its text, script, style and comments are
// dropped, and entities are decoded. It reads at most MaxText bytes in one
// pass, so hostile markup costs linear time.
func Text(body string) string {
	if len(body) > MaxText {
		body = body[:MaxText]
	}
	lower := asciiLower(body)
	var b strings.Builder
	b.Grow(len(body) / 2)
	text := func(s string) { b.WriteString(html.UnescapeString(s)) }
	i := 0
	for i < len(body) {
		lt := strings.IndexByte(body[i:], '<')
		if lt < 0 {
			text(body[i:])
			break
		}
		text(body[i : i+lt])
		i += lt
		if strings.HasPrefix(body[i:], "<!--") {
			end := strings.Index(body[i+4:], "-->")
			if end < 0 {
				break
			}
			i += 4 + end + 3
			continue
		}
		gt := strings.IndexByte(body[i:], '>')
		if gt < 0 {
			break // an unclosed tag: the rest is markup
		}
		tagAt := i + 1
		tag := lower[tagAt : i+gt]
		i += gt + 1
		name, attrs := tagName(tag)
		switch {
		case skippedTags[name] && !strings.HasPrefix(tag, "/"):
			end := strings.Index(lower[i:], "</"+name)
			if end < 0 {
				i = len(body)
				break
			}
			i += end
		case blockTags[strings.TrimPrefix(name, "/")]:
			b.WriteByte('\n')
		case name == "a":
			// The href is where Outlook keeps a Teams or Zoom link whose
			// text says only "Join the meeting". tag is lower-cased, so
			// the value is read from the original at the same offset.
			if h := attr(attrs, "href"); h.ok {
				start := tagAt + len(tag) - len(attrs) + h.at
				b.WriteString(" " + html.UnescapeString(body[start:start+h.n]) + " ")
			}
		}
	}
	return strings.ReplaceAll(b.String(), "\u00a0", " ")
}

// tagName splits "a href=…" into "a" and " href=…".
func tagName(tag string) (name, attrs string) {
	end := strings.IndexAny(tag, " \t\r\n/")
	if end == 0 && strings.HasPrefix(tag, "/") { // a closing tag
		end = strings.IndexAny(tag[1:], " \t\r\n")
		if end < 0 {
			return tag, ""
		}
		return tag[:end+1], tag[end+1:]
	}
	if end < 0 {
		return tag, ""
	}
	return tag[:end], tag[end:]
}

type span struct {
	at, n int
	ok    bool
}

// attr finds name="value" (or 'value', or a bare value) in a tag's
// attributes and returns where the value is in attrs.
func attr(attrs, name string) span {
	for off := 0; off < len(attrs); {
		k := strings.Index(attrs[off:], name)
		if k < 0 {
			return span{}
		}
		k += off
		off = k + len(name)
		if k > 0 && !strings.ContainsRune(" \t\r\n", rune(attrs[k-1])) {
			continue
		}
		rest := strings.TrimLeft(attrs[off:], " \t\r\n")
		if !strings.HasPrefix(rest, "=") {
			continue
		}
		rest = strings.TrimLeft(rest[1:], " \t\r\n")
		at := len(attrs) - len(rest)
		if rest == "" {
			return span{}
		}
		if q := rest[0]; q == '"' || q == '\'' {
			end := strings.IndexByte(rest[1:], q)
			if end < 0 {
				return span{}
			}
			return span{at: at + 1, n: end, ok: true}
		}
		end := strings.IndexAny(rest, " \t\r\n")
		if end < 0 {
			end = len(rest)
		}
		return span{at: at, n: end, ok: true}
	}
	return span{}
}

// asciiLower lower-cases ASCII letters only, so that offsets into the
// result are offsets into s.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
