package provisioning

import (
	"bytes"
	"context"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v5"

	"github.com/roomd/roomd/internal/statefile"
)

// Room is what the client needs of the room, in plain values so that this
// package (and so fleetd) does not link package room; provisioning/roomport
// adapts a *room.Room to it.
type Room interface {
	// ApplySettings lays the room settings of c (name, volumes, presets,
	// unmute policy) over the room's, as bundle version v; an error says
	// the room refused them.
	ApplySettings(ctx context.Context, v int64, c *Config) error
	// ReportStatus tells the room its fleet state.
	ReportStatus(s Status)
}

// Phase is where the device stands with its fleet.
type Phase int

// Phases, in the order and with the names of room.ProvisioningState.
const (
	Unenrolled Phase = iota // standalone, local configuration only
	Pending                 // enrollment sent, awaiting approval
	Enrolled                // managed by a fleet server
	Failed                  // the provisioning store is damaged or the identity unusable; Detail says what to do
	Revoked                 // the fleet server revoked this device
)

var phaseNames = [...]string{"Unenrolled", "Pending", "Enrolled", "Failed", "Revoked"}

func (p Phase) String() string {
	if p >= 0 && int(p) < len(phaseNames) {
		return phaseNames[p]
	}
	return fmt.Sprintf("Phase(%d)", int(p))
}

// Status is the device's fleet state as status and the panel show it.
type Status struct {
	State         Phase
	ConfigVersion int64
	Stale         bool   // the configuration in force has expired or cannot be refreshed
	Detail        string // e.g. the key fingerprint while pending
	// Since is when a Failed or Revoked state was first seen; zero otherwise.
	Since time.Time
}

// ClientOptions configure a [Client]. Zero fields take defaults.
type ClientOptions struct {
	Server string // base URL, e.g. "https://fleet.example.com:8443"
	Dir    string // state directory: device key, enrollment, bundles, report queue
	// ActivationCode enrolls the device; CodeFile (e.g. on the boot
	// partition) is read when it is empty. Codes typed on the console or
	// panel go to [Client.Enroll].
	ActivationCode string
	CodeFile       string
	// Preregistered says the device's key was registered with its room at
	// the factory: without a code it enrolls with none, retrying with
	// backoff until the fleet knows the key. A typed code still works.
	Preregistered bool
	// RootCAs verify the server during enrollment, before the fleet CA is
	// known; nil means the system pool.
	RootCAs *x509.CertPool
	Key     crypto.Signer // nil: LoadOrCreateKey(Dir/device.key)
	Room    Room          // nil: nobody is told
	// Calendar receives the calendar of each applied bundle (inline ICS or
	// feed URL; both empty: the local calendar only).
	Calendar func(CalendarConfig) error
	// Apply carries the rest of a bundle into the running room: PINs, time
	// zone, media caps, display and camera settings. It gets the whole
	// configuration, zero fields meaning the local value, so applying the
	// previous bundle (or an empty Config) undoes a failed one. An error
	// rolls the bundle back and is reported.
	Apply func(context.Context, Config) error
	// Health returns the current health report; the client fills in the
	// configuration fields.
	Health   func() HealthReport
	Hardware Hardware
	// StartDelay is the upper bound of the random wait before the first
	// poll after boot, against reconnect storms. Default 30 s.
	StartDelay time.Duration
	// Poll overrides the bundle's poll interval (tests).
	Poll time.Duration
	// SetAside, when set, is called after the store kept a damaged file
	// aside, so the daemon can list it at once; it must not block.
	SetAside func()
	Log      *slog.Logger
	Now      func() time.Time
}

// Client enrolls the device and keeps its configuration current. Run it
// once; Nudge asks for an early poll.
type Client struct {
	o     ClientOptions
	store *Store
	key   crypto.Signer
	nudge chan struct{}
	code  chan string

	mu       sync.Mutex
	enr      *enrollment
	inForce  *Bundle
	refused  int64 // newest version the room could not take
	lastErrs []string
	http     *http.Client

	// failure says why the device cannot use its identity (key or
	// enrollment damaged, missing or mismatched); "" when it can.
	failure  string
	failedAt time.Time
	// recoverEnr: the enrollment is lost but the key is good, so the
	// fleet may hand the enrollment back without a code.
	recoverEnr bool
	// reenroll: an activation code was typed while enrolled (the room
	// allows that only in a failed or revoked state).
	reenroll    bool
	pendingCode string
	refusal     string // the fleet refuses this device's certificate
	refusedAt   time.Time
	revokedAt   time.Time // the fleet revoked this device; zero when not
	enrollErr   string    // why the last enrollment attempt failed
	lastPoll    time.Time // when the fleet last answered a poll; zero before
}

// Files in the client's directory.
const (
	keyFile        = "device.key"
	enrollmentFile = "enrollment.json"
	revokedFile    = "revoked.json"
)

