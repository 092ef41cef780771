package testtool

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// NodeProject is an npm project a test runs under Node.js: a folder with
// package.json and package-lock.json committed and node_modules installed
// on first use with `npm ci` (from npm's cache when it can, the registry
// otherwise) and never committed. Declare one per harness and share it
// between its tests, so npm runs once per test binary.
type NodeProject struct {
	Dir     string // the folder with package.json
	Package string // a dependency whose presence in node_modules shows the install is done
	Why     string // what the tests run it for, for the message when Node is missing

	once sync.Once
	err  error
	out  []byte
}

// Node returns the path of node once the project is installed. The test
// skips under -short and fails when node, npm or the install is missing.
func (p *NodeProject) Node(t testing.TB) string {
	t.Helper()
	SkipInShortMode(t, "Node.js and "+p.Package+" from npm")
	path, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("testtool: node not found (%v); %s", err, InstallHint("nodejs npm", p.Why))
	}
	p.once.Do(p.install)
	if p.err != nil {
		t.Fatalf("testtool: installing %s with npm ci in %s: %v\n%s\n%s", p.Package, p.Dir, p.err, p.out,
			InstallHint("nodejs npm", "and reach the npm registry once"))
	}
	return path
}

func (p *NodeProject) install() {
	marker := filepath.Join(p.Dir, "node_modules", p.Package, "package.json")
	if _, err := os.Stat(marker); err == nil {
		return
	}
	p.npmCI()
	if _, err := os.Stat(marker); p.err == nil && err != nil {
		p.err = fmt.Errorf("npm ci succeeded but did not install %s: is it in package.json and the lock file? (%w)", p.Package, err)
	}
}

func (p *NodeProject) npmCI() {
	npm, err := exec.LookPath("npm")
	if err != nil {
		p.err = err
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	for _, extra := range []string{"--offline", "--prefer-online"} {
		cmd := exec.CommandContext(ctx, npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--engine-strict=false", extra)
		cmd.Dir = p.Dir
		if p.out, p.err = cmd.CombinedOutput(); p.err == nil {
			return
		}
	}
}
