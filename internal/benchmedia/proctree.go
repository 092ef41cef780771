package benchmedia

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// clockTicks is USER_HZ, the unit of /proc/PID/stat's times: 100 on every
// Linux architecture roomd runs on.
const clockTicks = 100

// procStat is what the benchmark needs from /proc/PID/stat.
type procStat struct {
	pid, ppid int
	comm      string
	// cpu is utime+stime plus cutime+cstime, in ticks. The children's part
	// holds processes of the tree that exited and were reaped during the
	// window, whose own lines are gone by the end of it.
	cpu uint64
}

// readStat parses /proc/PID/stat. comm may hold spaces and parentheses, so
// the fields are counted from the last ')'.
func readStat(pid int) (procStat, error) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return procStat{}, err
	}
	return parseStat(pid, b)
}

func parseStat(pid int, b []byte) (procStat, error) {
	open, end := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 0 || end < open {
		return procStat{}, fmt.Errorf("benchmedia: /proc/%d/stat: no comm field", pid)
	}
	// After ")": state ppid pgrp session tty tpgid flags minflt cminflt
	// majflt cmajflt utime stime cutime cstime …
	f := strings.Fields(string(b[end+1:]))
	if len(f) < 15 {
		return procStat{}, fmt.Errorf("benchmedia: /proc/%d/stat: %d fields", pid, len(f))
	}
	s := procStat{pid: pid, comm: string(b[open+1 : end])}
	var err error
	if s.ppid, err = strconv.Atoi(f[1]); err != nil {
		return procStat{}, fmt.Errorf("benchmedia: /proc/%d/stat: ppid: %w", pid, err)
	}
	for _, v := range f[11:15] {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return procStat{}, fmt.Errorf("benchmedia: /proc/%d/stat: times: %w", pid, err)
		}
		s.cpu += n
	}
	return s, nil
}

// allStats reads every process' stat line; processes that exit while we
// read are skipped.
func allStats() (map[int]procStat, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("benchmedia: %w", err)
	}
	out := make(map[int]procStat, len(ents))
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if s, err := readStat(pid); err == nil {
			out[pid] = s
		}
	}
	return out, nil
}

// tree returns root and all its descendants, root first.
func tree(all map[int]procStat, root int) []procStat {
	if _, ok := all[root]; !ok {
		return nil
	}
	kids := map[int][]int{}
	for pid, s := range all {
		kids[s.ppid] = append(kids[s.ppid], pid)
	}
	out := []procStat{all[root]}
	for i := 0; i < len(out); i++ {
		for _, k := range kids[out[i].pid] {
			out = append(out, all[k])
		}
	}
	return out
}

// TreeCPU returns the CPU time used so far by root and every descendant
// (user + system, with reaped children included).
func TreeCPU(root int) (time.Duration, error) {
	all, err := allStats()
	if err != nil {
		return 0, err
	}
	t := tree(all, root)
	if t == nil {
		return 0, fmt.Errorf("benchmedia: process %d is gone", root)
	}
	var ticks uint64
	for _, s := range t {
		ticks += s.cpu
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}

// codecThreadPrefix names the threads roomd runs every video encode and
// decode on (internal/cthread).
const codecThreadPrefix = "codec-"

// ThreadsCPU returns the CPU time used so far by pid's threads whose name
// starts with prefix.
func ThreadsCPU(pid int, prefix string) (time.Duration, error) {
	dir := filepath.Join("/proc", strconv.Itoa(pid), "task")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0, fmt.Errorf("benchmedia: %w", err)
	}
	var ticks uint64
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name(), "stat"))
		if err != nil {
			continue // the thread ended while we read
		}
		tid, _ := strconv.Atoi(e.Name())
		s, err := parseStat(tid, b)
		if err != nil {
			return 0, err
		}
		if strings.HasPrefix(s.comm, prefix) {
			ticks += s.cpu // a thread's line has no children's times
		}
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}

// Memory is one process tree's memory at one moment, in bytes.
type Memory struct {
	PSS, RSS  int64
	Processes int
}

// readRollup returns Pss and Rss from /proc/PID/smaps_rollup.
func readRollup(pid int) (pss, rss int64, err error) {
	f, err := os.Open(filepath.Join("/proc", strconv.Itoa(pid), "smaps_rollup"))
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || (k != "Pss" && k != "Rss") {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("benchmedia: /proc/%d/smaps_rollup %s: %w", pid, k, err)
		}
		if k == "Pss" {
			pss = n << 10
		} else {
			rss = n << 10
		}
	}
	return pss, rss, sc.Err()
}

// TreeMemory sums PSS and RSS over root and every descendant. PSS shares
// each shared page out among the processes mapping it, so the sum counts
// every page once; summed RSS counts shared pages again in every process.
func TreeMemory(root int) (Memory, error) {
	all, err := allStats()
	if err != nil {
		return Memory{}, err
	}
	t := tree(all, root)
	if t == nil {
		return Memory{}, fmt.Errorf("benchmedia: process %d is gone", root)
	}
	var m Memory
	for _, s := range t {
		pss, rss, err := readRollup(s.pid)
		if errors.Is(err, os.ErrNotExist) {
			continue // exited meanwhile
		}
		if err != nil {
			return Memory{}, err
		}
		m.PSS += pss
		m.RSS += rss
		m.Processes++
	}
	return m, nil
}