// enrollment is what the device keeps after enrolling.
type enrollment struct {
	DeviceID  string   `json:"device_id"`
	OrgID     string   `json:"org_id"`
	CertChain [][]byte `json:"cert_chain"`
	CA        []byte   `json:"ca"`
	// TrustRoot is the signed root of the enrollment answer: the last
	// fallback when the stored roots are damaged.
	TrustRoot json.RawMessage `json:"trust_root,omitempty"`
}

// check says whether a parsed enrollment is usable.
func (e *enrollment) check() error {
	if e.DeviceID == "" || e.OrgID == "" || len(e.CertChain) == 0 {
		return errors.New("it names no device, organisation or certificate")
	}
	if _, err := x509.ParseCertificate(e.CertChain[0]); err != nil {
		return fmt.Errorf("device certificate: %w", err)
	}
	if _, err := x509.ParseCertificate(e.CA); err != nil {
		return fmt.Errorf("fleet CA: %w", err)
	}
	return nil
}

// revocation is revoked.json: when the device learnt the fleet revoked it.
type revocation struct {
	At     time.Time `json:"at"`
	Reason string    `json:"reason"`
}

// NewClient loads the device identity and the configuration in force. It
// does not fail on a damaged provisioning store: a damaged file is set
// aside as <name>.corrupt-<time>, and provisioning reports itself Failed
// with the reason and what to do, while the room runs on the configuration
// it last had. The error is kept for callers; it is always nil.
func NewClient(o ClientOptions) (*Client, error) {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.StartDelay == 0 {
		o.StartDelay = 30 * time.Second
	}
	c := &Client{o: o, nudge: make(chan struct{}, 1), code: make(chan string, 1)}
	st, err := NewStore(filepath.Join(o.Dir, "config"))
	if err != nil {
		st = &Store{Dir: filepath.Join(o.Dir, "config")}
		c.fail(fmt.Sprintf("the configuration store cannot be used (%v); check %s is a directory roomd can write", err, o.Dir))
	}
	st.Now = o.Now
	c.store = st
	c.loadIdentity()
	c.loadRevocation()
	if c.enr != nil {
		st.SetEnrollmentRoot(c.enr.OrgID, c.enr.TrustRoot)
	}
	return c, nil
}

func (c *Client) file(name string) string { return filepath.Join(c.o.Dir, name) }

// fail puts provisioning into the failed state with reason, which says
// what to do; the first failure's time is kept.
func (c *Client) fail(reason string) {
	c.mu.Lock()
	if c.failure == "" {
		c.failedAt = c.o.Now().UTC().Truncate(time.Second)
	}
	c.failure = reason
	c.mu.Unlock()
	c.o.Log.Error("provisioning: failed; the room keeps the configuration it has", "reason", reason)
	c.noteError(errors.New("provisioning: " + reason))
}

const reenrollHint = "enroll again with a new activation code (xCommand Provisioning Enroll, or the panel's settings)"

// loadIdentity reads the enrollment and the device key. Only a device that
// is not enrolled gets a new key by itself; an enrolled one whose key is
// missing or damaged waits for an administrator to enroll it again.
func (c *Client) loadIdentity() {
	var e enrollment
	path := c.file(enrollmentFile)
	ok, err := statefile.LoadJSON(path, &e)
	if err == nil && ok {
		err = e.check()
	}
	enrolled := ok
	if err != nil {
		enrolled = true // there was one
		reason := fmt.Sprintf("enrollment.json is unusable (%v)", err)
		if _, serr := os.Stat(path); serr == nil || isDirErr(err) {
			if to, aerr := statefile.SetAside(path, c.o.Now()); aerr == nil {
				reason = fmt.Sprintf("enrollment.json is damaged (%v); it is kept as %s", err, filepath.Base(to))
			}
		}
		c.fail(reason + "; roomd asks the fleet for it again with the device key; if that is refused, " + reenrollHint)
		c.recoverEnr = true
	} else if ok {
		c.enr = &e
	} else if _, serr := os.Stat(filepath.Join(c.store.Dir, rootFile)); serr == nil {
		// A stored trust root says this device was enrolled.
		enrolled = true
		c.fail("enrollment.json is missing but the device was enrolled (a trust root is stored); roomd asks the fleet for it again with the device key; if that is refused, " + reenrollHint)
		c.recoverEnr = true
	}
	c.key = c.o.Key
	if c.key != nil {
		return
	}
	path = c.file(keyFile)
	k, err := LoadKey(path)
	switch {
	case err == nil:
		c.key = k
	case errors.Is(err, fs.ErrNotExist) && !enrolled:
		// First boot.
		if c.key, err = createKey(path); err != nil {
			c.fail(fmt.Sprintf("the device key cannot be saved (%v); check that %s is writable", err, c.o.Dir))
		}
		return
	case errors.Is(err, fs.ErrNotExist):
		c.recoverEnr = false
		c.fail(fmt.Sprintf("the device key %s is missing but the device is enrolled%s; roomd does not make a new identity by itself: %s",
			path, c.enrolledAs(), reenrollHint))
		return
	case errors.Is(err, ErrKeyDamaged):
		c.recoverEnr = false
		reason := err.Error()
		if to, aerr := statefile.SetAside(path, c.o.Now()); aerr == nil {
			reason += "; it is kept as " + filepath.Base(to)
		}
		c.fail(reason + "; the device's identity is lost: " + reenrollHint)
		return
	default: // readable by others, or unreadable
		c.recoverEnr = false
		c.fail(err.Error() + " (then restart roomd), or " + reenrollHint)
		return
	}
	if c.enr == nil {
		return
	}
	leaf, _ := x509.ParseCertificate(c.enr.CertChain[0])
	if Fingerprint(leaf.PublicKey) != Fingerprint(c.key.Public()) {
		c.key = nil
		c.fail(fmt.Sprintf("the device key %s does not match the certificate in enrollment.json%s; %s", path, c.enrolledAs(), reenrollHint))
	}
}

