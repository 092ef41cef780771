package provisioning

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// The crash test re-executes the test binary as a child that applies a run
// of bundles; the parent kills it with SIGKILL at a random moment and checks
// that every file is one complete bundle and that the store loads.
const crashEnv = "ROOMD_PROVISIONING_CRASH_CHILD"

func TestMain(m *testing.M) {
	if dir := os.Getenv(crashEnv); dir != "" {
		crashChild(dir)
		return
	}
	os.Exit(m.Run())
}

func crashChild(dir string) {
	s := &Store{Dir: filepath.Join(dir, "state")}
	os.Stdout.WriteString("ready\n")
	for i := 2; ; i++ {
		raw, err := os.ReadFile(filepath.Join(dir, "bundles", strconv.Itoa(i)))
		if err != nil {
			os.Exit(0)
		}
		if _, _, err := s.Apply(raw, "org1", "dev1"); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		// Tell the parent an apply finished; the next begins at once.
		os.Stdout.WriteString("applied\n")
	}
}

func TestKillDuringApply(t *testing.T) {
	runs := 200
	if testing.Short() {
		runs = 20
	}
	f := newTestFleet(t)
	const n = 40
	work := t.TempDir()
	valid := map[string]int{}
	if err := os.Mkdir(filepath.Join(work, "bundles"), 0o700); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= n; i++ {
		raw := f.bundle(int64(i), fmt.Sprintf("Room %d", i))
		valid[string(raw)] = i
		if err := os.WriteFile(filepath.Join(work, "bundles", strconv.Itoa(i)), raw, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	first, _ := os.ReadFile(filepath.Join(work, "bundles", "1"))
	killed, midway := 0, 0
	for run := 0; run < runs; run++ {
		state := filepath.Join(work, "state")
		os.RemoveAll(state)
		s, err := NewStore(state)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.SaveRoot(f.rootRaw); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Apply(first, f.org, f.dev); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), crashEnv+"="+work)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Kill after a random number of finished applies, a moment into the
		// next one: every kill lands while an apply is under way, however
		// fast or loaded the machine is.
		lines := bufio.NewScanner(out)
		if !lines.Scan() {
			t.Fatalf("child: %s", stderr.String())
		}
		for k := rand.IntN(n - 2); k > 0 && lines.Scan(); k-- {
		}
		time.Sleep(time.Duration(rand.IntN(500)) * time.Microsecond)
		if cmd.Process.Signal(syscall.SIGKILL) == nil {
			killed++
		}
		go io.Copy(io.Discard, out)
		err = cmd.Wait()
		if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 2 {
			t.Fatalf("child failed: %s", stderr.String())
		}

		cur, err := os.ReadFile(filepath.Join(state, currentFile))
		if err != nil {
			t.Fatalf("run %d: current missing: %v", run, err)
		}
		v, ok := valid[string(cur)]
		if !ok {
			t.Fatalf("run %d: current is no complete bundle (%d bytes)", run, len(cur))
		}
		if prev, err := os.ReadFile(filepath.Join(state, previousFile)); err == nil {
			if pv, ok := valid[string(prev)]; !ok || pv > v {
				t.Fatalf("run %d: previous is version %d (ok %v) under current %d", run, pv, ok, v)
			}
		}
		if v > 1 && v < n {
			midway++
		}
		b, from, probs := s.Load(f.org, f.dev)
		if b == nil || b.Version != int64(v) || from != FromCurrent || len(probs) > 0 {
			t.Fatalf("run %d: Load = %v %v %v", run, b, from, probs)
		}
		if matches, _ := filepath.Glob(filepath.Join(state, ".*")); len(matches) > 0 {
			// renameio leaves its temp file behind when killed; harmless,
			// but it must not be mistaken for a bundle.
			for _, m := range matches {
				os.Remove(m)
			}
		}
	}
	t.Logf("%d runs, %d kills, %d left a bundle between the first and the last", runs, killed, midway)
	if midway < runs/4 {
		t.Errorf("only %d of %d kills landed during the applies; the test is not testing", midway, runs)
	}
}
