package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/roomd/roomd/provisioning"
)

// errCannotApply means some of a configuration's target rooms run
// software that cannot apply its bundle schema.
var errCannotApply = errors.New("fleetd: rooms cannot apply this configuration")

// checkTargets refuses to publish a configuration of the given schema to
// org/room when a device there reported software that cannot apply it,
// naming each. A device that never reported (just enrolled, its bundle
// signed before its first report) is not held against it: its software
// is unknown, and a room that cannot apply a bundle refuses it and keeps
// the one in force.
func (f *Fleet) checkTargets(ctx context.Context, org, room string, schema int) error {
	hs, err := f.Store.Fleet(ctx, org)
	if err != nil {
		return err
	}
	var cannot []string
	for _, h := range hs {
		if h.RoomID != room || h.State == stateRevoked || h.Report == "" {
			continue
		}
		var rep provisioning.HealthReport
		if json.Unmarshal([]byte(h.Report), &rep) != nil {
			continue
		}
		if !provisioning.Applies(rep.Schemas, schema) {
			applies := provisioning.SchemaList(rep.Schemas)
			if applies == "" {
				applies = "1"
			}
			cannot = append(cannot, fmt.Sprintf("%s (software %q, applies schema %s)", h.ID, rep.Software, applies))
		}
	}
	if len(cannot) > 0 {
		return fmt.Errorf("%w: the configuration needs bundle schema %d, which %s cannot apply; update their software first, or leave out what needs schema %d",
			errCannotApply, schema, strings.Join(cannot, ", "), schema)
	}
	return nil
}