func (c *Client) enrolledAs() string {
	if c.enr == nil {
		return ""
	}
	return fmt.Sprintf(" (as %s in %s)", c.enr.DeviceID, c.enr.OrgID)
}

// loadRevocation reads revoked.json, so a revoked device says so from boot.
func (c *Client) loadRevocation() {
	var r revocation
	path := c.file(revokedFile)
	ok, err := statefile.LoadJSON(path, &r)
	if err != nil {
		if to, aerr := statefile.SetAside(path, c.o.Now()); aerr == nil {
			err = fmt.Errorf("%w; kept as %s", err, filepath.Base(to))
		}
		c.noteError(fmt.Errorf("provisioning: %w; the next poll tells whether the device is revoked", err))
		c.o.Log.Warn("provisioning: revoked.json is damaged; the next poll tells whether the device is revoked", "err", err)
		return
	}
	if ok && c.enr != nil {
		c.revokedAt = r.At.UTC().Truncate(time.Second)
	}
}

// markRevoked records that the fleet revoked this device (err says so).
func (c *Client) markRevoked(err error) {
	c.mu.Lock()
	first := c.revokedAt.IsZero()
	if first {
		c.revokedAt = c.o.Now().UTC().Truncate(time.Second)
	}
	at := c.revokedAt
	c.mu.Unlock()
	if first {
		c.noteError(err)
		c.o.Log.Error("provisioning: the fleet revoked this device; the room keeps its configuration; "+reenrollHint, "at", at)
		if serr := statefile.SaveJSON(c.file(revokedFile), revocation{At: at, Reason: err.Error()}, 0o600); serr != nil {
			c.o.Log.Warn("provisioning: recording the revocation", "err", serr)
		}
	}
	c.reportState()
}

// accepted clears a revocation or refusal once the fleet takes the device
// again.
func (c *Client) accepted() {
	c.mu.Lock()
	c.lastPoll = c.o.Now()
	was := !c.revokedAt.IsZero() || c.refusal != ""
	c.revokedAt, c.refusal, c.refusedAt = time.Time{}, "", time.Time{}
	c.mu.Unlock()
	if was {
		os.Remove(c.file(revokedFile))
		c.o.Log.Info("provisioning: the fleet accepts this device again")
	}
}

// LastPoll is when the fleet server last answered a poll; zero before
// the first answer. roomd's metrics show its age.
func (c *Client) LastPoll() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastPoll
}

// Fingerprint is the device key's fingerprint, for the panel; "" while the
// device has no usable key.
func (c *Client) Fingerprint() string {
	c.mu.Lock()
	k := c.key
	c.mu.Unlock()
	if k == nil {
		return ""
	}
	return Fingerprint(k.Public())
}

// Nudge asks for a poll now; it never blocks.
func (c *Client) Nudge() {
	select {
	case c.nudge <- struct{}{}:
	default:
	}
}

// Enroll hands the client an activation code typed on the console or panel.
func (c *Client) Enroll(code string) {
	select {
	case c.code <- code:
	default:
	}
}

// InForce returns the bundle in force, nil for none.
func (c *Client) InForce() *Bundle {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.inForce
}

// Run applies the stored configuration, then enrolls if needed and polls
// until ctx ends. Network trouble never stops it: the room keeps the
// configuration in force. Cancellation is not an error.
//
// A device whose identity is unusable (see [NewClient]) or that the fleet
// revoked does not poll with it: it waits for an activation code typed on
// a surface ([Client.Enroll]) and enrolls again, with a new key when the
// old one is lost or revoked.
func (c *Client) Run(ctx context.Context) error {
	c.boot(ctx)
	for {
		if !c.canPoll() {
			if err := c.enrollLoop(ctx); err != nil {
				return nil // cancelled
			}
		}
		if err := c.setupTLS(); err != nil {
			// check() vetted the enrollment; this is not expected.
			c.mu.Lock()
			c.key = nil
			c.mu.Unlock()
			c.fail(err.Error() + "; " + reenrollHint)
			c.reportState()
			continue
		}
		if !c.poll(ctx) {
			return nil
		}
	}
}

// canPoll says whether the device has an identity the fleet may accept.
func (c *Client) canPoll() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.enr != nil && c.key != nil && c.failure == "" && !c.reenroll
}

