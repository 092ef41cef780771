package serial

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/roomd/roomd/control"
	"github.com/roomd/roomd/room"
)

// reply is what one request answers or one feedback push carries, before
// it is rendered for the session's output mode.
type reply struct {
	status    []control.Change // *s
	hasStatus bool             // a status reply, even when no leaf matched
	config    []control.Leaf   // *c
	hasConfig bool
	result    string // *r name of a command's result; "" when no command was identified
	feedback  []string
	hasFeeds  bool
	schema    *control.Document
	events    []room.Event // *e, canonical names from the schema
	resultID  string
	err       error
	xpath     string // Cisco's dialect: the path an unknown-path error points at
	push      bool   // feedback: no OK/ERROR line
}

// reason makes an error fit on one line.
func reason(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}

func leafValue(l control.Leaf) string {
	if l.Kind.Quoted() {
		return quote(l.Value)
	}
	return l.Value
}

// terminal renders r as xAPI terminal lines (without line endings).
func (r *reply) terminal() []string {
	var out []string
	for _, c := range r.status {
		if c.Gone {
			out = append(out, "*s "+c.Path.String()+" (ghost=True):")
			continue
		}
		out = append(out, "*s "+c.Path.String()+": "+leafValue(c.Leaf))
	}
	for _, l := range r.config {
		out = append(out, "*c xConfiguration "+l.Path.String()+": "+leafValue(l))
	}
	if r.result != "" {
		if r.err == nil {
			out = append(out, "*r "+r.result+" (status=OK):")
		} else {
			out = append(out, "*r "+r.result+" (status=Error):", "    Reason: "+quote(reason(r.err)))
		}
	}
	out = append(out, r.feedback...)
	if r.schema != nil {
		out = append(out, schemaLines(r.schema)...)
	}
	for _, e := range r.events {
		line := "*e " + e.Name
		for i := 0; i < len(e.Fields); i += 2 {
			v := ""
			if i+1 < len(e.Fields) {
				v = e.Fields[i+1]
			}
			line += " " + e.Fields[i] + ": " + quote(v)
		}
		out = append(out, line)
	}
	if r.resultID != "" {
		out = append(out, `** resultId: "`+r.resultID+`"`)
	}
	out = append(out, "** end")
	if !r.push {
		if r.err == nil {
			out = append(out, "OK")
		} else {
			out = append(out, "ERROR: "+reason(r.err))
		}
	}
	return out
}

func schemaLines(d *control.Document) []string {
	out := []string{`*d SchemaVersion: "` + d.SchemaVersion + `"`}
	for _, s := range d.Status {
		l := "*d Status " + s.Path + ": " + s.ValueSpace
		if s.Optional {
			l += " (optional)"
		}
		out = append(out, l)
	}
	for _, c := range d.Commands {
		out = append(out, "*d Command "+c.Path+" (result="+c.Result+")")
		for _, p := range c.Params {
			l := "*d Command " + c.Path + " " + p.Name + ": " + p.ValueSpace
			switch {
			case p.Required:
				l += " (required)"
			case p.Default != "":
				l += " (default=" + p.Default + ")"
			default:
				l += " (optional)"
			}
			out = append(out, l)
		}
	}
	for _, c := range d.Configuration {
		out = append(out, "*d Configuration "+c.Path+": "+c.ValueSpace)
	}
	for _, e := range d.Events {
		out = append(out, "*d Event "+e.Name+" (fields="+strings.Join(e.Fields, ",")+")")
	}
	return out
}

// jsonLine renders r as one compact JSON object (without line ending).
func (r *reply) jsonLine() []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	first := true
	field := func(key string) {
		if !first {
			b.WriteByte(',')
		}
		first = false
		writeJSONString(&b, key)
		b.WriteByte(':')
	}
	if r.hasStatus || len(r.status) > 0 {
		t := &tree{}
		for _, c := range r.status {
			t.set(c.Path, c.Value, c.Gone)
		}
		field("Status")
		t.write(&b)
	}
	if r.hasConfig || len(r.config) > 0 {
		t := &tree{}
		for _, l := range r.config {
			t.set(l.Path, l.Value, false)
		}
		field("Configuration")
		t.write(&b)
	}
	if r.result != "" {
		t := &tree{}
		if r.err == nil {
			t.set(control.Path{r.result, "status"}, "OK", false)
		} else {
			t.set(control.Path{r.result, "status"}, "Error", false)
			t.set(control.Path{r.result, "Reason"}, reason(r.err), false)
		}
		field("CommandResponse")
		t.write(&b)
	}
	if r.hasFeeds {
		field("Feedback")
		writeJSON(&b, append([]string{}, r.feedback...))
	}
	if r.schema != nil {
		field("Schema")
		writeJSON(&b, r.schema)
	}
	if len(r.events) > 0 {
		field("Event")
		eventTree(r.events).write(&b)
	}
	if r.resultID != "" {
		field("ResultId")
		writeJSONString(&b, r.resultID)
	}
	if !r.push {
		field("Result")
		if r.err == nil {
			writeJSONString(&b, "OK")
		} else {
			writeJSONString(&b, "Error")
			field("Reason")
			writeJSONString(&b, reason(r.err))
		}
	}
	b.WriteByte('}')
	return b.Bytes()
}

// eventTree holds events as objects of their fields, keyed by name.
func eventTree(events []room.Event) *tree {
	t := &tree{}
	for _, e := range events {
		n := t.child(e.Name)
		if n.kids == nil {
			n.kids = []*tree{} // an event without fields is {}
		}
		for i := 0; i < len(e.Fields); i += 2 {
			v := ""
			if i+1 < len(e.Fields) {
				v = e.Fields[i+1]
			}
			n.set(control.Path{e.Fields[i]}, v, false)
		}
	}
	return t
}

// tree is a JSON object that keeps its keys in insertion order.
type tree struct {
	key   string
	value string
	leaf  bool
	null  bool // a leaf that is gone
	list  bool // Cisco's JSON: the kids are numbered items, written as an array
	kids  []*tree
}

func (t *tree) child(key string) *tree {
	for _, k := range t.kids {
		if k.key == key {
			return k
		}
	}
	k := &tree{key: key}
	t.kids = append(t.kids, k)
	return k
}

func (t *tree) set(p control.Path, v string, null bool) {
	n := t
	for _, e := range p {
		n = n.child(e)
	}
	n.leaf, n.value, n.null = true, v, null
}

func (t *tree) write(b *bytes.Buffer) {
	switch {
	case t.leaf && t.null:
		b.WriteString("null")
		return
	case t.leaf:
		writeJSONString(b, t.value)
		return
	}
	b.WriteByte('{')
	writeMembers(b, t.kids, false, (*tree).write)
	b.WriteByte('}')
}

// writeMembers writes kids as "key":value members, each value by write,
// after a comma when more come before them.
func writeMembers(b *bytes.Buffer, kids []*tree, more bool, write func(*tree, *bytes.Buffer)) {
	for i, k := range kids {
		if more || i > 0 {
			b.WriteByte(',')
		}
		writeJSONString(b, k.key)
		b.WriteByte(':')
		write(k, b)
	}
}

func writeJSONString(b *bytes.Buffer, s string) { writeJSON(b, s) }

// writeJSON writes v compactly, without HTML escaping, which would only
// make values harder to read on a control system.
func writeJSON(b *bytes.Buffer, v any) {
	e := json.NewEncoder(b)
	e.SetEscapeHTML(false)
	if err := e.Encode(v); err != nil {
		b.WriteString(`null`) // cannot happen for strings, slices and the schema
		return
	}
	b.Truncate(b.Len() - 1) // Encode's newline
}
