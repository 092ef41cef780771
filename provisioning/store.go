package provisioning

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/roomd/roomd/internal/statefile"
)

// File names in the store's directory.
const (
	currentFile  = "bundle.current"
	previousFile = "bundle.previous"
	rootFile     = "root.current"
	prevRootFile = "root.previous"
)

// Origin says where the configuration in force came from at boot.
type Origin int

// Origins, in the order [Store.Load] tries them.
const (
	FromDefaults Origin = iota // nothing usable on disk: the local configuration
	FromCurrent
	FromPrevious // the current bundle was damaged or unverifiable
)

func (o Origin) String() string {
	switch o {
	case FromDefaults:
		return "defaults"
	case FromCurrent:
		return "current"
	case FromPrevious:
		return "previous"
	}
	return fmt.Sprintf("Origin(%d)", int(o))
}

// Store keeps the bundle in force, the one before it and the trust root in
// one directory. Every write is atomic and durable, so after a crash or a
// power cut each file holds exactly its old or its new content.
type Store struct {
	Dir string

	mu sync.Mutex
}

// NewStore returns a store in dir, creating it 0700.
func NewStore(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("provisioning: %w", err)
	}
	return &Store{Dir: dir}, nil
}

func (s *Store) read(name string) ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(s.Dir, name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("provisioning: %w", err)
	}
	return b, nil
}

// Roots returns the trust root in force and the one before it (either nil).
func (s *Store) Roots() (cur, prev *TrustRoot, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.roots()
}

func (s *Store) roots() (cur, prev *TrustRoot, err error) {
	for i, name := range []string{rootFile, prevRootFile} {
		raw, err := s.read(name)
		if err != nil {
			return nil, nil, err
		}
		if raw == nil {
			continue
		}
		// Stored roots were verified when saved; re-check their own signatures
		// so a damaged file is noticed.
		r, err := ParseRoot(raw, nil)
		if err != nil {
			return nil, nil, fmt.Errorf("provisioning: %s: %w", name, err)
		}
		if i == 0 {
			cur = r
		} else {
			prev = r
		}
	}
	return cur, prev, nil
}

// SaveRoot verifies raw as the successor of the stored root (or, when none
// is stored, as the first root) and saves it, keeping the old one.
func (s *Store) SaveRoot(raw []byte) (*TrustRoot, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, _, err := s.roots()
	if err != nil {
		return nil, err
	}
	if cur != nil {
		if r, err := ParseRoot(raw, nil); err == nil && r.Version == cur.Version {
			// Re-delivery of the root in force.
			return cur, nil
		}
	}
	r, err := ParseRoot(raw, cur)
	if err != nil {
		return nil, err
	}
	if cur != nil {
		old, err := s.read(rootFile)
		if err != nil {
			return nil, err
		}
		if err := statefile.WriteFile(filepath.Join(s.Dir, prevRootFile), old, 0o600); err != nil {
			return nil, fmt.Errorf("provisioning: %w", err)
		}
	}
	if err := statefile.WriteFile(filepath.Join(s.Dir, rootFile), raw, 0o600); err != nil {
		return nil, fmt.Errorf("provisioning: %w", err)
	}
	return r, nil
}

// Load returns the bundle in force: the current one, else the previous one,
// else nil (the room runs on its local defaults). Problems with damaged files
// are returned in problems; they never stop the room.
func (s *Store) Load(org, device string) (b *Bundle, from Origin, problems []error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, prev, err := s.roots()
	if err != nil {
		return nil, FromDefaults, []error{err}
	}
	for _, c := range []struct {
		name string
		from Origin
	}{{currentFile, FromCurrent}, {previousFile, FromPrevious}} {
		raw, err := s.read(c.name)
		if err != nil {
			problems = append(problems, err)
			continue
		}
		if raw == nil {
			continue
		}
		b, err := verifyStored(raw, org, device, cur, prev)
		if err != nil {
			problems = append(problems, fmt.Errorf("%s: %w", c.name, err))
			continue
		}
		return b, c.from, problems
	}
	return nil, FromDefaults, problems
}

// verifyStored accepts a stored bundle signed under the current root or,
// after a crash between a root rotation and the next bundle, the previous one.
func verifyStored(raw []byte, org, device string, roots ...*TrustRoot) (*Bundle, error) {
	var first error
	for _, r := range roots {
		if r == nil {
			continue
		}
		b, err := (&Verifier{Root: r, OrgID: org, DeviceID: device}).Verify(raw, nil)
		if err == nil {
			return b, nil
		}
		if first == nil {
			first = err
		}
	}
	if first == nil {
		first = fmt.Errorf("%w: no trust root stored", ErrUnknownKey)
	}
	return nil, first
}

// Apply verifies raw against the stored root and the bundle in force and, if
// it is new, makes it current and keeps the old one as previous. A refused
// bundle leaves the disk untouched. changed is false when raw is the bundle
// already in force.
func (s *Store) Apply(raw []byte, org, device string) (b *Bundle, changed bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	root, prevRoot, err := s.roots()
	if err != nil {
		return nil, false, err
	}
	var inForce *Bundle
	oldRaw, err := s.read(currentFile)
	if err != nil {
		return nil, false, err
	}
	if oldRaw != nil {
		inForce, _ = verifyStored(oldRaw, org, device, root, prevRoot)
	}
	if inForce == nil {
		// A damaged current file must not open the door to a rollback.
		if pr, _ := s.read(previousFile); pr != nil {
			inForce, _ = verifyStored(pr, org, device, root, prevRoot)
		}
	}
	b, err = (&Verifier{Root: root, OrgID: org, DeviceID: device}).Verify(raw, inForce)
	if err != nil {
		return nil, false, err
	}
	if inForce != nil && inForce.Version == b.Version && oldRaw != nil {
		return b, false, nil
	}
	if oldRaw != nil {
		if err := statefile.WriteFile(filepath.Join(s.Dir, previousFile), oldRaw, 0o600); err != nil {
			return nil, false, fmt.Errorf("provisioning: %w", err)
		}
	}
	if err := statefile.WriteFile(filepath.Join(s.Dir, currentFile), raw, 0o600); err != nil {
		return nil, false, fmt.Errorf("provisioning: %w", err)
	}
	return b, true, nil
}

// RollBack makes the previous bundle current again, after the running room
// could not apply the current one; with no previous bundle it removes the
// current one, so the room boots on its local configuration. It is atomic
// like Apply.
func (s *Store) RollBack() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	prev, err := s.read(previousFile)
	if err != nil {
		return err
	}
	if prev == nil {
		// The refused bundle was the first: without it the room runs on its
		// local configuration, also after a reboot.
		if err := os.Remove(filepath.Join(s.Dir, currentFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("provisioning: %w", err)
		}
		return syncDir(s.Dir)
	}
	if err := statefile.WriteFile(filepath.Join(s.Dir, currentFile), prev, 0o600); err != nil {
		return fmt.Errorf("provisioning: %w", err)
	}
	return nil
}

// syncDir makes a removal in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("provisioning: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("provisioning: syncing %s: %w", dir, err)
	}
	return nil
}