// poll keeps the configuration current until ctx ends (false) or an
// activation code asks for a new enrollment (true).
func (c *Client) poll(ctx context.Context) bool {
	if !sleep(ctx, randDuration(c.o.StartDelay), nil) {
		return false
	}
	bo := newBackoff()
	for {
		wait, err := c.cycle(ctx)
		if ctx.Err() != nil {
			return false // cancelled: not an error
		}
		switch {
		case err == nil:
			bo.Reset()
			c.accepted()
		case errors.Is(err, ErrRevoked):
			c.markRevoked(err)
			wait = bo.NextBackOff()
		case errors.Is(err, ErrRefused):
			c.mu.Lock()
			if c.refusal == "" {
				c.refusedAt = c.o.Now().UTC().Truncate(time.Second)
			}
			c.refusal = fmt.Sprintf("the fleet refuses this device (%v); if this persists, %s", err, reenrollHint)
			c.mu.Unlock()
			c.noteError(err)
			c.o.Log.Error("provisioning: the fleet refuses this device; keeping the configuration in force", "err", err)
			c.reportState()
			wait = bo.NextBackOff()
		default:
			c.noteError(err)
			d := bo.NextBackOff()
			var ra retryAfter
			if errors.As(err, &ra) && time.Duration(ra) > d {
				d = time.Duration(ra)
			}
			c.o.Log.Warn("provisioning: fleet unreachable; keeping the configuration in force", "err", err, "retry_in", d)
			wait = d
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-t.C:
		case <-c.nudge:
		case code := <-c.code:
			t.Stop()
			c.mu.Lock()
			c.reenroll, c.pendingCode = true, code
			c.mu.Unlock()
			c.o.Log.Info("provisioning: enrolling again with the activation code typed")
			return true
		}
		t.Stop()
	}
}

func newBackoff() *backoff.ExponentialBackOff {
	b := backoff.NewExponentialBackOff()
	b.InitialInterval = 2 * time.Second
	b.MaxInterval = 10 * time.Minute
	b.RandomizationFactor = 0.5
	return b
}

func randDuration(max time.Duration) time.Duration {
	if max <= 0 {
		return 0
	}
	return rand.N(max)
}

// jitter spreads d by ±20 %.
func jitter(d time.Duration) time.Duration {
	return d + time.Duration((rand.Float64()*0.4-0.2)*float64(d))
}

func sleep(ctx context.Context, d time.Duration, nudge <-chan struct{}) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
	case <-nudge:
	}
	return true
}

// boot applies what is on disk: current, previous or nothing.
func (c *Client) boot(ctx context.Context) {
	var org, dev string
	if c.enr != nil {
		org, dev = c.enr.OrgID, c.enr.DeviceID
	}
	b, from, problems := c.store.Load(org, dev)
	for _, p := range problems {
		c.noteError(p)
		c.o.Log.Warn("provisioning: stored configuration unusable", "err", p)
	}
	c.takeStoreNotes()
	if b != nil {
		c.o.Log.Info("provisioning: configuration loaded", "version", b.Version, "from", from)
		if err := c.tellRoom(ctx, b); err != nil {
			c.o.Log.Warn("provisioning: the room could not take the stored configuration; rolling back", "version", b.Version, "err", err)
			c.noteError(c.rollBack(ctx, b, err))
		}
		return
	}
	c.reportState()
}

// takeStoreNotes logs and reports what the store found damaged.
func (c *Client) takeStoreNotes() {
	notes := c.store.TakeNotes()
	for _, n := range notes {
		c.noteError(n)
		c.o.Log.Warn("provisioning: stored file damaged", "err", n)
	}
	if len(notes) > 0 && c.o.SetAside != nil {
		c.o.SetAside()
	}
}

func (c *Client) reportState() {
	c.takeStoreNotes()
	if c.o.Room == nil {
		return
	}
	c.o.Room.ReportStatus(c.State())
}

// State is provisioning as status shows it: a revocation, then an unusable
// identity, then a refusing fleet, then a trust root that no longer
// verifies, each with its time and what to do.
func (c *Client) State() Status {
	trouble, troubled := c.store.Trouble()
	p := Status{State: Unenrolled}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.enr != nil {
		p.State = Enrolled
	} else if c.enrollErr != "" {
		p.Detail = "enrollment failed: " + c.enrollErr
	}
	if b := c.inForce; b != nil {
		p.ConfigVersion = b.Version
		p.Stale = b.Stale(c.o.Now())
		if c.refused > b.Version {
			p.Detail = fmt.Sprintf("version %d could not be applied; version %d stays in force", c.refused, b.Version)
		}
	} else if c.refused > 0 {
		p.Detail = fmt.Sprintf("version %d could not be applied; the local configuration stays in force", c.refused)
	}
	switch {
	case !c.revokedAt.IsZero():
		p.State, p.Since = Revoked, c.revokedAt
		p.Detail = "the fleet revoked this device at " + c.revokedAt.Format(time.RFC3339) + "; the room keeps its configuration; " + reenrollHint
	case c.failure != "":
		p.State, p.Since, p.Detail = Failed, c.failedAt, c.failure
	case c.refusal != "":
		p.State, p.Since, p.Detail = Failed, c.refusedAt, c.refusal
	case trouble != "" && c.enr != nil:
		p.State, p.Since, p.Detail = Failed, troubled, trouble
	}
	if c.enrollErr != "" && (p.State == Revoked || p.State == Failed) {
		p.Detail += "; the last enrollment failed: " + c.enrollErr
	}
	return p
}

