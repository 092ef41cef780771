package panel

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/roomd/roomd/control"
	"github.com/roomd/roomd/control/feedback"
	"github.com/roomd/roomd/room"
)

// maxMessage bounds one request body or WebSocket message.
const maxMessage = 16 << 10

// Message types a client sends on the WebSocket.
const (
	TypeCommand = "command" // a command of the vocabulary
	TypeRetry   = "retry"   // join the last meeting again after a failed call
)

// Request is one parsed client message.
type Request struct {
	Type    string
	ID      string          // echoed in the result; at most 64 bytes
	Command control.Command // for TypeCommand
}

// wireRequest is a request as JSON.
type wireRequest struct {
	Type    string                     `json:"type"`
	ID      string                     `json:"id"`
	Command string                     `json:"command"`
	Args    map[string]json.RawMessage `json:"args"`
}

// ParseRequest reads one client message: a JSON object with "type"
// (default "command"), an optional "id", and for commands "command" (a path
// of the vocabulary, any case, spaces or slashes) and "args" (an object of
// parameters whose values are strings, integers or booleans). The command
// is checked against the schema by control.ParseCommand; errors wrap
// control.ErrUnknownPath or control.ErrBadValue, or say what is malformed.
func ParseRequest(b []byte) (Request, error) {
	if len(b) > maxMessage {
		return Request{}, fmt.Errorf("%w: a message is at most %d bytes", control.ErrBadValue, maxMessage)
	}
	var w wireRequest
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(&w); err != nil {
		return Request{}, fmt.Errorf("%w: not a JSON request object: %v", control.ErrBadValue, err)
	}
	if _, err := d.Token(); !errors.Is(err, io.EOF) {
		return Request{}, fmt.Errorf("%w: one JSON object per message", control.ErrBadValue)
	}
	if len(w.ID) > 64 || !utf8.ValidString(w.ID) {
		return Request{}, fmt.Errorf("%w: id must be UTF-8 of at most 64 bytes", control.ErrBadValue)
	}
	r := Request{Type: w.Type, ID: w.ID}
	switch w.Type {
	case "", TypeCommand:
		r.Type = TypeCommand
	case TypeRetry:
		if w.Command != "" || len(w.Args) > 0 {
			return r, fmt.Errorf("%w: retry takes no command or args", control.ErrBadValue)
		}
		return r, nil
	default:
		return r, fmt.Errorf("%w: unknown message type %q; use command or retry", control.ErrBadValue, w.Type)
	}
	if w.Command == "" {
		return r, fmt.Errorf("%w: a command is needed, such as \"Audio Microphones Mute\"", control.ErrBadValue)
	}
	names := make([]string, 0, len(w.Args))
	for k := range w.Args {
		names = append(names, k)
	}
	slices.Sort(names) // the same request always gives the same error
	args := make([]control.Arg, 0, len(names))
	for _, k := range names {
		v, err := argValue(w.Args[k])
		if err != nil {
			return r, fmt.Errorf("%w: parameter %s: %v", control.ErrBadValue, k, err)
		}
		args = append(args, control.Arg{Name: k, Value: v})
	}
	cmd, err := control.ParseCommand(control.ParsePath(w.Command), args)
	r.Command = cmd
	return r, err
}

// argValue turns a JSON parameter value into the text the vocabulary's value
// spaces read: strings as they are, integers in decimal, booleans as
// True/False.
func argValue(raw json.RawMessage) (string, error) {
	var v any
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		return "", err
	}
	switch v := v.(type) {
	case string:
		return v, nil
	case json.Number:
		n, err := strconv.ParseInt(v.String(), 10, 64)
		if err != nil {
			return "", fmt.Errorf("%s is not a whole number", v)
		}
		return strconv.FormatInt(n, 10), nil
	case bool:
		if v {
			return "True", nil
		}
		return "False", nil
	}
	return "", errors.New("use a string, a whole number or a boolean")
}

