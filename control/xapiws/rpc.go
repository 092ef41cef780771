package xapiws

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// jsxapi's error codes (lib/xapi/exc.js) and JSON-RPC's own.
const (
	codeUnknown         = 0
	codeInvalidPath     = 3
	codeParameter       = 4
	codeInvalidResponse = 5
	codeInvalidStatus   = 6
	codeParse           = -32700
	codeInvalidRequest  = -32600
	codeMethodNotFound  = -32601
	codeInvalidParams   = -32602
)

type request struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Method  string          `json:"method"`
	Params  json.RawMessage `json:"params"`
}

type response struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Result  any             `json:"result"`
}

type errorReply struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Error   rpcError        `json:"error"`
}

type rpcError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Data    any    `json:"data,omitempty"`
}

func (e *rpcError) Error() string { return e.Message }

type notification struct {
	JSONRPC string `json:"jsonrpc"`
	Method  string `json:"method"`
	Params  *node  `json:"params"`
}

func errorResponse(id json.RawMessage, code int, msg string, data any) errorReply {
	if id == nil {
		id = json.RawMessage("null")
	}
	return errorReply{JSONRPC: "2.0", ID: id, Error: rpcError{Code: code, Message: msg, Data: data}}
}

// handle answers one message; a request without an id (a notification)
// is carried out and not answered.
func (ss *session) handle(ctx context.Context, msg []byte) {
	var req request
	if err := json.Unmarshal(msg, &req); err != nil {
		ss.send(errorResponse(nil, codeParse, "xapiws: the message is not JSON: "+err.Error(), nil))
		return
	}
	if req.JSONRPC != "2.0" || req.Method == "" {
		ss.send(errorResponse(req.ID, codeInvalidRequest, `xapiws: not a JSON-RPC 2.0 request; send {"jsonrpc":"2.0","id":…,"method":…,"params":…}`, nil))
		return
	}
	result, err := ss.call(ctx, req)
	if len(req.ID) == 0 || string(req.ID) == "null" {
		return
	}
	if err != nil {
		e, ok := err.(*rpcError)
		if !ok {
			e = &rpcError{Code: codeUnknown, Message: err.Error()}
		}
		ss.send(errorResponse(req.ID, e.Code, e.Message, e.Data))
		return
	}
	ss.send(response{JSONRPC: "2.0", ID: req.ID, Result: result})
}

func badParams(f string, a ...any) error {
	return &rpcError{Code: codeInvalidParams, Message: "xapiws: " + fmt.Sprintf(f, a...)}
}

// call runs one method, translated to the console's line as jsxapi's TSH
// backend translates it.
func (ss *session) call(ctx context.Context, req request) (any, error) {
	var p struct {
		Path  []pathPart
		Query []pathPart
		Value json.RawMessage
		ID    *int `json:"Id"`
	}
	method, isCommand := strings.CutPrefix(req.Method, "xCommand/")
	if !isCommand && len(req.Params) > 0 {
		if err := json.Unmarshal(req.Params, &p); err != nil {
			return nil, badParams("params: %v", err)
		}
	}
	switch {
	case isCommand:
		return ss.command(ctx, method, req.Params)
	case req.Method == "xGet":
		if len(p.Path) == 0 {
			return nil, badParams("xGet needs a Path such as [\"Status\",\"Audio\",\"Volume\"]")
		}
		reply, err := ss.ask(ctx, "x"+words(p.Path), nil)
		if err != nil {
			return nil, err
		}
		if _, err := assertSuccess(reply); err != nil {
			return nil, err
		}
		return dig(collapse(reply), p.Path), nil
	case req.Method == "xSet":
		if len(p.Path) < 2 || len(p.Value) == 0 {
			return nil, badParams("xSet needs a Path such as [\"Configuration\",\"Audio\",\"DefaultVolume\"] and a Value")
		}
		v, err := lineValue(p.Value)
		if err != nil {
			return nil, badParams("Value: %v", err)
		}
		reply, err := ss.ask(ctx, "x"+words(p.Path)+": "+v, nil)
		if err != nil {
			return nil, err
		}
		if _, err := assertSuccess(reply); err != nil {
			return nil, err
		}
		return nil, nil
	case req.Method == "xFeedback/Subscribe":
		return ss.subscribe(ctx, p.Query)
	case req.Method == "xFeedback/Unsubscribe":
		if p.ID == nil {
			return nil, badParams("xFeedback/Unsubscribe needs the Id that Subscribe gave")
		}
		return ss.unsubscribe(ctx, *p.ID)
	}
	return nil, &rpcError{Code: codeMethodNotFound, Message: "xapiws: method " + strconv.Quote(req.Method) + " not found; roomd serves xGet, xSet, xCommand/…, xFeedback/Subscribe and xFeedback/Unsubscribe"}
}

