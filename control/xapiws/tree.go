package xapiws

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// node is a JSON value that keeps its objects' key order: Cisco's replies
// and events are read and written back in roomd's order, which clients
// that compare text (and jsxapi's users printing objects) see.
type node struct {
	keys   []string // object
	vals   []*node  // object values, or array items when isArr
	isObj  bool
	isArr  bool
	scalar json.RawMessage // string, number, bool, null
}

// readNode reads one JSON value from d.
func readNode(d *json.Decoder) (*node, error) {
	t, err := d.Token()
	if err != nil {
		return nil, err
	}
	switch t := t.(type) {
	case json.Delim:
		n := &node{isObj: t == '{', isArr: t == '['}
		for d.More() {
			if n.isObj {
				k, err := d.Token()
				if err != nil {
					return nil, err
				}
				n.keys = append(n.keys, k.(string))
			}
			v, err := readNode(d)
			if err != nil {
				return nil, err
			}
			n.vals = append(n.vals, v)
		}
		if _, err := d.Token(); err != nil { // the closing delimiter
			return nil, err
		}
		return n, nil
	default:
		b, err := json.Marshal(t)
		if err != nil {
			return nil, err
		}
		return &node{scalar: b}, nil
	}
}

// MarshalJSON writes n in its own order.
func (n *node) MarshalJSON() ([]byte, error) {
	if n == nil {
		return []byte("null"), nil
	}
	var b bytes.Buffer
	n.write(&b)
	return b.Bytes(), nil
}

func (n *node) write(b *bytes.Buffer) {
	switch {
	case n.isObj:
		b.WriteByte('{')
		for i, k := range n.keys {
			if i > 0 {
				b.WriteByte(',')
			}
			kb, _ := json.Marshal(k)
			b.Write(kb)
			b.WriteByte(':')
			n.vals[i].write(b)
		}
		b.WriteByte('}')
	case n.isArr:
		b.WriteByte('[')
		for i, v := range n.vals {
			if i > 0 {
				b.WriteByte(',')
			}
			v.write(b)
		}
		b.WriteByte(']')
	case n.scalar == nil:
		b.WriteString("null")
	default:
		b.Write(n.scalar)
	}
}

// get is an object's member named k (exactly, else ignoring case); nil
// when there is none.
func (n *node) get(k string) *node {
	if n == nil || !n.isObj {
		return nil
	}
	for i, key := range n.keys {
		if key == k {
			return n.vals[i]
		}
	}
	for i, key := range n.keys {
		if strings.EqualFold(key, k) {
			return n.vals[i]
		}
	}
	return nil
}

// with returns a copy of object n with k set to v at the end.
func (n *node) with(k string, v *node) *node {
	c := *n
	c.keys = append(append([]string(nil), n.keys...), k)
	c.vals = append(append([]*node(nil), n.vals...), v)
	return &c
}

// text is a scalar's value as a string ("" for objects and arrays).
func (n *node) text() string {
	if n == nil || n.scalar == nil {
		return ""
	}
	var s string
	if json.Unmarshal(n.scalar, &s) == nil {
		return s
	}
	return string(n.scalar)
}

// isScalar: a string or a number, as jsxapi's collapse counts them.
func (n *node) isScalar() bool {
	return n != nil && !n.isObj && !n.isArr && len(n.scalar) > 0 && strings.IndexByte("\"-0123456789", n.scalar[0]) >= 0
}

// collapse replaces Cisco's {"Value": x} leaves with x, as RoomOS's
// JSON-RPC answers (jsxapi's rpc.collapse).
func collapse(n *node) *node {
	switch {
	case n.isArr:
		c := &node{isArr: true, vals: make([]*node, len(n.vals))}
		for i, v := range n.vals {
			c.vals[i] = collapse(v)
		}
		return c
	case n.isObj:
		if i := indexOf(n.keys, "Value"); i >= 0 && n.vals[i].isScalar() {
			return n.vals[i]
		}
		c := &node{isObj: true, keys: n.keys, vals: make([]*node, len(n.vals))}
		for i, v := range n.vals {
			c.vals[i] = collapse(v)
		}
		return c
	}
	return n
}

func indexOf(keys []string, k string) int {
	for i, key := range keys {
		if key == k {
			return i
		}
	}
	return -1
}

// dig follows path (names, and numbers for listed items' id) into n; nil
// when it leads nowhere (jsxapi's digObj).
func dig(n *node, path []pathPart) *node {
	for _, p := range path {
		switch {
		case n == nil:
			return nil
		case n.isArr:
			var found *node
			for _, item := range n.vals {
				if id, err := strconv.Atoi(item.get("id").text()); err == nil && p.isIndex && id == p.index {
					found = item
					break
				}
			}
			n = found
		default:
			n = n.get(p.String())
		}
	}
	return n
}

// pathPart is one element of a JSON-RPC Path or Query: a name, or a
// number for a listed item.
type pathPart struct {
	name    string
	index   int
	isIndex bool
}

func (p pathPart) String() string {
	if p.isIndex {
		return strconv.Itoa(p.index)
	}
	return p.name
}

// UnmarshalJSON takes a string of letters, digits and underscores (a path
// element can hold nothing else, so nothing can be smuggled into the
// console's line) or a non-negative integer.
func (p *pathPart) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &p.name); err != nil {
			return err
		}
		if p.name == "" || strings.TrimLeft(p.name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") != "" {
			return fmt.Errorf("path element %q: only letters, digits and _", p.name)
		}
		if n, err := strconv.Atoi(p.name); err == nil {
			*p = pathPart{index: n, isIndex: true}
		}
		return nil
	}
	var n int
	if err := json.Unmarshal(b, &n); err != nil || n < 0 {
		return fmt.Errorf("path element %s: a name or a non-negative integer", b)
	}
	*p = pathPart{index: n, isIndex: true}
	return nil
}
