package schedule

import "golang.org/x/sys/unix"

// kernelSynced asks the kernel's NTP state (read-only adjtimex, no
// privileges needed) whether the clock is synchronised.
func kernelSynced() bool {
	var tx unix.Timex
	state, err := unix.Adjtimex(&tx)
	if err != nil {
		return false
	}
	return state != unix.TIME_ERROR && tx.Status&unix.STA_UNSYNC == 0
}
