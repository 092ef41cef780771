package debugserver

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/roomd/roomd/media/call"
	"github.com/roomd/roomd/room"
)

func TestSnakeCase(t *testing.T) {
	for in, want := range map[string]string{
		"CallReason": "call_reason", "NextMeetings": "next_meetings", "URI": "uri", "ID": "id", "IDs": "ids",
		"RTTMillis": "rtt_millis", "SendFPS": "send_fps", "ScheduleStaleSince": "schedule_stale_since",
		"SIP": "sip", "Env": "env", "H264Profile": "h264_profile", "Width": "width",
	} {
		if got := snakeCase(in); got != want {
			t.Errorf("snakeCase(%q) = %q, want %q", in, got, want)
		}
	}
}

// fill sets every settable field of v to something other than its zero
// value, so that a round trip shows each field survives.
func fill(v reflect.Value, n int) {
	switch {
	case v.Type() == reflect.TypeFor[time.Time]():
		v.Set(reflect.ValueOf(time.Date(2026, 12, 7, 9, n%60, 0, 0, time.UTC)))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString("s" + strings.Repeat("x", n%5))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(int64(n%5 + 1))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(uint64(n + 1))
	case reflect.Float32, reflect.Float64:
		v.SetFloat(float64(n) + 0.5)
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() && v.Type().Field(i).Tag.Get("json") != "-" {
				fill(v.Field(i), n+i+1)
			}
		}
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 2, 2)
		fill(s.Index(0), n+1)
		fill(s.Index(1), n+2)
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(k, n+1)
		fill(e, n+2)
		m.SetMapIndex(k, e)
		v.Set(m)
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		fill(p.Elem(), n+1)
		v.Set(p)
	}
}

var snakeKey = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)

// structKeys collects the keys of the objects jsonView made from structs
// (maps keep their keys: they are data).
func structKeys(v any, keys map[string]bool) {
	switch v := v.(type) {
	case object:
		for _, f := range v {
			keys[f.key] = true
			structKeys(f.val, keys)
		}
	case []any:
		for _, e := range v {
			structKeys(e, keys)
		}
	case map[string]any:
		for _, e := range v {
			structKeys(e, keys)
		}
	}
}

// TestJSONViewRoundTrip: a room state and engine figures with every field
// set come out with snake_case keys only and read back whole with Decode.
func TestJSONViewRoundTrip(t *testing.T) {
	for _, v := range []any{&room.State{}, &call.Stats{}} {
		fill(reflect.ValueOf(v).Elem(), 0)
		view := jsonView(reflect.ValueOf(v).Elem().Interface())
		keys := map[string]bool{}
		structKeys(view, keys)
		if len(keys) < 10 {
			t.Fatalf("%T: only %d keys: %v", v, len(keys), keys)
		}
		for k := range keys {
			if !snakeKey.MatchString(k) {
				t.Errorf("%T: key %q is not snake_case", v, k)
			}
		}
		b, err := json.Marshal(view)
		if err != nil {
			t.Fatal(err)
		}
		back := reflect.New(reflect.TypeOf(v).Elem())
		if err := Decode(b, back.Interface()); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(back.Interface(), v) {
			t.Errorf("%T did not survive the round trip:\n got %+v\nwant %+v\njson %s", v, back.Elem().Interface(), reflect.ValueOf(v).Elem().Interface(), b)
		}
	}
}

// TestRoomAbsentNotZero: GET /room of an idle room writes no Go field
// names, no null, no empty string and no zero time, and keeps the state
// that is false or 0.
func TestRoomAbsentNotZero(t *testing.T) {
	o := options()
	o.Room = fakeRoom{room.State{Settings: room.DefaultSettings(), Volume: 0, CallReason: "", Hardware: []room.Device{{Name: "mute_led", Kind: "led", State: "loaded"}}}}
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "http://127.0.0.1/room", nil)
	Handler(o).ServeHTTP(rec, req)
	body := rec.Body.String()
	if rec.Code != http.StatusOK {
		t.Fatalf("%d %s", rec.Code, body)
	}
	for _, bad := range []string{"null", `""`, "0001-01-01", "CallReason", "NextMeetings", "next_meetings", "call_reason", "join_offer", "schedule_stale_since", "incoming", `"meeting"`} {
		if strings.Contains(body, bad) {
			t.Errorf("/room holds %s:\n%s", bad, body)
		}
	}
	for _, want := range []string{`"mic_mute": false`, `"volume": 0`, `"call": 0`, `"default_volume": 50`, `"name": "mute_led"`} {
		if !strings.Contains(body, want) {
			t.Errorf("/room lacks %s:\n%s", want, body)
		}
	}
}
