package sim_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/roomd/roomd/hal"
	"github.com/roomd/roomd/hal/sim"
)

// do sends one request to the handler and returns the status and body.
func do(t *testing.T, srv *httptest.Server, method, path string, header ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestHandler(t *testing.T) {
	b := newBoard(t)
	srv := httptest.NewServer(b.Handler())
	defer srv.Close()

	t.Run("click reaches watchers", func(t *testing.T) {
		w := b.Hardware().Buttons[hal.RoleVolumeUp].Watch(t.Context())
		if code, body := do(t, srv, "POST", "/sim/button/volume_up/click"); code != 200 {
			t.Fatalf("click: %d %s", code, body)
		}
		wantClick(t, w)
		if code, body := do(t, srv, "POST", "/sim/button/volume_up/click?hold=30ms"); code != 200 {
			t.Fatalf("click with hold: %d %s", code, body)
		}
		wantClick(t, w)
		do(t, srv, "POST", "/sim/button/volume_up/press")
		if e := nextEdge(t, w); !e.Pressed {
			t.Fatal("press did not press")
		}
		do(t, srv, "POST", "/sim/button/volume_up/release")
		if e := nextEdge(t, w); e.Pressed {
			t.Fatal("release did not release")
		}
	})

	t.Run("state has everything", func(t *testing.T) {
		b.Hardware().LEDs[hal.RoleMuteLED].Set(true)
		code, body := do(t, srv, "GET", "/sim")
		if code != 200 {
			t.Fatalf("GET /sim: %d %s", code, body)
		}
		var st sim.State
		if err := json.Unmarshal([]byte(body), &st); err != nil {
			t.Fatalf("GET /sim is not JSON: %v\n%s", err, body)
		}
		if got := st.Serial[hal.RoleConsole].Path; got == "" || got != b.SerialPath(hal.RoleConsole) {
			t.Errorf("serial path %q, want %q", got, b.SerialPath(hal.RoleConsole))
		}
		if !st.LEDs[hal.RoleMuteLED] || len(st.Buttons) != 4 || len(st.Devices) != 13 || st.CameraPreset == nil || st.Brightness == nil || *st.Brightness != 100 || st.Sensors[hal.RoleEnvSensor][hal.Temperature] == 0 {
			t.Errorf("state = %+v", st)
		}
	})

	t.Run("switch sensor and faults", func(t *testing.T) {
		if code, body := do(t, srv, "POST", "/sim/switch/mic_switch?on=true"); code != 200 || !strings.Contains(body, `"mic_switch": true`) {
			t.Errorf("switch: %d %s", code, body)
		}
		if code, body := do(t, srv, "POST", "/sim/sensor/environment?quantity=temperature&value=21.5"); code != 200 {
			t.Errorf("sensor: %d %s", code, body)
		}
		if code, body := do(t, srv, "POST", "/sim/sensor/presence?value=1"); code != 200 {
			t.Errorf("presence without quantity: %d %s", code, body)
		}
		st := b.State()
		if st.Sensors[hal.RoleEnvSensor][hal.Temperature] != 21.5 || st.Sensors[hal.RolePresence][hal.Occupancy] != 1 {
			t.Errorf("sensors = %v", st.Sensors)
		}

		if code, body := do(t, srv, "POST", "/sim/fault/display_power?error=relay+stuck"); code != 200 || !strings.Contains(body, "relay stuck") {
			t.Errorf("fault: %d %s", code, body)
		}
		if err := b.Hardware().Relays[hal.RoleDisplayPower].Set(true); err == nil || !strings.Contains(err.Error(), "relay stuck") {
			t.Errorf("relay Set while failing = %v", err)
		}
		if code, body := do(t, srv, "DELETE", "/sim/fault/display_power"); code != 200 {
			t.Errorf("heal: %d %s", code, body)
		}
		if err := b.Hardware().Relays[hal.RoleDisplayPower].Set(true); err != nil {
			t.Errorf("relay Set after heal = %v", err)
		}
		b.Wrap("camera", nil)
		if code, body := do(t, srv, "POST", "/sim/fault/camera"); code != 200 {
			t.Errorf("fault on a wrapped role: %d %s", code, body)
		}
	})

	t.Run("mistakes say why", func(t *testing.T) {
		for _, c := range []struct {
			method, path string
			code         int
			why          string
		}{
			{"POST", "/sim/button/nope/click", 404, `no button "nope"`},
			{"POST", "/sim/button/mute_led/click", 404, "is a led"},
			{"POST", "/sim/switch/nope?on=true", 404, `no switch "nope"`},
			{"POST", "/sim/switch/mic_switch?on=maybe", 400, "on must be true or false"},
			{"POST", "/sim/sensor/environment?quantity=temperature&value=warm", 400, "must be a number"},
			{"POST", "/sim/sensor/environment?value=20", 400, "say which with quantity="},
			{"POST", "/sim/sensor/environment?quantity=occupancy&value=1", 400, "does not measure"},
			{"POST", "/sim/sensor/presence?value=2", 400, "occupancy is 0"},
			{"POST", "/sim/button/mute/click?hold=forever", 400, "hold must be a duration"},
			{"POST", "/sim/fault/nope", 404, `no device "nope"`},
			{"DELETE", "/sim/fault/nope", 404, `no device "nope"`},
			{"GET", "/sim/button/mute/click", 405, ""},
		} {
			code, body := do(t, srv, c.method, c.path)
			if code != c.code || !strings.Contains(body, c.why) || (c.why != "" && !strings.HasPrefix(body, "sim: ")) {
				t.Errorf("%s %s = %d %q, want %d with %q", c.method, c.path, code, body, c.code, c.why)
			}
		}
	})

	t.Run("cross-origin browser requests are refused", func(t *testing.T) {
		code, _ := do(t, srv, "POST", "/sim/button/mute/click", "Sec-Fetch-Site", "cross-site")
		if code != http.StatusForbidden {
			t.Errorf("cross-site click = %d, want 403", code)
		}
		if on, _ := b.Hardware().Buttons[hal.RoleMuteButton].Active(); on {
			t.Error("cross-site press got through")
		}
	})

	t.Run("page", func(t *testing.T) {
		code, body := do(t, srv, "GET", "/")
		if code != 200 || !strings.Contains(body, "<title>roomd simulated board</title>") || strings.Contains(body, "src=\"http") {
			t.Errorf("GET / = %d, %d bytes", code, len(body))
		}
		if code, _ := do(t, srv, "GET", "/nope"); code != 404 {
			t.Errorf("GET /nope = %d", code)
		}
	})
}
