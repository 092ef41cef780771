package provisioning

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Bundle schemas. A room reports the schemas it applies in every health
// report ([HealthReport.Schemas]); fleetd publishes a configuration only
// when every room it goes to applies the schema it needs.
//
//   - 1: the configuration of roomd before schemas were numbered. A room
//     that reports no schemas applies this one only.
//   - 2: adds `schema` and `ssh` (issue 16), and removes meeting.services
//     and meeting.region (issue 18): roomd joins the meeting an invitation
//     names, through the provider its link belongs to, and has no
//     per-region server to pin, so the two keys never did anything.
const (
	MinSchema     = 1
	SchemaVersion = 2 // the newest schema this software applies
)

// Schemas lists the bundle schemas this software applies.
func Schemas() []int {
	out := make([]int, 0, SchemaVersion-MinSchema+1)
	for v := MinSchema; v <= SchemaVersion; v++ {
		out = append(out, v)
	}
	return out
}

// ErrRemovedKey means a configuration sets a key a newer schema removed.
var ErrRemovedKey = errors.New("provisioning: the configuration sets a key removed from the bundle schema")

// RequiredSchema is the oldest schema that carries c, so rooms on older
// software still take a configuration that uses nothing new.
func (c *Config) RequiredSchema() int {
	if c.SSH != nil || c.Schema >= 2 {
		return max(2, c.Schema)
	}
	return MinSchema
}

// PrepareToPublish readies c for signing: it refuses keys schema 2 removed
// and stamps the schema c needs, absent (1) when rooms on older software
// can take it.
func (c *Config) PrepareToPublish() error {
	if err := c.removedKeys(); err != nil {
		return err
	}
	if s := c.RequiredSchema(); s > MinSchema {
		c.Schema = s
	}
	return c.Validate()
}

// removedKeys refuses meeting.services and meeting.region.
func (c *Config) removedKeys() error {
	if len(c.Meeting.Services) == 0 && c.Meeting.Region == "" {
		return nil
	}
	return fmt.Errorf("%w: meeting.services and meeting.region were removed in bundle schema 2 (they never did anything: "+
		"a room joins the meeting an invitation names, through the provider of its link, and has no regional server to pin); "+
		"delete them from the configuration", ErrRemovedKey)
}

// Ignored lists what a bundle sets that this software accepts but does
// not apply, for the health report: the keys schema 2 removed, in a
// schema-1 bundle signed before they were.
func (c *Config) Ignored() []string {
	if c.removedKeys() == nil {
		return nil
	}
	return []string{"provisioning: meeting.services and meeting.region are not applied (removed in bundle schema 2); delete them from the room's configuration in fleetd"}
}

// validateSchema refuses a schema this software does not apply, and the
// removed keys in a bundle that declares schema 2 or later.
func (c *Config) validateSchema() error {
	if c.Schema != 0 && (c.Schema < MinSchema || c.Schema > SchemaVersion) {
		return fmt.Errorf("bundle schema %d is not one this room applies (%s): update the room's software", c.Schema, SchemaList(Schemas()))
	}
	if c.Schema >= 2 {
		return c.removedKeys()
	}
	return nil
}

// SchemaList writes schemas as "1, 2".
func SchemaList(s []int) string {
	parts := make([]string, len(s))
	for i, v := range s {
		parts[i] = strconv.Itoa(v)
	}
	return strings.Join(parts, ", ")
}

// Applies reports whether a room whose health report lists schemas (none:
// a room older than schema numbers, which applies 1) applies schema.
func Applies(schemas []int, schema int) bool {
	if len(schemas) == 0 {
		schemas = []int{MinSchema}
	}
	return slices.Contains(schemas, schema)
}