// Result is the answer to one command.
type Result struct {
	Type   string `json:"type"` // "result"
	ID     string `json:"id,omitempty"`
	OK     bool   `json:"ok"`
	Result string `json:"result,omitempty"` // e.g. "VolumeSetResult"
	Error  string `json:"error,omitempty"`
	// Reason names the kind of refusal: UnknownPath, BadValue, NotAllowed,
	// Busy, NotInCall, Invalid, Device, NoEngine, NoFleet, Timeout, Error.
	Reason string `json:"reason,omitempty"`
}

func resultFor(id, result string, err error) Result {
	r := Result{Type: "result", ID: id, OK: err == nil, Result: result}
	if err == nil {
		return r
	}
	r.Error = err.Error()
	r.Reason = "Error"
	for _, c := range []struct {
		err  error
		name string
	}{
		{control.ErrUnknownPath, "UnknownPath"}, {control.ErrBadValue, "BadValue"},
		{room.ErrNotAllowed, "NotAllowed"}, {room.ErrBusy, "Busy"}, {room.ErrNotInCall, "NotInCall"},
		{room.ErrInvalid, "Invalid"}, {room.ErrDevice, "Device"}, {room.ErrNoEngine, "NoEngine"},
		{room.ErrNoFleet, "NoFleet"}, {errTimeout, "Timeout"},
	} {
		if errors.Is(err, c.err) {
			r.Reason = c.name
			break
		}
	}
	return r
}

var errTimeout = errors.New("the room did not answer in time; the panel shows whether the command took effect")

// StatusMessage carries status: the whole tree first (Initial), then
// changed leaves. Values are the vocabulary's canonical text.
type StatusMessage struct {
	Type    string            `json:"type"` // "status"
	Initial bool              `json:"initial,omitempty"`
	Status  map[string]string `json:"status,omitempty"`
	Gone    []string          `json:"gone,omitempty"`
	Config  map[string]string `json:"config,omitempty"`
}

// EventMessage is one of the schema's events.
type EventMessage struct {
	Type   string            `json:"type"` // "event"
	Name   string            `json:"name"`
	Fields map[string]string `json:"fields"`
}

func leafMap(ls []control.Leaf) map[string]string {
	m := make(map[string]string, len(ls))
	for _, l := range ls {
		m[l.Path.String()] = l.Value
	}
	return m
}

// statusMessage builds the message for one batch of the feedback hub: the
// whole tree for the first batch and after a resync (the panel fell behind),
// else what changed.
func statusMessage(b feedback.Batch) (StatusMessage, bool) {
	if b.Initial || b.Resync {
		return StatusMessage{Type: "status", Initial: true, Status: leafMap(b.Status), Config: leafMap(b.Config)}, true
	}
	m := StatusMessage{Type: "status"}
	for _, ch := range b.StatusChanges {
		if ch.Gone {
			m.Gone = append(m.Gone, ch.Path.String())
			continue
		}
		if m.Status == nil {
			m.Status = map[string]string{}
		}
		m.Status[ch.Path.String()] = ch.Value
	}
	for _, ch := range b.ConfigChanges {
		if ch.Gone {
			continue
		}
		if m.Config == nil {
			m.Config = map[string]string{}
		}
		m.Config[ch.Path.String()] = ch.Value
	}
	return m, m.Status != nil || m.Gone != nil || m.Config != nil
}

// eventMessages keeps the events the schema knows, as the console does.
func eventMessages(evs []room.Event) []EventMessage {
	var out []EventMessage
	for _, e := range evs {
		spec, ok := control.Event(e.Name)
		if !ok {
			continue
		}
		f := map[string]string{}
		for i := 0; i+1 < len(e.Fields); i += 2 {
			f[e.Fields[i]] = e.Fields[i+1]
		}
		out = append(out, EventMessage{Type: "event", Name: spec.Name, Fields: f})
	}
	return out
}
