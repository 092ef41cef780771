package statefile

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// The marks and limits of a set-aside file; every component names its
// damaged files NAME.corrupt-TIME (SetAside, provisioning, fleetd's keys).
const (
	corruptMark = ".corrupt-"
	timeLayout  = "20060102T150405Z"
	// MaxSetAside bounds the list FindSetAside returns.
	MaxSetAside = 16
	// maxDepth and maxEntries bound the walk: a state directory is a few
	// files and one or two subdirectories, never a tree to search.
	maxDepth   = 4
	maxEntries = 4096
)

// SetAsideFile is a damaged file kept for a person to look at.
type SetAsideFile struct {
	// Name is the file's path relative to the state directory, with
	// forward slashes, e.g. "provisioning/root.current.corrupt-20261207T050000Z".
	Name string
	// Since is when it was set aside: the time in its name, else its
	// modification time.
	Since time.Time
	Size  int64
}

// FindSetAside lists the damaged files set aside under dir (NAME.corrupt-TIME,
// in dir and its subdirectories), newest first, at most [MaxSetAside].
// Files a re-enrollment moved aside on purpose (NAME.replaced-TIME) are not
// damage and are not listed; neither is anything but a regular file. A
// directory that does not exist holds none. A subdirectory that cannot be
// read is skipped and named in the error, with what was found elsewhere.
func FindSetAside(dir string) ([]SetAsideFile, error) {
	var found []SetAsideFile
	var problems []error
	seen := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if path == dir {
				return err
			}
			problems = append(problems, err)
			return nil
		}
		if seen++; seen > maxEntries {
			return fs.SkipAll
		}
		rel, rerr := filepath.Rel(dir, path)
		if rerr != nil {
			return nil
		}
		if d.IsDir() {
			if rel != "." && strings.Count(rel, string(filepath.Separator)) >= maxDepth-1 {
				return fs.SkipDir
			}
			return nil
		}
		since, ok := setAsideTime(d.Name())
		if !ok || !d.Type().IsRegular() {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return nil // gone since the directory was read
		}
		if since.IsZero() {
			since = fi.ModTime().UTC().Truncate(time.Second)
		}
		found = append(found, SetAsideFile{Name: filepath.ToSlash(rel), Since: since, Size: fi.Size()})
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("statefile: looking for damaged files in %s: %w", dir, err)
	}
	slices.SortFunc(found, func(a, b SetAsideFile) int {
		if c := b.Since.Compare(a.Since); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	if len(found) > MaxSetAside {
		found = found[:MaxSetAside]
	}
	if len(problems) > 0 {
		return found, fmt.Errorf("statefile: some of %s could not be searched for damaged files; check its permissions: %w", dir, errors.Join(problems...))
	}
	return found, nil
}

// setAsideTime says whether name is a set-aside file and when it was set
// aside; the time is zero when the name does not carry one.
func setAsideTime(name string) (time.Time, bool) {
	i := strings.LastIndex(name, corruptMark)
	if i <= 0 {
		return time.Time{}, false
	}
	suffix := name[i+len(corruptMark):]
	if len(suffix) >= len(timeLayout) {
		if t, err := time.Parse(timeLayout, suffix[:len(timeLayout)]); err == nil {
			return t, true
		}
	}
	return time.Time{}, true
}
