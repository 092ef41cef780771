package provisioning

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

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
//
// A file that no longer parses or verifies is set aside as
// <name>.corrupt-<time> and reported ([Store.TakeNotes]); it is never
// deleted. A damaged root.current is replaced by the newest root that still
// verifies: root.previous or the root the device enrolled with
// ([Store.SetEnrollmentRoot]). When none does, [Store.Trouble] says so.
type Store struct {
	Dir string
	// Now stamps set-aside files; nil means time.Now.
	Now func() time.Time

	mu       sync.Mutex
	seed     []byte // the trust root the device enrolled with
	seedOrg  string
	notes    []error
	trouble  string
	troubled time.Time
}

// NewStore returns a store in dir, creating it 0700.
func NewStore(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("provisioning: %w", err)
	}
	return &Store{Dir: dir}, nil
}

func (s *Store) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// SetEnrollmentRoot tells the store the signed root the device enrolled
// with in org (nil when unknown): the last fallback for a damaged
// root.current, and the sign that a root is expected at all.
func (s *Store) SetEnrollmentRoot(org string, raw []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seed, s.seedOrg = raw, org
}

// TakeNotes returns what the store found damaged and did about it since the
// last call.
func (s *Store) TakeNotes() []error {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.notes
	s.notes = nil
	return n
}

// Trouble says why no trust root verifies ("" when one does) and since when.
func (s *Store) Trouble() (string, time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.trouble, s.troubled
}