// command runs xCommand/<path> with its parameters; "body" is a
// multi-line body.
func (ss *session) command(ctx context.Context, method string, raw json.RawMessage) (any, error) {
	var path []pathPart
	for _, w := range strings.Split(method, "/") {
		var p pathPart
		if err := p.UnmarshalJSON([]byte(strconv.Quote(w))); err != nil {
			return nil, badParams("xCommand/%s: %v", method, err)
		}
		path = append(path, p)
	}
	params := map[string]json.RawMessage{}
	if len(raw) > 0 && string(raw) != "null" {
		if err := json.Unmarshal(raw, &params); err != nil {
			return nil, badParams("xCommand params must be an object: %v", err)
		}
	}
	var body *string
	if b, ok := params["body"]; ok {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return nil, badParams("body must be a string")
		}
		body = &s
		delete(params, "body")
	}
	keys := make([]string, 0, len(params))
	for k := range params {
		var p pathPart
		if err := p.UnmarshalJSON([]byte(strconv.Quote(k))); err != nil || p.isIndex {
			return nil, badParams("parameter name %q: only letters, digits and _", k)
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	line := "xCommand " + words(path)
	for _, k := range keys {
		vals := []json.RawMessage{params[k]}
		if bytes.HasPrefix(bytes.TrimSpace(params[k]), []byte("[")) {
			if err := json.Unmarshal(params[k], &vals); err != nil {
				return nil, badParams("%s: %v", k, err)
			}
		}
		for _, raw := range vals {
			v, err := lineValue(raw)
			if err != nil {
				return nil, badParams("%s: %v", k, err)
			}
			line += " " + k + ": " + v
		}
	}
	reply, err := ss.ask(ctx, line, body)
	if err != nil {
		return nil, err
	}
	if reply.get("CommandResponse") == nil {
		return nil, &rpcError{Code: codeInvalidResponse, Message: `xapiws: the console's answer has no "CommandResponse"`}
	}
	root, err := assertSuccess(reply)
	if err != nil {
		return nil, err
	}
	if root == nil || !root.isObj {
		return root, nil
	}
	c := collapse(root)
	if len(c.keys) == 0 {
		return nil, nil
	}
	return c, nil
}

// subscribe registers a query with the console and numbers it.
func (ss *session) subscribe(ctx context.Context, q []pathPart) (any, error) {
	if len(q) == 0 {
		return nil, badParams("xFeedback/Subscribe needs a Query such as [\"Status\",\"Audio\",\"Volume\"]")
	}
	ss.mu.Lock()
	full := len(ss.subs) >= ss.srv.opts.MaxSubscriptions
	ss.mu.Unlock()
	if full {
		return nil, &rpcError{Code: codeUnknown, Message: fmt.Sprintf("xapiws: this connection has %d subscriptions, the most allowed; unsubscribe one first", ss.srv.opts.MaxSubscriptions)}
	}
	reply, err := ss.ask(ctx, "xFeedback Register "+feedbackPath(q), nil)
	if err != nil {
		return nil, err
	}
	if _, err := assertSuccess(reply); err != nil {
		return nil, err
	}
	ss.mu.Lock()
	id := ss.nextSub
	ss.nextSub++
	ss.subs[id] = q
	ss.mu.Unlock()
	return map[string]int{"Id": id}, nil
}

// unsubscribe drops a subscription, and the console's registration once
// no other subscription has the same query.
func (ss *session) unsubscribe(ctx context.Context, id int) (any, error) {
	ss.mu.Lock()
	q, ok := ss.subs[id]
	delete(ss.subs, id)
	shared := false
	for _, o := range ss.subs {
		shared = shared || feedbackPath(o) == feedbackPath(q)
	}
	ss.mu.Unlock()
	if !ok {
		return nil, badParams("no subscription has Id %d", id)
	}
	if !shared {
		reply, err := ss.ask(ctx, "xFeedback Deregister "+feedbackPath(q), nil)
		if err != nil {
			return nil, err
		}
		if _, err := assertSuccess(reply); err != nil {
			return nil, err
		}
	}
	return true, nil
}

// words is a path as the console's words: Status Audio Volume.
func words(path []pathPart) string {
	s := make([]string, len(path))
	for i, p := range path {
		s[i] = p.String()
	}
	return strings.Join(s, " ")
}

// feedbackPath is a query as xFeedback Register takes it:
// /Status/Call/Receive[2]/Fps.
func feedbackPath(q []pathPart) string {
	var b strings.Builder
	for _, p := range q {
		if p.isIndex {
			b.WriteString("[" + p.String() + "]")
		} else {
			b.WriteString("/" + p.name)
		}
	}
	return b.String()
}

// lineValue writes a JSON value as the console reads it: numbers bare,
// true/false as True/False, strings quoted with \" and \\. Control
// characters are refused: a line end would start another request.
func lineValue(raw json.RawMessage) (string, error) {
	var v any
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		return "", err
	}
	switch v := v.(type) {
	case json.Number:
		return v.String(), nil
	case bool:
		if v {
			return "True", nil
		}
		return "False", nil
	case string:
		if strings.IndexFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
			return "", fmt.Errorf("a value may not hold control characters or line ends")
		}
		return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(v) + `"`, nil
	}
	return "", fmt.Errorf("want a string, number or boolean, got %s", raw)
}