// tellRoom makes b the configuration in force in the running room. An
// error says the room could not take it (settings refused, calendar bad).
func (c *Client) tellRoom(ctx context.Context, b *Bundle) error {
	c.mu.Lock()
	c.inForce = b
	c.mu.Unlock()
	defer c.reportState()
	// The parts that return to local values when undone go first, so a
	// bundle they refuse never reaches the room's settings, which stay
	// changed like settings changed on a surface.
	if c.o.Apply != nil {
		if err := c.o.Apply(ctx, b.Config); err != nil {
			return fmt.Errorf("provisioning: applying version %d: %w", b.Version, err)
		}
	}
	if c.o.Calendar != nil {
		if err := c.o.Calendar(b.Config.Calendar); err != nil {
			return fmt.Errorf("provisioning: calendar of version %d: %w", b.Version, err)
		}
	}
	if c.o.Room != nil {
		if err := c.o.Room.ApplySettings(ctx, b.Version, &b.Config); err != nil {
			return fmt.Errorf("provisioning: room refused settings of version %d: %w", b.Version, err)
		}
	}
	return nil
}

// backToLocal undoes what a refused first bundle may have applied: with no
// bundle before it, the room returns to its local calendar, PINs, zone,
// caps, display and camera settings. (A refused bundle never reached the
// room's settings: they are applied last.)
func (c *Client) backToLocal(ctx context.Context) error {
	c.mu.Lock()
	c.inForce = nil
	c.mu.Unlock()
	defer c.reportState()
	var errs []error
	if c.o.Calendar != nil {
		errs = append(errs, c.o.Calendar(CalendarConfig{}))
	}
	if c.o.Apply != nil {
		errs = append(errs, c.o.Apply(ctx, Config{}))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("provisioning: returning to the local configuration: %w", err)
	}
	return nil
}

func (c *Client) noteError(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lastErrs = append(c.lastErrs, c.o.Now().UTC().Format(time.RFC3339)+" "+err.Error())
	if len(c.lastErrs) > 10 {
		c.lastErrs = c.lastErrs[len(c.lastErrs)-10:]
	}
}

type retryAfter time.Duration

func (r retryAfter) Error() string {
	return "provisioning: server asked to retry after " + time.Duration(r).String()
}

// statusError turns a failed response into an error, honouring Retry-After.
func statusError(resp *http.Response) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if s := resp.Header.Get("Retry-After"); s != "" {
		if n, err := strconv.Atoi(s); err == nil {
			return fmt.Errorf("provisioning: %s: %s: %w", resp.Status, strings.TrimSpace(string(body)), retryAfter(time.Duration(n)*time.Second))
		}
	}
	msg := strings.TrimSpace(string(body))
	switch {
	case resp.StatusCode == http.StatusForbidden && strings.Contains(msg, "revoked"):
		// fleetd answers a revoked device 403 "device revoked".
		return fmt.Errorf("%w: %s: %s", ErrRevoked, resp.Status, msg)
	case resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusUnauthorized:
		return fmt.Errorf("%w: %s: %s", ErrRefused, resp.Status, msg)
	}
	return fmt.Errorf("provisioning: %s: %s", resp.Status, msg)
}

// Errors a fleet answers with. Callers branch with errors.Is.
var (
	// ErrRevoked: the fleet revoked this device.
	ErrRevoked = errors.New("provisioning: the fleet revoked this device")
	// ErrRefused: the fleet refuses the request (401, 403): an unknown,
	// used or expired activation code, or a certificate it does not take.
	ErrRefused = errors.New("provisioning: the fleet refuses this device")
)

func (c *Client) activationCode() string {
	if c.o.ActivationCode != "" {
		return c.o.ActivationCode
	}
	if c.o.CodeFile != "" {
		if b, err := os.ReadFile(c.o.CodeFile); err == nil {
			return strings.TrimSpace(string(b))
		}
	}
	return ""
}