func (s *Store) read(name string) ([]byte, error) {
	b, err := statefile.ReadFile(filepath.Join(s.Dir, name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("provisioning: %w", err)
	}
	return b, nil
}

// setAside moves a damaged file of the store out of the way and notes it.
func (s *Store) setAside(name string, why error) {
	to, err := statefile.SetAside(filepath.Join(s.Dir, name), s.now())
	if err != nil {
		s.notes = append(s.notes, fmt.Errorf("provisioning: %s is damaged (%w) and could not be set aside: %v", name, why, err))
		return
	}
	s.notes = append(s.notes, fmt.Errorf("provisioning: %s is damaged (%w); kept as %s", name, why, filepath.Base(to)))
}

// Roots returns the trust root in force and the one before it (either nil).
func (s *Store) Roots() (cur, prev *TrustRoot, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.roots()
}

// loadRoot reads one stored root. A file that cannot be read or does not
// verify is set aside (stored roots were verified when saved, so that is
// damage); raw is nil when there is no usable root. The error is for the
// caller's sake only and is always nil today.
func (s *Store) loadRoot(name string) (*TrustRoot, []byte, error) {
	// An unreadable file (wrong type, permissions) is as unusable as a
	// garbled one; it is set aside below like one.
	raw, err := s.read(name)
	if err == nil && raw == nil {
		return nil, nil, nil
	}
	if err == nil {
		r, perr := ParseRoot(raw, nil)
		if perr == nil {
			return r, raw, nil
		}
		err = perr
	}
	s.setAside(name, err)
	return nil, nil, nil
}

func (s *Store) roots() (cur, prev *TrustRoot, err error) {
	prev, prevRaw, err := s.loadRoot(prevRootFile)
	if err != nil {
		return nil, nil, err
	}
	cur, _, err = s.loadRoot(rootFile)
	if err != nil {
		return nil, nil, err
	}
	if cur != nil || (prev == nil && s.seed == nil && s.seedOrg == "") {
		// A root verifies, or none is expected: the device is not enrolled.
		s.trouble, s.troubled = "", time.Time{}
		return cur, prev, nil
	}
	// root.current is gone or damaged: the newest root that still verifies
	// takes its place; rotation walks forward from there.
	fallback, raw, from := prev, prevRaw, prevRootFile
	if s.seed != nil {
		if r, err := ParseRoot(s.seed, nil); err == nil && r.OrgID == s.seedOrg && (fallback == nil || r.Version > fallback.Version) {
			fallback, raw, from = r, s.seed, "the enrollment"
		}
	}
	if fallback == nil {
		if s.trouble == "" {
			s.troubled = s.now().UTC().Truncate(time.Second)
		}
		s.trouble = "no trust root verifies (root.current and root.previous are missing or damaged, and the enrollment holds no usable root): " +
			"every configuration bundle is refused and the local configuration is in force; re-seed it with `roomd reseed-root FILE` " +
			"(a root from the fleet server's key directory) or enroll again with a new activation code"
		return nil, nil, nil
	}
	if err := statefile.WriteFile(filepath.Join(s.Dir, rootFile), raw, 0o600); err != nil {
		return nil, nil, fmt.Errorf("provisioning: restoring the trust root: %w", err)
	}
	s.notes = append(s.notes, fmt.Errorf("provisioning: root.current was missing or damaged; trust root %d from %s is in force again", fallback.Version, from))
	s.trouble, s.troubled = "", time.Time{}
	return fallback, prev, nil
}

func isDirErr(err error) bool {
	var pe *fs.PathError
	return errors.As(err, &pe) && errors.Is(pe.Err, syscall.EISDIR)
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
	return r, s.writeRoot(cur, raw)
}

// writeRoot makes raw the current root, keeping the one in force (cur,
// when there is one) as previous.
func (s *Store) writeRoot(cur *TrustRoot, raw []byte) error {
	if cur != nil {
		old, err := s.read(rootFile)
		if err != nil {
			return err
		}
		if err := statefile.WriteFile(filepath.Join(s.Dir, prevRootFile), old, 0o600); err != nil {
			return fmt.Errorf("provisioning: %w", err)
		}
	}
	if err := statefile.WriteFile(filepath.Join(s.Dir, rootFile), raw, 0o600); err != nil {
		return fmt.Errorf("provisioning: %w", err)
	}
	s.trouble, s.troubled = "", time.Time{}
	return nil
}

// SeedRoot makes raw, which must be signed by a threshold of its own keys,
// the trust root in force whatever is stored: the root of an enrollment
// answer, or one an administrator installs with `roomd reseed-root` when no
// stored root verifies. The root it replaces is kept as previous. org, when
// not empty, must be the root's organisation.
func (s *Store) SeedRoot(raw []byte, org string) (*TrustRoot, error) {
	r, err := ParseRoot(raw, nil)
	if err != nil {
		return nil, err
	}
	if org != "" && r.OrgID != org {
		return nil, fmt.Errorf("provisioning: trust root is for %q, the device is in %q", r.OrgID, org)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, _, err := s.roots()
	if err != nil {
		return nil, err
	}
	if cur != nil && cur.Version == r.Version {
		if old, _ := s.read(rootFile); string(old) == string(raw) {
			return cur, nil
		}
	}
	return r, s.writeRoot(cur, raw)
}

// damaged says whether a stored bundle failed on its own bytes (it no longer
// parses, or a known key's signature does not verify) rather than on what
// the device trusts now.
func damaged(err error) bool {
	return errors.Is(err, ErrMalformed) || errors.Is(err, ErrBadSignature) || errors.Is(err, ErrTooLarge)
}

// Load returns the bundle in force: the current one, else the previous one,
// else nil (the room runs on its local defaults). Problems with files are
// returned in problems, damaged files are set aside and noted
// ([Store.TakeNotes]); they never stop the room. With org or device empty
// (the enrollment is damaged) a bundle of the trust root's organisation for
// any device is accepted: it is the configuration the room last had.
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
		if isDirErr(err) {
			s.setAside(c.name, err)
			continue
		}
		if err != nil {
			problems = append(problems, err)
			continue
		}
		if raw == nil {
			continue
		}
		b, err := verifyStored(raw, org, device, cur, prev)
		if err != nil {
			if damaged(err) {
				s.setAside(c.name, err)
				continue
			}
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
		o, d := org, device
		if o == "" || d == "" {
			o, d = r.OrgID, storedDevice(raw)
		}
		b, err := (&Verifier{Root: r, OrgID: o, DeviceID: d}).Verify(raw, nil)
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

// storedDevice is the device a bundle names, read before it is verified
// (Verify then checks the signature over it); "" when it does not parse.
func storedDevice(raw []byte) string {
	_, payload, err := ParseEnvelope(raw, BundleType)
	if err != nil {
		return ""
	}
	var p struct {
		DeviceID string `json:"device_id"`
	}
	if json.Unmarshal(payload, &p) != nil {
		return ""
	}
	return p.DeviceID
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
	if isDirErr(err) {
		s.setAside(currentFile, err)
		oldRaw, err = nil, nil
	}
	if err != nil {
		return nil, false, err
	}
	if oldRaw != nil {
		var verr error
		inForce, verr = verifyStored(oldRaw, org, device, root, prevRoot)
		if verr != nil && damaged(verr) {
			// Never carried over to previous, where it would push out a
			// bundle that still loads.
			s.setAside(currentFile, verr)
			oldRaw = nil
		}
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
	if oldRaw != nil && inForce != nil {
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

// ReseedRoot installs raw, a signed trust root an administrator took from
// the fleet server (fleetd's key directory holds them as root-N.json), as
// the root in force of the provisioning directory dir, for when no stored
// root verifies. The root must be signed by a threshold of its own keys
// and, when dir holds a readable enrollment, be of its organisation. A
// running roomd takes it at its next poll; later roots follow by rotation.
func ReseedRoot(dir string, raw []byte) (*TrustRoot, error) {
	var e enrollment
	if _, err := statefile.LoadJSON(filepath.Join(dir, enrollmentFile), &e); err != nil {
		e = enrollment{}
	}
	s, err := NewStore(filepath.Join(dir, "config"))
	if err != nil {
		return nil, err
	}
	if e.OrgID != "" {
		s.SetEnrollmentRoot(e.OrgID, e.TrustRoot)
	}
	return s.SeedRoot(raw, e.OrgID)
}