// PeakSampler samples a process tree's memory at a fixed interval and keeps
// the largest sums.
type PeakSampler struct {
	root  int
	every time.Duration
	stop  chan struct{}
	done  chan struct{}

	mu      sync.Mutex
	peak    Memory // PSS and Processes of the sample with the largest PSS
	peakRSS int64
	samples int
	err     error
}

// StartPeakSampler samples root's tree every interval until Stop.
func StartPeakSampler(root int, every time.Duration) *PeakSampler {
	p := &PeakSampler{root: root, every: every, stop: make(chan struct{}), done: make(chan struct{})}
	go p.run()
	return p
}

func (p *PeakSampler) run() {
	defer close(p.done)
	t := time.NewTicker(p.every)
	defer t.Stop()
	for {
		m, err := TreeMemory(p.root)
		p.mu.Lock()
		if err != nil && p.err == nil {
			p.err = err
		}
		if err == nil {
			p.samples++
			if m.PSS > p.peak.PSS {
				p.peak = m
			}
			p.peakRSS = max(p.peakRSS, m.RSS)
		}
		p.mu.Unlock()
		select {
		case <-p.stop:
			return
		case <-t.C:
		}
	}
}

// Stop ends sampling and returns the peak: the largest PSS sum with its
// process count, and the largest RSS sum (possibly from another sample).
func (p *PeakSampler) Stop() (Memory, int, error) {
	select {
	case <-p.stop:
	default:
		close(p.stop)
	}
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	m := p.peak
	m.RSS = p.peakRSS
	if p.samples == 0 && p.err != nil {
		return m, 0, p.err
	}
	return m, p.samples, nil
}

// machineBusy returns the CPU time all CPUs spent busy since boot, from the
// first line of /proc/stat.
func machineBusy() (time.Duration, error) {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return 0, fmt.Errorf("benchmedia: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		return 0, errors.New("benchmedia: /proc/stat is empty")
	}
	f0 := strings.Fields(sc.Text())
	if len(f0) < 9 || f0[0] != "cpu" {
		return 0, fmt.Errorf("benchmedia: /proc/stat: unexpected first line %q", sc.Text())
	}
	var ticks uint64
	// user nice system idle iowait irq softirq steal: all but idle and iowait.
	for i, v := range f0[1:9] {
		if i == 3 || i == 4 {
			continue
		}
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("benchmedia: /proc/stat: %w", err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}

// childrenNamed lists the direct children of parent whose comm is name.
func childrenNamed(parent int, name string) (map[int]bool, error) {
	all, err := allStats()
	if err != nil {
		return nil, err
	}
	out := map[int]bool{}
	for pid, s := range all {
		if s.ppid == parent && s.comm == name {
			out[pid] = true
		}
	}
	return out, nil
}

// newChild finds the one child of this process named name that is not in
// before: how the benchmark learns the PID of a process a helper started.
func newChild(before map[int]bool, name string) (int, error) {
	now, err := childrenNamed(os.Getpid(), name)
	if err != nil {
		return 0, err
	}
	var found []int
	for pid := range now {
		if !before[pid] {
			found = append(found, pid)
		}
	}
	if len(found) != 1 {
		return 0, fmt.Errorf("benchmedia: expected one new %s process, found %d", name, len(found))
	}
	return found[0], nil
}

// ReniceSession sets the nice value of this process's session where the
// kernel groups each session's processes for scheduling (autogroups,
// /proc/sys/kernel/sched_autogroup_enabled): there a thread's nice value
// counts only against the other threads of its session, and whole
// sessions share the CPUs equally. It refuses unless this process leads
// its session, so that it moves nothing it did not start: run the
// benchmark under `setsid -w`. Without autogroups it does nothing.
func ReniceSession(nice int) error {
	on, err := os.ReadFile("/proc/sys/kernel/sched_autogroup_enabled")
	if err != nil || strings.TrimSpace(string(on)) != "1" {
		return nil
	}
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return fmt.Errorf("benchmedia: %w", err)
	}
	// After ")": state ppid pgrp session …
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 4 || f[3] != strconv.Itoa(os.Getpid()) {
		return fmt.Errorf("benchmedia: the kernel schedules sessions as groups (autogroups) and this process does not lead its own: run it under setsid -w to give it a nice value")
	}
	if err := os.WriteFile("/proc/self/autogroup", []byte(strconv.Itoa(nice)), 0); err != nil {
		return fmt.Errorf("benchmedia: nice %d for this session's autogroup (needs root or CAP_SYS_NICE below 0): %w", nice, err)
	}
	return nil
}

// Renice sets the nice value of every thread of pid (Linux keeps one per
// thread; threads started later inherit their creator's).
func Renice(pid, nice int) error {
	dir := filepath.Join("/proc", strconv.Itoa(pid), "task")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("benchmedia: %w", err)
	}
	for _, e := range ents {
		tid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if err := syscall.Setpriority(syscall.PRIO_PROCESS, tid, nice); err != nil && !errors.Is(err, syscall.ESRCH) {
			return fmt.Errorf("benchmedia: nice %d for thread %d of %d (needs root or CAP_SYS_NICE below 0): %w", nice, tid, pid, err)
		}
	}
	return nil
}
