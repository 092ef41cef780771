package roomport

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/roomd/roomd/provisioning"
	"github.com/roomd/roomd/room"
)

// The sensors' latest readings and the schemas this software applies are
// in every health report; a quantity no sensor measures is absent, not 0.
func TestHealthReportCarriesSensorsAndSchemas(t *testing.T) {
	h := Health{Room: snapshot{Env: room.Environment{Temperature: 22.5, HaveTemperature: true, Occupied: true, HaveOccupancy: true}}}
	r := h.Report(time.Now())
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Schemas     []int          `json:"schemas"`
		Environment map[string]any `json:"environment"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.Environment["temperature_c"] != 22.5 || got.Environment["occupied"] != true {
		t.Errorf("environment %v", got.Environment)
	}
	if _, ok := got.Environment["humidity_pct"]; ok {
		t.Errorf("humidity reported without a humidity sensor: %v", got.Environment)
	}
	if len(got.Schemas) == 0 || got.Schemas[len(got.Schemas)-1] != provisioning.SchemaVersion || !provisioning.Applies(got.Schemas, provisioning.SchemaVersion) {
		t.Errorf("schemas %v, want up to %d", got.Schemas, provisioning.SchemaVersion)
	}
	if r := (Health{Room: snapshot{}}).Report(time.Now()); r.Environment != nil {
		t.Errorf("a room without sensors reports %+v", r.Environment)
	}
}

type notes []string

func (n notes) Unapplied() []string { return n }

// What the bundle sets that the room cannot apply is in last_errors.
func TestHealthReportSaysWhatIsNotApplied(t *testing.T) {
	r := Health{Room: snapshot{}, Unapplied: notes{"roomd: display.brightness 80% is not applied: no backlight"}}.Report(time.Now())
	if len(r.LastErrors) != 1 || r.LastErrors[0] != "roomd: display.brightness 80% is not applied: no backlight" {
		t.Errorf("last errors %q", r.LastErrors)
	}
}
