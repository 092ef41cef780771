//go:build !linux

package schedule

// kernelSynced is false where roomd cannot ask the kernel; there only
// the sync file counts.
func kernelSynced() bool { return false }
