package control

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/schema-<version>.json from the current schema")

// TestSchemaPinnedToVersion fails when the vocabulary changes while
// SchemaVersion stays the same: bump the version and run with -update.
func TestSchemaPinnedToVersion(t *testing.T) {
	got, err := json.MarshalIndent(Export(), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	golden := filepath.Join("testdata", "schema-"+SchemaVersion+".json")
	if *update {
		if _, err := os.Stat(golden); err == nil {
			t.Logf("overwriting %s: only do this before version %s is released", golden, SchemaVersion)
		}
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("no golden schema for version %s (%v); run go test ./control -run TestSchemaPinnedToVersion -update", SchemaVersion, err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("the vocabulary differs from %s but SchemaVersion is still %q.\n"+
			"Bump SchemaVersion and run with -update to pin the new version.\ngot:\n%s", golden, SchemaVersion, got)
	}
}

func TestSchemaVersionFormat(t *testing.T) {
	if !regexp.MustCompile(`^[1-9][0-9]*\.[0-9]+$`).MatchString(SchemaVersion) {
		t.Errorf("SchemaVersion %q is not MAJOR.MINOR", SchemaVersion)
	}
	if Export().SchemaVersion != SchemaVersion || Vocabulary().Version != SchemaVersion {
		t.Error("Export and Vocabulary disagree with SchemaVersion")
	}
}

// TestSchemaWellFormed checks what the protocol relies on: unique paths, no
// path both a leaf and a subtree (JSON nesting), names usable on the wire.
func TestSchemaWellFormed(t *testing.T) {
	s := Vocabulary()
	word := regexp.MustCompile(`^([A-Z][A-Za-z0-9]*|\[N\]|\[Name\])$`)
	checkTree := func(what string, paths []Path) {
		seen := map[string]bool{}
		for _, p := range paths {
			for _, e := range p {
				if !word.MatchString(e) {
					t.Errorf("%s %q: element %q is not a CamelCase word", what, p, e)
				}
			}
			k := p.String()
			if seen[k] {
				t.Errorf("%s %q appears twice", what, k)
			}
			seen[k] = true
		}
		for _, a := range paths {
			for _, b := range paths {
				if len(a) < len(b) && b.HasPrefix(a) {
					t.Errorf("%s %q is a leaf and also the parent of %q", what, a, b)
				}
			}
		}
	}
	var status, config, cmds []Path
	for _, x := range s.Status {
		status = append(status, x.Path)
	}
	for _, x := range s.Config {
		config = append(config, x.Path)
		if x.get == nil || x.set == nil {
			t.Errorf("configuration %q has no getter or setter", x.Path)
		}
	}
	for _, x := range s.Commands {
		cmds = append(cmds, x.Path)
		if x.action == nil || x.Result == "" {
			t.Errorf("command %q has no action or result name", x.Path)
		}
		for _, p := range x.Params {
			if !word.MatchString(p.Name) {
				t.Errorf("command %q: parameter %q is not a CamelCase word", x.Path, p.Name)
			}
			if p.Default != "" {
				if v, err := p.Space.Canonical(p.Default); err != nil || v != p.Default {
					t.Errorf("command %q: default %q of %s is not canonical in %s", x.Path, p.Default, p.Name, p.Space)
				}
			}
		}
	}
	checkTree("status", status)
	checkTree("configuration", config)
	checkTree("command", cmds)
	events := map[string]bool{}
	for _, e := range s.Events {
		if !word.MatchString(e.Name) || events[e.Name] {
			t.Errorf("event %q is duplicated or not a CamelCase word", e.Name)
		}
		events[e.Name] = true
	}
}