// enrollLoop enrolls with backoff, waiting for a code when there is none.
// A first enrollment uses the configured code (or none, preregistered); a
// repair (failed or revoked) only a code typed on a surface, or none to
// get a lost enrollment back for a good key.
func (c *Client) enrollLoop(ctx context.Context) error {
	c.mu.Lock()
	repair := c.failure != "" || !c.revokedAt.IsZero() || c.reenroll
	noCode := c.key != nil && (c.recoverEnr || (!repair && c.o.Preregistered))
	code := c.pendingCode
	c.pendingCode = ""
	c.mu.Unlock()
	configured := func() string {
		if repair {
			return "" // never a new identity from a code left in the configuration
		}
		return c.activationCode()
	}
	if code == "" {
		code = configured()
	}
	c.reportState()
	bo := newBackoff()
	for {
		if code == "" && !noCode {
			select {
			case code = <-c.code:
			case <-c.nudge:
				code = configured()
				continue
			case <-time.After(time.Minute):
				code = configured()
				continue
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if code != "" && c.needsNewKey() {
			if err := c.newIdentity(); err != nil {
				c.noteError(err)
				c.o.Log.Error("provisioning: cannot make a new device key", "err", err)
				code = ""
				continue
			}
			noCode = false
		}
		wait, err := c.enrollOnce(ctx, code)
		if err == nil && wait == 0 {
			return nil
		}
		if err != nil {
			c.noteError(err)
			c.o.Log.Warn("provisioning: enrollment failed", "err", err)
			wait = bo.NextBackOff()
			var ra retryAfter
			if errors.As(err, &ra) {
				wait = max(wait, time.Duration(ra))
			}
			c.mu.Lock()
			c.enrollErr = err.Error()
			c.mu.Unlock()
			if errors.Is(err, ErrRevoked) {
				// This key is revoked: only a new key with a new code helps.
				repair, noCode, code = true, false, ""
				c.markRevoked(err)
			} else if errors.Is(err, ErrRefused) && code != "" && !noCode {
				code = "" // unknown, used or expired: wait for another
			}
			c.reportState()
		}
		select {
		case code = <-c.code:
		case <-time.After(wait):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// enrollOnce posts the enrollment; wait > 0 means pending approval.
func (c *Client) enrollOnce(ctx context.Context, code string) (time.Duration, error) {
	csr, err := NewCSR(c.key, "roomd")
	if err != nil {
		return 0, err
	}
	body, _ := json.Marshal(EnrollRequest{ActivationCode: code, CSR: csr, Hardware: c.o.Hardware})
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: c.o.RootCAs, MinVersion: tls.VersionTLS12}}}
	defer hc.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.o.Server+PathEnroll, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("provisioning: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return 0, fmt.Errorf("provisioning: enrolling: %w", err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusAccepted:
		if c.o.Room != nil {
			c.o.Room.ReportStatus(Status{State: Pending, Detail: "key " + c.Fingerprint()})
		}
		c.o.Log.Info("provisioning: enrollment pending approval", "fingerprint", c.Fingerprint())
		wait := 30 * time.Second
		if n, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && n > 0 {
			wait = time.Duration(n) * time.Second
		}
		return wait, nil
	case http.StatusCreated:
	default:
		return 0, statusError(resp)
	}
	var er EnrollResponse
	if err := json.NewDecoder(io.LimitReader(resp.Body, 2*MaxBundleSize)).Decode(&er); err != nil {
		return 0, fmt.Errorf("provisioning: enrollment response: %w", err)
	}
	if len(er.CertChain) == 0 {
		return 0, errors.New("provisioning: enrollment response has no certificate")
	}
	cert, err := x509.ParseCertificate(er.CertChain[0])
	if err != nil || Fingerprint(cert.PublicKey) != c.Fingerprint() {
		return 0, errors.New("provisioning: enrollment certificate is not for this device's key")
	}
	if _, err := x509.ParseCertificate(er.CA); err != nil {
		return 0, fmt.Errorf("provisioning: enrollment response: fleet CA: %w", err)
	}
	// The enrollment's root is trusted on first use, as at the first
	// enrollment: enrolling again re-seeds trust.
	if _, err := c.store.SeedRoot(er.TrustRoot, er.OrgID); err != nil {
		return 0, err
	}
	e := &enrollment{DeviceID: er.DeviceID, OrgID: er.OrgID, CertChain: er.CertChain, CA: er.CA, TrustRoot: er.TrustRoot}
	if err := statefile.SaveJSON(c.file(enrollmentFile), e, 0o600); err != nil {
		return 0, err
	}
	c.store.SetEnrollmentRoot(e.OrgID, e.TrustRoot)
	os.Remove(c.file(revokedFile))
	c.mu.Lock()
	c.enr = e
	c.failure, c.failedAt, c.recoverEnr, c.reenroll, c.enrollErr = "", time.Time{}, false, false, ""
	c.revokedAt, c.refusal, c.refusedAt = time.Time{}, "", time.Time{}
	c.mu.Unlock()
	c.o.Log.Info("provisioning: enrolled", "device", e.DeviceID, "org", e.OrgID)
	if len(er.Config) > 0 {
		if err := c.apply(ctx, er.Config); err != nil {
			c.noteError(err)
		}
	}
	c.reportState()
	return 0, nil
}

// needsNewKey says whether enrolling again needs a new key: the old one is
// lost, damaged, mismatched or revoked.
func (c *Client) needsNewKey() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.key == nil || !c.revokedAt.IsZero()
}

// newIdentity makes a new device key for a new enrollment, keeping the old
// key and enrollment as <name>.replaced-<time>. It runs only for a code an
// administrator typed.
func (c *Client) newIdentity() error {
	names := []string{enrollmentFile, revokedFile}
	if c.o.Key == nil {
		names = append(names, keyFile)
	}
	for _, name := range names {
		p := c.file(name)
		if _, err := os.Lstat(p); err != nil {
			continue
		}
		to, err := statefile.MoveAside(p, "replaced", c.o.Now())
		if err != nil {
			return err
		}
		c.o.Log.Info("provisioning: kept the old identity's file for the new enrollment", "file", name, "as", filepath.Base(to))
	}
	k := c.o.Key
	if k == nil {
		var err error
		if k, err = createKey(c.file(keyFile)); err != nil {
			return err
		}
	}
	c.mu.Lock()
	// The old identity and what was wrong with it are set aside: until the
	// enrollment succeeds the device is simply not enrolled.
	c.key, c.enr, c.revokedAt = k, nil, time.Time{}
	c.failure, c.failedAt, c.recoverEnr = "", time.Time{}, false
	c.mu.Unlock()
	c.o.Log.Info("provisioning: new device key for the new enrollment", "fingerprint", Fingerprint(k.Public()))
	return nil
}

// setupTLS builds the mutual-TLS client from the enrollment.
func (c *Client) setupTLS() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	ca, err := x509.ParseCertificate(c.enr.CA)
	if err != nil {
		return fmt.Errorf("provisioning: fleet CA in enrollment.json: %w; remove the file to enroll again", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	cert := tls.Certificate{Certificate: c.enr.CertChain, PrivateKey: c.key}
	c.http = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{cert}},
		MaxIdleConns:    2, IdleConnTimeout: 10 * time.Minute,
	}}
	return nil
}

