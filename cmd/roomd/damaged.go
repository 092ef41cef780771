package main

import (
	"context"
	"log/slog"
	"slices"
	"time"

	"github.com/roomd/roomd/internal/statefile"
	"github.com/roomd/roomd/provisioning"
	"github.com/roomd/roomd/room"
)

// damagedScanEvery is how often the state directory is searched again, so a
// file a person deleted leaves the status (and one set aside at run time
// joins it) within this time.
const damagedScanEvery = 30 * time.Second

// damagedRoom is what the scan needs of the room; *room.Room has it.
type damagedRoom interface {
	Report(room.Report)
	Alive(context.Context) error
	Watch(context.Context) <-chan room.Update
}

// damagedFiles keeps the room's list of damaged files up to date. The list
// is read from the disk (every NAME.corrupt-TIME under the state
// directory), so no component has to say what it set aside: room state,
// schedule cache, panel tokens and the provisioning store all show up the
// same way, and each stays listed until a person deletes it.
type damagedFiles struct {
	dir  string
	room damagedRoom
	log  *slog.Logger

	last    []room.DamagedFile // what the room was last told; one goroutine at a time
	lastErr string
	kicks   chan struct{} // a file was set aside: scan now
}

// newDamagedFiles watches dir's damaged files for rm.
func newDamagedFiles(dir string, rm damagedRoom, log *slog.Logger) *damagedFiles {
	return &damagedFiles{dir: dir, room: rm, log: log, kicks: make(chan struct{}, 1)}
}

// kick asks for a scan soon; it never blocks.
func (d *damagedFiles) kick() {
	select {
	case d.kicks <- struct{}{}:
	default:
	}
}

// scan searches the state directory and tells the room when the list
// changed, waiting until the room has taken it in.
func (d *damagedFiles) scan(ctx context.Context) {
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

// run scans every interval, and at once when the provisioning state
// changes (a bundle applied, a store or root found damaged), until ctx ends.
func (d *damagedFiles) run(ctx context.Context, every time.Duration) {
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
			d.scan(ctx)
		case <-d.kicks:
			d.scan(ctx)
		case u, ok := <-updates:
			if !ok {
				return
			}
			if first || u.State.Provisioning != prov {
				d.scan(ctx)
			}
			prov, first = u.State.Provisioning, false
		}
	}
}

// reportDamagedFiles adds the damaged files set aside to a health report,
// so the fleet hears of them too.
func reportDamagedFiles(s room.State, h *provisioning.HealthReport) {
	for _, f := range s.DamagedFiles {
		h.LastErrors = append(h.LastErrors, "roomd: damaged file kept aside since "+f.Since.UTC().Format(time.RFC3339)+": "+f.Name+" (look at it, then delete it)")
	}
}
