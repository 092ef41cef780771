package janustest

import "syscall"

// procAttr makes the kernel kill Janus if the test binary dies first, so a
// crashed test leaves no server behind.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
