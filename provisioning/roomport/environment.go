package roomport

import (
	"github.com/roomd/roomd/provisioning"
	"github.com/roomd/roomd/room"
)

// environment is the room's sensor readings as a health report carries
// them; nil when no sensor has read anything.
func environment(e room.Environment) *provisioning.Environment {
	if !e.HaveTemperature && !e.HaveHumidity && !e.HaveOccupancy {
		return nil
	}
	out := &provisioning.Environment{}
	if e.HaveTemperature {
		out.TemperatureC = &e.Temperature
	}
	if e.HaveHumidity {
		out.HumidityPct = &e.Humidity
	}
	if e.HaveOccupancy {
		out.Occupied = &e.Occupied
	}
	return out
}
