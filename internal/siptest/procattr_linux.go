package siptest

import "syscall"

// procAttr puts the far end in a process group of its own (stop signals the
// whole group, Kamailio's forked workers included) and makes the kernel kill
// the leader if the test binary dies first.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// signalGroup sends sig to the process group led by pid.
func signalGroup(pid int, sig syscall.Signal) {
	_ = syscall.Kill(-pid, sig)
}
