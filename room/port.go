package room

import "context"

// Port is a room's inbox, made before the room so that the parts the room
// drives and that report back to it (the call engine, the provisioning
// client) can be built first and handed to the room as its devices: no
// part needs a room that does not exist yet. Give it to [New] in
// [Options.Port]; a Port serves one room.
//
// Until the room runs, Do and Report wait (Report only once 64 reports are
// queued); after the room stops, Do returns [ErrStopped] and Report drops
// the report.
type Port struct {
	reqs chan request
	done chan struct{} // closed when the room's Run returns
}

// NewPort makes an inbox for one room.
func NewPort() *Port {
	return &Port{reqs: make(chan request, 64), done: make(chan struct{})}
}

// Do carries out a command and returns when the devices have answered, as
// [Room.Do] does.
func (p *Port) Do(ctx context.Context, c Command) error {
	return p.send(ctx, c)
}

func (p *Port) send(ctx context.Context, in Input) error {
	req := request{in: in, reply: make(chan error, 1)}
	select {
	case p.reqs <- req:
	case <-ctx.Done():
		return ctx.Err()
	case <-p.done:
		return ErrStopped
	}
	select {
	case err := <-req.reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	case <-p.done:
		return ErrStopped
	}
}

// Report hands the room a report, as [Room.Report] does. It may be called
// from any goroutine, including library callbacks.
func (p *Port) Report(rep Report) {
	select {
	case p.reqs <- request{in: rep}:
	case <-p.done:
	}
}