// assertSuccess checks a console reply as jsxapi does
// (rpc.assertResponseSuccess) and returns its one root.
func assertSuccess(reply *node) (*node, error) {
	var keys []string
	var vals []*node
	for i, k := range reply.keys {
		if k != "ResultId" {
			keys, vals = append(keys, k), append(vals, reply.vals[i])
		}
	}
	if len(keys) > 1 {
		return nil, &rpcError{Code: codeInvalidResponse, Message: fmt.Sprintf("Invalid command response: Wrong number of keys (%d)", len(keys))}
	}
	if cr := reply.get("CommandResponse"); cr != nil && cr.isObj {
		return assertSuccess(cr)
	}
	if len(keys) == 0 {
		return nil, nil
	}
	root := vals[0]
	status := root.get("status")
	if status == nil {
		return root, nil
	}
	switch status.text() {
	case "OK":
		return root, nil
	case "ParameterError":
		return nil, &rpcError{Code: codeParameter, Message: "Invalid or missing parameters"}
	case "Error":
		body := collapse(root)
		reason := body.get("Error").text()
		if reason == "" {
			reason = body.get("Reason").text()
		}
		if reason == "" {
			reason = keys[0]
		}
		if xp := body.get("XPath"); xp != nil {
			return nil, &rpcError{Code: codeInvalidPath, Message: reason, Data: map[string]string{"xpath": xp.text()}}
		}
		return nil, &rpcError{Code: codeUnknown, Message: reason, Data: body}
	}
	return nil, &rpcError{Code: codeInvalidStatus, Message: "Invalid command status: " + status.text()}
}