func (c *Client) apply(ctx context.Context, raw []byte) error {
	b, changed, err := c.store.Apply(raw, c.enr.OrgID, c.enr.DeviceID)
	if errors.Is(err, ErrRootMismatch) || errors.Is(err, ErrUnknownKey) {
		if rerr := c.fetchRoots(ctx); rerr == nil {
			b, changed, err = c.store.Apply(raw, c.enr.OrgID, c.enr.DeviceID)
		}
	}
	if err != nil {
		c.o.Log.Warn("provisioning: bundle refused; the configuration in force stays", "err", err)
		return err
	}
	if !changed {
		return nil
	}
	terr := c.tellRoom(ctx, b)
	if terr == nil {
		c.o.Log.Info("provisioning: configuration applied", "version", b.Version)
		return nil
	}
	c.o.Log.Warn("provisioning: configuration could not be applied; rolling back", "version", b.Version, "err", terr)
	return c.rollBack(ctx, b, terr)
}

// rollBack goes back from b, which the room could not take (terr), to the
// configuration that worked before it, or to the local one, and asks for
// b's version no more (the server answers 304 for it).
func (c *Client) rollBack(ctx context.Context, b *Bundle, terr error) error {
	c.mu.Lock()
	c.refused = max(c.refused, b.Version)
	c.mu.Unlock()
	if err := c.store.RollBack(); err != nil {
		return errors.Join(terr, err)
	}
	var org, dev string
	if c.enr != nil {
		org, dev = c.enr.OrgID, c.enr.DeviceID
	}
	if prev, _, _ := c.store.Load(org, dev); prev != nil && prev.Version < b.Version {
		if err := c.tellRoom(ctx, prev); err != nil {
			c.noteError(err)
		}
	} else if err := c.backToLocal(ctx); err != nil {
		c.noteError(err)
	}
	return fmt.Errorf("%w; rolled back", terr)
}

// fetchRoots walks the trust root chain forward from the root in force.
func (c *Client) fetchRoots(ctx context.Context) error {
	cur, _, err := c.store.Roots()
	if err != nil || cur == nil || c.http == nil {
		return errors.New("provisioning: no trust root to rotate from")
	}
	resp, err := c.get(ctx, PathRoots+"?after="+strconv.Itoa(cur.Version), "")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var rr RootsResponse
	if err := json.NewDecoder(io.LimitReader(resp.Body, 4*MaxBundleSize)).Decode(&rr); err != nil {
		return fmt.Errorf("provisioning: roots: %w", err)
	}
	for _, raw := range rr.Roots {
		if _, err := c.store.SaveRoot(raw); err != nil {
			return err
		}
	}
	return nil
}

func (c *Client) get(ctx context.Context, path, etag string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.o.Server+path, nil)
	if err != nil {
		return nil, fmt.Errorf("provisioning: %w", err)
	}
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("provisioning: %w", err)
	}
	return resp, nil
}

