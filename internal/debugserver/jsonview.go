package debugserver

import (
	"bytes"
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"unicode"
)

// The endpoint's JSON is in one style, the board's (/sim) and the
// provisioning reports': snake_case keys, and a field that holds nothing
// left out rather than written as null, "" or a zero time. The room's
// state and the engine's figures are Go structs without JSON tags, so
// their keys are derived from the field names here, and Decode reads them
// back into the same structs.

// snakeCase turns a Go field name into its key: "CallReason" is
// "call_reason", "RTTMillis" "rtt_millis", "SendFPS" "send_fps", "IDs"
// "ids".
func snakeCase(name string) string {
	rs := []rune(name)
	var b strings.Builder
	for i, r := range rs {
		if i > 0 && unicode.IsUpper(r) {
			prev := rs[i-1]
			nextLower := i+1 < len(rs) && unicode.IsLower(rs[i+1])
			plural := i+2 == len(rs) && rs[i+1] == 's' // an initialism's plural: IDs
			if unicode.IsLower(prev) || unicode.IsDigit(prev) || (unicode.IsUpper(prev) && nextLower && !plural) {
				b.WriteByte('_')
			}
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// jsonField is a struct field as the endpoint writes it.
type jsonField struct {
	index []int
	key   string // the endpoint's
	goKey string // encoding/json's: the tag's name, else the field's
}

// jsonFields are t's exported fields with their keys: a json tag's name
// where there is one, else the snake_case name; "-" is left out.
func jsonFields(t reflect.Type) []jsonField {
	var fs []jsonField
	for _, f := range reflect.VisibleFields(t) {
		if !f.IsExported() || f.Anonymous {
			continue // an embedded struct's fields are visited themselves
		}
		jf := jsonField{index: f.Index, key: snakeCase(f.Name), goKey: f.Name}
		if tag, _, _ := strings.Cut(f.Tag.Get("json"), ","); tag == "-" {
			continue
		} else if tag != "" {
			jf.key, jf.goKey = tag, tag
		}
		fs = append(fs, jf)
	}
	return fs
}

// object is a JSON object whose keys keep their order.
type object []struct {
	key string
	val any
}

// MarshalJSON writes the object in its order.
func (o object) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, f := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(f.key)
		b.Write(k)
		b.WriteByte(':')
		v, err := json.Marshal(f.val)
		if err != nil {
			return nil, err
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

var (
	marshalerType     = reflect.TypeFor[json.Marshaler]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
)

// jsonView is v in the endpoint's style, for encoding/json: struct fields
// under snake_case keys, and fields holding nothing (nil, "", an empty
// slice or map, a zero struct or time) left out. Numbers and booleans are
// always written: a volume of 0 and a mute that is off are state.
func jsonView(v any) any {
	out, _ := view(reflect.ValueOf(v), true)
	return out
}

// view returns v's view and whether it holds anything; keep writes even an
// empty v (a slice's element, a map's value, the top level).
func view(v reflect.Value, keep bool) (any, bool) {
	if !v.IsValid() {
		return nil, keep
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil, keep
		}
		return view(v.Elem(), keep)
	}
	if z, ok := v.Interface().(interface{ IsZero() bool }); ok && z.IsZero() && !keep {
		return nil, false
	}
	if v.Type().Implements(marshalerType) || v.Type().Implements(textMarshalerType) {
		return v.Interface(), true
	}
	switch v.Kind() {
	case reflect.Struct:
		if v.IsZero() && !keep {
			return nil, false
		}
		var o object
		for _, f := range jsonFields(v.Type()) {
			fv, err := v.FieldByIndexErr(f.index)
			if err != nil {
				continue // behind a nil embedded pointer
			}
			if fv, ok := view(fv, false); ok {
				o = append(o, struct {
					key string
					val any
				}{f.key, fv})
			}
		}
		if o == nil {
			o = object{}
		}
		return o, true
	case reflect.Slice, reflect.Array:
		if v.Len() == 0 && !keep {
			return nil, false
		}
		if v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Uint8 {
			return v.Interface(), true // base64, as encoding/json writes bytes
		}
		items := make([]any, v.Len())
		for i := range items {
			items[i], _ = view(v.Index(i), true)
		}
		return items, true
	case reflect.Map:
		if v.Len() == 0 && !keep {
			return nil, false
		}
		m := make(map[string]any, v.Len())
		it := v.MapRange()
		for it.Next() {
			// Map keys are data (participants, devices), not field names.
			m[fmt.Sprint(it.Key().Interface())], _ = view(it.Value(), true)
		}
		return m, true
	case reflect.String:
		if v.Len() == 0 && !keep {
			return nil, false
		}
	}
	return v.Interface(), true
}

// Decode reads the endpoint's JSON for /room or /media into v, a pointer
// to the struct it was made from (a room.State, a call.Stats, or a struct
// with some of their fields and types); keys v does not have are ignored.
func Decode(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var raw any
	if err := dec.Decode(&raw); err != nil {
		return fmt.Errorf("debugserver: %w", err)
	}
	t := reflect.TypeOf(v)
	if t == nil || t.Kind() != reflect.Pointer {
		return fmt.Errorf("debugserver: Decode needs a pointer, not %T", v)
	}
	b, err := json.Marshal(goNames(raw, t.Elem()))
	if err != nil {
		return fmt.Errorf("debugserver: %w", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("debugserver: %w", err)
	}
	return nil
}

// goNames renames the keys of raw, decoded JSON of type t, from the
// endpoint's keys to t's field names, which encoding/json reads.
func goNames(raw any, t reflect.Type) any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(reflect.TypeFor[json.Unmarshaler]()) ||
		reflect.PointerTo(t).Implements(reflect.TypeFor[encoding.TextUnmarshaler]()) {
		return raw
	}
	switch t.Kind() {
	case reflect.Struct:
		m, ok := raw.(map[string]any)
		if !ok {
			return raw
		}
		out := make(map[string]any, len(m))
		for _, f := range jsonFields(t) {
			if val, ok := m[f.key]; ok {
				out[f.goKey] = goNames(val, t.FieldByIndex(f.index).Type)
			}
		}
		return out
	case reflect.Slice, reflect.Array:
		items, ok := raw.([]any)
		if !ok {
			return raw
		}
		for i := range items {
			items[i] = goNames(items[i], t.Elem())
		}
		return items
	case reflect.Map:
		m, ok := raw.(map[string]any)
		if !ok {
			return raw
		}
		for k := range m {
			m[k] = goNames(m[k], t.Elem())
		}
		return m
	}
	return raw
}
