package transport

import (
	"sync/atomic"
)

// ServerCap is a BitrateSource that holds the congestion controller's
// estimate under the highest bitrate the receiving server allows: an SFU
// caps what a publisher may send with REMB (Janus sends the room's
// "bitrate"), and sending more only makes it drop or delay packets. Feed it
// with SenderFeedback.OnREMB. Until a REMB arrives, or with a REMB of 0,
// the estimate passes unchanged.
type ServerCap struct {
	src     BitrateSource
	cap     atomic.Int64
	changed chan struct{}
	stop    chan struct{}
}

// NewServerCap caps src. If src signals changes (as *Estimator does),
// Close ends the goroutine that forwards them.
func NewServerCap(src BitrateSource) *ServerCap {
	c := &ServerCap{src: src, changed: make(chan struct{}, 1), stop: make(chan struct{})}
	if n, ok := src.(interface{ Changed() <-chan struct{} }); ok {
		go func() {
			for {
				select {
				case <-c.stop:
					return
				case <-n.Changed():
					c.signal()
				}
			}
		}()
	}
	return c
}

// SetCap sets the server's limit in bit/s; 0 removes it.
func (c *ServerCap) SetCap(bps int) {
	if old := c.cap.Swap(int64(max(bps, 0))); old != int64(bps) {
		c.signal()
	}
}

// Cap returns the server's limit in bit/s, 0 for none.
func (c *ServerCap) Cap() int { return int(c.cap.Load()) }

// TargetBitrate returns the estimate, capped.
func (c *ServerCap) TargetBitrate() int {
	bps := c.src.TargetBitrate()
	if cp := int(c.cap.Load()); cp > 0 {
		bps = min(bps, cp)
	}
	return bps
}

// Changed receives a value, coalesced, after the estimate or the cap
// changed.
func (c *ServerCap) Changed() <-chan struct{} { return c.changed }

// Close stops forwarding the source's changes; it is idempotent.
func (c *ServerCap) Close() {
	select {
	case <-c.stop:
	default:
		close(c.stop)
	}
}

func (c *ServerCap) signal() {
	select {
	case c.changed <- struct{}{}:
	default:
	}
}