// cycle polls once, sends queued reports and renews the certificate when
// due; it returns the wait until the next poll.
func (c *Client) cycle(ctx context.Context) (time.Duration, error) {
	// Renew first: with an expired certificate (within the grace period)
	// every other request is refused until it is renewed.
	if err := c.renewIfDue(ctx); err != nil {
		c.noteError(err)
		c.o.Log.Warn("provisioning: certificate renewal failed", "err", err)
	}
	interval := DefaultPollInterval
	etag := ""
	c.mu.Lock()
	if c.inForce == nil && c.refused > 0 {
		// The first bundle could not be applied: do not fetch it again.
		etag = `"v` + strconv.FormatInt(c.refused, 10) + `"`
	}
	c.mu.Unlock()
	if b := c.InForce(); b != nil {
		interval = b.Config.PollInterval()
		etag = `"v` + strconv.FormatInt(b.Version, 10) + `"`
		c.mu.Lock()
		if c.refused > b.Version {
			// Still the version the room could not take: nothing to fetch.
			etag = `"v` + strconv.FormatInt(c.refused, 10) + `"`
		}
		c.mu.Unlock()
	}
	if c.o.Poll > 0 {
		interval = c.o.Poll
	}
	resp, err := c.get(ctx, PathConfig, etag)
	if err != nil {
		return 0, err
	}
	body, rerr := io.ReadAll(io.LimitReader(resp.Body, MaxBundleSize+1))
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		if rerr != nil {
			return 0, fmt.Errorf("provisioning: reading bundle: %w", rerr)
		}
		if err := c.apply(ctx, body); err != nil {
			c.noteError(err)
		}
	case http.StatusNotModified, http.StatusNoContent:
	default:
		resp.Body = io.NopCloser(bytes.NewReader(body))
		return 0, statusError(resp)
	}
	// Re-read the roots: an administrator may have re-seeded them.
	if _, _, err := c.store.Roots(); err != nil {
		c.noteError(err)
	}
	c.reportState()
	c.queueReport()
	if err := c.sendReports(ctx); err != nil {
		return 0, err
	}
	return jitter(interval), nil
}

func (c *Client) queueDir() string { return filepath.Join(c.o.Dir, "reports") }

// queueReport writes the current health report to the on-disk queue, which
// keeps at most the 50 newest.
func (c *Client) queueReport() {
	var r HealthReport
	if c.o.Health != nil {
		r = c.o.Health()
	}
	r.At = c.o.Now().UTC()
	if p := c.State(); p.State != Enrolled {
		r.Provisioning = &ProvisioningHealth{State: p.State.String(), Detail: p.Detail, Since: p.Since}
	}
	c.mu.Lock()
	if b := c.inForce; b != nil {
		r.ConfigVersion, r.ConfigStale = b.Version, b.Stale(r.At)
	}
	r.LastErrors = append(r.LastErrors, c.lastErrs...)
	c.mu.Unlock()
	if err := os.MkdirAll(c.queueDir(), 0o700); err != nil {
		return
	}
	if err := statefile.SaveJSON(filepath.Join(c.queueDir(), fmt.Sprintf("%020d.json", r.At.UnixNano())), r, 0o600); err != nil {
		c.o.Log.Warn("provisioning: queueing report", "err", err)
	}
	names := queued(c.queueDir())
	for len(names) > 50 {
		os.Remove(filepath.Join(c.queueDir(), names[0]))
		names = names[1:]
	}
}

func queued(dir string) []string {
	ents, _ := os.ReadDir(dir)
	var names []string
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".json") && !strings.HasPrefix(e.Name(), ".") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names
}

func (c *Client) sendReports(ctx context.Context) error {
	for _, n := range queued(c.queueDir()) {
		p := filepath.Join(c.queueDir(), n)
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.o.Server+PathReport, bytes.NewReader(b))
		if err != nil {
			return fmt.Errorf("provisioning: %w", err)
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.http.Do(req)
		if err != nil {
			return fmt.Errorf("provisioning: sending report: %w", err)
		}
		resp.Body.Close()
		if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
			return statusError(resp)
		}
		os.Remove(p) // sent, or refused for good
	}
	return nil
}

// renewIfDue renews the device certificate after two thirds of its
// lifetime, plus up to a tenth of it at random so a fleet does not renew
// at once.
func (c *Client) renewIfDue(ctx context.Context) error {
	c.mu.Lock()
	leaf, err := x509.ParseCertificate(c.enr.CertChain[0])
	c.mu.Unlock()
	if err != nil {
		return fmt.Errorf("provisioning: device certificate: %w", err)
	}
	life := leaf.NotAfter.Sub(leaf.NotBefore)
	due := leaf.NotBefore.Add(life*2/3 + randDuration(life/10))
	if c.o.Now().Before(due) {
		return nil
	}
	csr, err := NewCSR(c.key, "roomd")
	if err != nil {
		return err
	}
	body, _ := json.Marshal(RenewRequest{CSR: csr})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.o.Server+PathRenew, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("provisioning: %w", err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("provisioning: renewing certificate: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return statusError(resp)
	}
	var rr RenewResponse
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&rr); err != nil || len(rr.CertChain) == 0 {
		return fmt.Errorf("provisioning: renewal response: %v", err)
	}
	c.mu.Lock()
	e := *c.enr
	e.CertChain = rr.CertChain
	c.mu.Unlock()
	if err := statefile.SaveJSON(c.file(enrollmentFile), &e, 0o600); err != nil {
		return err
	}
	c.mu.Lock()
	c.enr = &e
	c.mu.Unlock()
	c.o.Log.Info("provisioning: certificate renewed")
	return c.setupTLS()
}
