package provisioning

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// setAside moves a damaged file out of the way as <path>.corrupt-<time> so
// the device can go on without it and an administrator can still look at
// it; nothing in the store is deleted silently. It returns the new name.
func setAside(path string, now time.Time) (string, error) {
	return moveAside(path, "corrupt", now)
}

// moveAside renames path to <path>.<why>-<time> (with a counter when that
// exists already) and makes the rename durable.
func moveAside(path, why string, now time.Time) (string, error) {
	base := path + "." + why + "-" + now.UTC().Format("20060102T150405Z")
	to := base
	for i := 1; ; i++ {
		if _, err := os.Lstat(to); errors.Is(err, fs.ErrNotExist) {
			break
		}
		to = fmt.Sprintf("%s.%d", base, i)
	}
	if err := os.Rename(path, to); err != nil {
		return "", fmt.Errorf("provisioning: setting %s aside: %w", path, err)
	}
	return to, syncDir(filepath.Dir(path))
}
