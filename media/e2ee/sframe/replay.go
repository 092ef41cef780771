package sframe

// replayWindow remembers which of the last size counters were accepted,
// as SRTP's replay list does (RFC 3711 §3.3.2).
type replayWindow struct {
	size uint64
	top  uint64 // highest accepted counter
	any  bool   // whether anything was accepted yet
	bits []uint64
}

func newReplayWindow(size uint64) *replayWindow {
	return &replayWindow{size: size, bits: make([]uint64, (size+63)/64)}
}

// fresh reports whether ctr may still be accepted.
func (w *replayWindow) fresh(ctr uint64) bool {
	if !w.any || ctr > w.top {
		return true
	}
	if w.top-ctr >= w.size {
		return false
	}
	return !w.has(ctr)
}

// accept records ctr; false if it was not fresh.
func (w *replayWindow) accept(ctr uint64) bool {
	if !w.fresh(ctr) {
		return false
	}
	if !w.any || ctr > w.top {
		if !w.any || ctr-w.top >= w.size {
			clear(w.bits)
		} else {
			for c := w.top + 1; c < ctr; c++ {
				w.set(c, false)
			}
		}
		w.top, w.any = ctr, true
	}
	w.set(ctr, true)
	return true
}

func (w *replayWindow) has(ctr uint64) bool {
	i := ctr % w.size
	return w.bits[i/64]&(1<<(i%64)) != 0
}

func (w *replayWindow) set(ctr uint64, on bool) {
	i := ctr % w.size
	if on {
		w.bits[i/64] |= 1 << (i % 64)
	} else {
		w.bits[i/64] &^= 1 << (i % 64)
	}
}
