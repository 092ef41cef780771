package provisioning

import (
	"errors"
	"strings"
	"testing"
)

// A configuration needs the oldest schema that carries it; publishing
// refuses the removed keys; a room refuses a schema it does not know and
// the removed keys in a bundle that declares schema 2.
func TestBundleSchema(t *testing.T) {
	var c Config
	if s := c.RequiredSchema(); s != 1 {
		t.Errorf("empty configuration needs schema %d, want 1", s)
	}
	if err := c.PrepareToPublish(); err != nil || c.Schema != 0 {
		t.Errorf("schema-1 configuration: %v, stamped %d (want absent, so older rooms decode it)", err, c.Schema)
	}
	c.SSH = &SSHConfig{}
	if err := c.PrepareToPublish(); err != nil || c.Schema != 2 {
		t.Errorf("ssh users: %v, stamped %d, want 2", err, c.Schema)
	}

	old := Config{Meeting: MeetingConfig{Services: []string{"jitsi"}, Region: "eu"}}
	if err := old.Validate(); err != nil {
		t.Errorf("a schema-1 bundle with services still applies (they are reported): %v", err)
	}
	if len(old.Ignored()) != 1 {
		t.Errorf("ignored %q", old.Ignored())
	}
	if err := old.PrepareToPublish(); !errors.Is(err, ErrRemovedKey) || !strings.Contains(err.Error(), "delete them") {
		t.Errorf("publishing services: %v", err)
	}
	old.Schema = 2
	if err := old.Validate(); !errors.Is(err, ErrInvalidConfig) || !errors.Is(err, ErrRemovedKey) {
		t.Errorf("schema-2 bundle with services: %v", err)
	}
	future := Config{Schema: SchemaVersion + 1}
	if err := future.Validate(); !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), "update the room's software") {
		t.Errorf("a newer schema: %v", err)
	}

	for _, tt := range []struct {
		room   []int
		schema int
		want   bool
	}{{nil, 1, true}, {nil, 2, false}, {[]int{1, 2}, 2, true}, {[]int{2}, 1, false}} {
		if got := Applies(tt.room, tt.schema); got != tt.want {
			t.Errorf("Applies(%v, %d) = %v", tt.room, tt.schema, got)
		}
	}
	if got := SchemaList(Schemas()); got != "1, 2" {
		t.Errorf("schemas %q", got)
	}
}
