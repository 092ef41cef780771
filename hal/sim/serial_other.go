//go:build !linux

package sim

import (
	"errors"
	"log/slog"

	"github.com/roomd/roomd/hal"
)

// openCable fails: the cable is built from Linux pseudo-terminals, so on
// other systems serial roles load as Failed and the rest of the board works.
func openCable(hal.SerialDesc, string, *slog.Logger, *faults) (*cable, error) {
	return nil, errors.New("sim: simulated serial lines need Linux pseudo-terminals")
}
