// Package damagedfiles keeps the room's list of damaged files up to date.
// The list is read from the disk (every NAME.corrupt-TIME that
// internal/statefile set aside under the state directory), so no component
// has to say what it set aside: room state, schedule cache, panel tokens
// and the provisioning store all show up the same way, and each stays
// listed until a person deletes it.
package damagedfiles

import (
	"context"
	"log/slog"
	"slices"
	"time"

	"github.com/roomd/roomd/internal/statefile"
	"github.com/roomd/roomd/room"
)

// ScanEvery is how often roomd searches the state directory again, so a
// file a person deleted leaves the status (and one set aside at run time
// joins it) within this time.
const ScanEvery = 30 * time.Second

// Room is what the scan needs of the room; *room.Room has it.
type Room interface {
	Report(room.Report)
	Alive(context.Context) error
	Watch(context.Context) <-chan room.Update
}

var _ Room = (*room.Room)(nil)

// Scanner searches a state directory for damaged files and tells the room.
type Scanner struct {
	dir  string
	room Room
	log  *slog.Logger

	last    []room.DamagedFile // what the room was last told; one goroutine at a time
	lastErr string
	kicks   chan struct{} // a file was set aside: scan now
}

// New returns a scanner of dir's damaged files for rm.
func New(dir string, rm Room, log *slog.Logger) *Scanner {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Scanner{dir: dir, room: rm, log: log, kicks: make(chan struct{}, 1)}
}

// Kick asks Run for a scan soon; it never blocks. Stores call it when they
// set a file aside.
func (d *Scanner) Kick() {
	select {
	case d.kicks <- struct{}{}:
	default:
	}
}

// Scan searches the state directory and tells the room when the list
// changed, waiting until the room has taken it in. Scan and Run must not
// run at the same time.
func (d *Scanner) Scan(ctx context.Context) {
	found, err := statefile.FindSetAside(d.dir)
	switch {
	case err != nil && err.Error() != d.lastErr:
		d.log.Warn("roomd: the state directory could not be searched wholly for damaged files", "err", err)
		d.lastErr = err.Error()
	case err == nil:
		d.lastErr = ""
	}
	files := make([]room.DamagedFile, 0, len(found))
	for _, f := range found {
		files = append(files, room.DamagedFile{Name: f.Name, Since: f.Since})
	}
	if slices.EqualFunc(files, d.last, room.DamagedFile.Equal) {
		return
	}
	for _, f := range files {
		if !slices.ContainsFunc(d.last, f.Equal) {
			d.log.Warn("roomd: a damaged file is kept aside; look at it, then delete it", "file", f.Name, "since", f.Since, "state_dir", d.dir)
		}
	}
	d.last = files
	d.room.Report(room.DamagedFilesReported{Files: files})
	d.room.Alive(ctx) // queued behind the report: the state holds the list
}

// Run scans every interval, at once when kicked, and at once when the
// provisioning state changes (a bundle applied, a store or root found
// damaged), until ctx ends.
func (d *Scanner) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	updates := d.room.Watch(ctx)
	// The first update scans too: the store may have set a file aside
	// between the scan before READY and this watch.
	var prov room.Provisioning
	first := true
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			d.Scan(ctx)
		case <-d.kicks:
			d.Scan(ctx)
		case u, ok := <-updates:
			if !ok {
				return
			}
			if first || u.State.Provisioning != prov {
				d.Scan(ctx)
			}
			prov, first = u.State.Provisioning, false
		}
	}
}
