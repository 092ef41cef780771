package benchmedia

import (
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

func TestParseStat(t *testing.T) {
	// comm may hold spaces and parentheses; fields count from the last ')'.
	line := "4242 (Web Content (x)) S 17 4242 4242 0 -1 4194560 100 0 0 0 250 50 7 3 20 0 12 0 300 1000 200\n"
	s, err := parseStat(4242, []byte(line))
	if err != nil {
		t.Fatal(err)
	}
	if s.comm != "Web Content (x)" || s.ppid != 17 || s.cpu != 250+50+7+3 {
		t.Fatalf("got %+v", s)
	}
	if _, err := parseStat(1, []byte("1 (init) S 0")); err == nil {
		t.Fatal("a short line parsed")
	}
}

func TestTreeFindsDescendants(t *testing.T) {
	all := map[int]procStat{1: {pid: 1}, 10: {pid: 10, ppid: 1}, 11: {pid: 11, ppid: 10}, 12: {pid: 12, ppid: 11}, 20: {pid: 20, ppid: 1}}
	got := tree(all, 10)
	if len(got) != 3 || got[0].pid != 10 {
		t.Fatalf("tree(10) = %+v", got)
	}
	if tree(all, 99) != nil {
		t.Fatal("a missing root has a tree")
	}
}

// start runs a shell script as a child that the test kills at its end.
func start(t *testing.T, script string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("sh", "-c", script)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd
}

// A real process tree: memory is summed over every descendant, and the CPU
// time of a child that has exited and been reaped still counts.
func TestTreeOfRealProcesses(t *testing.T) {
	// The busy child does a fixed amount of work (CPU time, not wall
	// time), so a loaded machine only makes it take longer.
	cmd := start(t, `sleep 60 & (sleep 60 & sleep 60) & sh -c 'i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done'; sleep 60`)
	pid := cmd.Process.Pid
	var m Memory
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		var err error
		if m, err = TreeMemory(pid); err != nil {
			t.Fatal(err)
		}
		if m.Processes >= 5 || time.Now().After(deadline) {
			break
		}
	}
	if m.Processes < 5 || m.PSS <= 0 || m.RSS < m.PSS {
		t.Fatalf("tree memory %+v; want ≥ 5 processes (sh, 3 sleeps, a subshell) with PSS ≤ RSS", m)
	}
	// The busy loop has run and been reaped by the time the last sleep starts.
	var cpu time.Duration
	for deadline := time.Now().Add(40 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		var err error
		if cpu, err = TreeCPU(pid); err != nil {
			t.Fatal(err)
		}
		if cpu >= 100*time.Millisecond || time.Now().After(deadline) {
			break
		}
	}
	if cpu < 100*time.Millisecond {
		t.Fatalf("tree CPU %v after a busy loop in a reaped child", cpu)
	}
	if _, err := TreeCPU(1 << 30); err == nil {
		t.Fatal("a missing process has a CPU time")
	}
}

func TestPeakSampler(t *testing.T) {
	p := StartPeakSampler(os.Getpid(), 10*time.Millisecond)
	time.Sleep(50 * time.Millisecond)
	m, n, err := p.Stop()
	if err != nil || n < 2 || m.PSS <= 0 || m.Processes < 1 {
		t.Fatalf("peak %+v after %d samples, err %v", m, n, err)
	}
	if _, _, err := p.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
}

func TestMachineBusyGrows(t *testing.T) {
	a, err := machineBusy()
	if err != nil || a <= 0 {
		t.Fatalf("machineBusy = %v, %v", a, err)
	}
}

// ThreadsCPU counts only the threads whose name has the prefix.
func TestThreadsCPU(t *testing.T) {
	// Some CPU time on this process' threads: 150 ms of it by the
	// process's own account, however long a loaded machine takes to give it.
	var ru syscall.Rusage
	cpuNow := func() time.Duration {
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			t.Fatal(err)
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	for start := cpuNow(); cpuNow()-start < 150*time.Millisecond; {
	}
	all, err := ThreadsCPU(os.Getpid(), "")
	if err != nil {
		t.Fatal(err)
	}
	if all < 50*time.Millisecond {
		t.Fatalf("all threads: %v after a 150 ms busy loop", all)
	}
	none, err := ThreadsCPU(os.Getpid(), "no-thread-is-named-this")
	if err != nil || none != 0 {
		t.Fatalf("no matching thread: %v, %v", none, err)
	}
	if _, err := ThreadsCPU(1<<30, ""); err == nil {
		t.Fatal("a missing process has thread times")
	}
}
