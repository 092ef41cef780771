package room

import (
	"fmt"
	"reflect"
	"strings"
)

// ActionString is how an action is written in logs: its name and its
// fields, as "SetVolume{Level:40}". A function is written as "func" (its
// What says what an edit does), and a field tagged `log:"secret"` (an
// activation code) as
// "<redacted>"; a meeting is written by [Meeting.String], without its
// passcode. An action with a String method (SendDTMF) is written by it.
func ActionString(a Action) string {
	if s, ok := a.(fmt.Stringer); ok { // an action that writes itself (SendDTMF)
		return s.String()
	}
	v := reflect.ValueOf(a)
	if !v.IsValid() {
		return "<nil>"
	}
	for v.Kind() == reflect.Pointer && !v.IsNil() {
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return fmt.Sprintf("%T(%v)", a, a)
	}
	var b strings.Builder
	b.WriteString(v.Type().Name())
	b.WriteByte('{')
	n := 0
	for i := range v.NumField() {
		f := v.Type().Field(i)
		if !f.IsExported() || f.Tag.Get("json") == "-" {
			continue
		}
		if n++; n > 1 {
			b.WriteByte(' ')
		}
		b.WriteString(f.Name)
		b.WriteByte(':')
		fv := v.Field(i)
		switch {
		case f.Tag.Get("log") == "secret" && !fv.IsZero():
			b.WriteString("<redacted>")
		case fv.Kind() == reflect.Func && fv.IsNil():
			b.WriteString("nil")
		case fv.Kind() == reflect.Func:
			b.WriteString("func")
		case fv.Kind() == reflect.String:
			fmt.Fprintf(&b, "%q", fv.String())
		default:
			fmt.Fprintf(&b, "%+v", fv.Interface())
		}
	}
	b.WriteByte('}')
	return b.String()
}
