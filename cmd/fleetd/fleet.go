package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/roomd/roomd/internal/fleetmetrics"
	"github.com/roomd/roomd/provisioning"
)

// Fleet is the fleet server: device API handlers and admin operations.
type Fleet struct {
	Store Store
	Keys  *Keys
	Log   *slog.Logger
	Now   func() time.Time
	// BundleValidity is how long a signed bundle is fresh; devices keep an
	// expired one in force and report it stale.
	BundleValidity time.Duration
	// EnrollLimits throttle enrollment attempts; zero fields take their
	// defaults.
	EnrollLimits EnrollLimits
	// Metrics, when not nil, counts and times both APIs' requests and is
	// served at MetricsPath on the admin API; serveOn makes it.
	Metrics *fleetmetrics.Metrics
}

func (f *Fleet) now() time.Time {
	if f.Now != nil {
		return f.Now()
	}
	return time.Now()
}

func (f *Fleet) validity() time.Duration {
	if f.BundleValidity == 0 {
		return 30 * 24 * time.Hour
	}
	return f.BundleValidity
}

// Handler serves the device API. TLS must request client certificates
// (tls.RequestClientCert); the handler verifies them itself so that renewal
// can accept a recently expired one. Enrollment is throttled by
// f.EnrollLimits.
func (f *Fleet) Handler() http.Handler {
	h := f.handler(newEnrollGuard(f.EnrollLimits, f.now, f.Log))
	if f.Metrics != nil {
		return f.Metrics.Instrument("device", h)
	}
	return h
}

func (f *Fleet) handler(g *enrollGuard) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc(routeEnroll, f.enroll(g)) // limits its body after the throttle
	mux.HandleFunc(routeConfig, limitBody(maxGetBody, f.device(f.config, false)))
	mux.HandleFunc("POST "+provisioning.PathReport, limitBody(maxReportBody, f.device(f.report, false)))
	mux.HandleFunc("POST "+provisioning.PathRenew, limitBody(maxRenewBody, f.device(f.renew, true)))
	mux.HandleFunc("GET "+provisioning.PathRoots, limitBody(maxGetBody, f.roots))
	return mux
}

// The device API's request bodies, each a few times the largest a device
// sends. A body over its limit is refused with 413 before it is read when
// its Content-Length says so, and as soon as it passes the limit when it
// is chunked.
const (
	maxEnrollBody = 16 << 10 // a code, a CSR and hardware facts: about 1 KiB
	maxRenewBody  = 16 << 10 // a CSR
	maxReportBody = 64 << 10 // a health report with its last ten errors: a few KiB
	maxGetBody    = 1 << 10  // GETs carry none
)

// limitBody bounds r's body to n bytes; see bodyFits.
func limitBody(n int64, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if bodyFits(w, r, n) {
			h(w, r)
		}
	}
}

// bodyFits answers 413 and returns false when r declares a body over n
// bytes, without reading any of it; otherwise it bounds the body to n bytes
// (a read past them fails with *http.MaxBytesError) and returns true.
func bodyFits(w http.ResponseWriter, r *http.Request, n int64) bool {
	if r.ContentLength > n {
		w.Header().Set("Connection", "close")
		httpError(w, http.StatusRequestEntityTooLarge, "request body of "+strconv.FormatInt(r.ContentLength, 10)+" bytes is over this endpoint's "+strconv.FormatInt(n, 10))
		return false
	}
	r.Body = http.MaxBytesReader(w, r.Body, n)
	return true
}

// badBody answers a body that could not be read or decoded: 413 when it
// was over its limit, 400 otherwise.
func badBody(w http.ResponseWriter, what string, err error) {
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		httpError(w, http.StatusRequestEntityTooLarge, what+": "+err.Error())
		return
	}
	httpError(w, http.StatusBadRequest, what+": "+err.Error())
}

// TLSConfig returns the server side of the device API's TLS.
func (f *Fleet) TLSConfig(names ...string) (*tls.Config, error) {
	c, err := f.Keys.serverCert(names)
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		ClientAuth:   tls.RequestClientCert,
		Certificates: []tls.Certificate{{Certificate: [][]byte{c.der, f.Keys.CACert.Raw}, PrivateKey: c.key}},
	}, nil
}

func httpError(w http.ResponseWriter, code int, msg string) {
	http.Error(w, "fleetd: "+msg, code)
}

// readJSON decodes r's body, bounded by bodyFits, into v.
func readJSON(r *http.Request, v any) error {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// redeemCode uses an activation code up: one hashed under the code key,
// or one stored before keyed hashing (see codes.go) until it expires.
func (f *Fleet) redeemCode(ctx context.Context, code string) (Code, error) {
	c, err := f.Store.UseCode(ctx, f.Keys.HashCode(code), f.now())
	if errors.Is(err, errCodeUsed) {
		return f.Store.UseCode(ctx, legacyCodeHash(code), f.now())
	}
	return c, err
}

// enroll answers POST /v1/enroll, throttled by g: an attempt over g's
// limits gets 429 and a Retry-After before anything else is done.
func (f *Fleet) enroll(g *enrollGuard) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		t, wait, perAddress, ok := g.admit(r.RemoteAddr)
		if !ok {
			secs := strconv.Itoa(int(wait / time.Second))
			w.Header().Set("Retry-After", secs)
			who := "this address"
			if !perAddress {
				who = "all addresses"
			}
			httpError(w, http.StatusTooManyRequests, "too many refused enrollments from "+who+"; retry after "+secs+" s")
			return
		}
		o, attrs := enrollRefused, []any{"err", "request body over " + strconv.Itoa(maxEnrollBody) + " bytes"}
		if bodyFits(w, r, maxEnrollBody) {
			o, attrs = f.tryEnroll(w, r)
		}
		g.done(t, o, attrs...)
	}
}

// tryEnroll answers an admitted enrollment and says what became of it; a
// refusal comes with what to log about it.
func (f *Fleet) tryEnroll(w http.ResponseWriter, r *http.Request) (enrollOutcome, []any) {
	var req provisioning.EnrollRequest
	if err := readJSON(r, &req); err != nil {
		badBody(w, "enroll request", err)
		return enrollRefused, []any{"err", err}
	}
	csr, err := x509.ParseCertificateRequest(req.CSR)
	if err != nil || csr.CheckSignature() != nil {
		httpError(w, http.StatusBadRequest, "enroll request: CSR missing or not signed by its key")
		return enrollRefused, []any{"err", "CSR missing or not signed by its key"}
	}
	fp := provisioning.Fingerprint(csr.PublicKey)
	ctx := r.Context()
	outcome := enrollNeutral // a known key asking again
	d, err := f.Store.DeviceByFingerprint(ctx, fp)
	switch {
	case errors.Is(err, errNotFound) && req.ActivationCode == "":
		// No code: only a key registered at the factory enrolls, once.
		p, err := f.Store.UsePrereg(ctx, fp, req.Hardware.Serial, f.now())
		if err != nil {
			httpError(w, http.StatusForbidden, "unknown device; enroll with an activation code, or register the key "+fp+" with its room first (fleetd preregister)")
			return enrollRefused, []any{"fingerprint", fp, "serial", req.Hardware.Serial, "err", err}
		}
		d = Device{ID: newID(), OrgID: p.OrgID, RoomID: p.RoomID, Fingerprint: fp, State: stateActive,
			Serial: req.Hardware.Serial, CreatedAt: f.now()}
		if err := f.Store.CreateDevice(ctx, d); err != nil {
			httpError(w, http.StatusInternalServerError, err.Error())
			return enrollNeutral, nil
		}
		outcome = enrollEnrolled
		f.Log.Info("device enrolled (registered at the factory)", "device", d.ID, "org", d.OrgID, "room", d.RoomID, "fingerprint", fp)
	case errors.Is(err, errNotFound):
		code, err := f.redeemCode(ctx, req.ActivationCode)
		if err != nil {
			httpError(w, http.StatusForbidden, "activation code unknown, used or expired")
			return enrollRefused, []any{"fingerprint", fp, "err", err}
		}
		d = Device{ID: newID(), OrgID: code.OrgID, RoomID: code.RoomID, Fingerprint: fp, State: stateActive,
			Serial: req.Hardware.Serial, CreatedAt: f.now()}
		if code.NeedsApproval {
			d.State = statePending
		}
		if err := f.Store.CreateDevice(ctx, d); err != nil {
			httpError(w, http.StatusInternalServerError, err.Error())
			return enrollNeutral, nil
		}
		outcome = enrollEnrolled
		f.Log.Info("device enrolled", "device", d.ID, "org", d.OrgID, "room", d.RoomID, "state", d.State, "fingerprint", fp)
	case err != nil:
		httpError(w, http.StatusInternalServerError, err.Error())
		return enrollNeutral, nil
	}
	switch d.State {
	case statePending:
		w.Header().Set("Retry-After", "30")
		writeJSON(w, http.StatusAccepted, provisioning.PendingResponse{Fingerprint: fp, RetryAfter: 30})
		return outcome, nil
	case stateRevoked:
		httpError(w, http.StatusForbidden, "device revoked")
		return outcome, nil
	}
	cert, err := f.Keys.issueDevice(csr.PublicKey, d.ID, f.now())
	if err != nil {
		httpError(w, http.StatusInternalServerError, err.Error())
		return outcome, nil
	}
	resp := provisioning.EnrollResponse{DeviceID: d.ID, OrgID: d.OrgID, CertChain: [][]byte{cert}, CA: f.Keys.CACert.Raw,
		TrustRoot: f.Keys.Roots[len(f.Keys.Roots)-1]}
	if _, raw, err := f.ensureBundle(ctx, d); err == nil {
		resp.Config = raw
	} else if !errors.Is(err, errNotFound) {
		httpError(w, http.StatusInternalServerError, err.Error())
		return outcome, nil
	}
	writeJSON(w, http.StatusCreated, resp)
	return outcome, nil
}

// ensureBundle returns the device's newest bundle, signing one from the
// room's configuration if there is none yet.
func (f *Fleet) ensureBundle(ctx context.Context, d Device) (int64, []byte, error) {
	v, raw, err := f.Store.Bundle(ctx, d.ID)
	if !errors.Is(err, errNotFound) {
		return v, raw, err
	}
	cfgJSON, err := f.Store.RoomConfig(ctx, d.OrgID, d.RoomID)
	if err != nil {
		return 0, nil, err
	}
	if cfgJSON == "" {
		return 0, nil, errNotFound
	}
	return f.signFor(ctx, d, cfgJSON)
}

func (f *Fleet) signFor(ctx context.Context, d Device, cfgJSON string) (int64, []byte, error) {
	cfg, err := parseConfigJSON(cfgJSON)
	if err != nil {
		return 0, nil, err
	}
	v, err := f.Store.NextBundleVersion(ctx, d.ID)
	if err != nil {
		return 0, nil, err
	}
	raw, err := f.Keys.signBundle(d.OrgID, d.ID, v, cfg, f.now(), f.validity())
	if err != nil {
		return 0, nil, err
	}
	return v, raw, f.Store.PutBundle(ctx, d.ID, v, raw)
}

// device wraps handlers that need a verified device certificate. With
// renewal set, a certificate expired less than RenewGrace ago is accepted.
func (f *Fleet) device(h func(http.ResponseWriter, *http.Request, Device, *x509.Certificate), renewal bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
			httpError(w, http.StatusUnauthorized, "client certificate required")
			return
		}
		leaf := r.TLS.PeerCertificates[0]
		at := f.now()
		if renewal && at.After(leaf.NotAfter) && at.Before(leaf.NotAfter.Add(RenewGrace)) {
			at = leaf.NotAfter.Add(-time.Second)
		}
		pool := x509.NewCertPool()
		pool.AddCert(f.Keys.CACert)
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, CurrentTime: at, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
			httpError(w, http.StatusUnauthorized, "client certificate: "+err.Error())
			return
		}
		d, err := f.Store.Device(r.Context(), leaf.Subject.CommonName)
		if err != nil {
			httpError(w, http.StatusUnauthorized, "unknown device")
			return
		}
		if d.State != stateActive || d.Fingerprint != provisioning.Fingerprint(leaf.PublicKey) {
			httpError(w, http.StatusForbidden, "device "+d.State)
			return
		}
		h(w, r, d, leaf)
	}
}

func etag(v int64) string { return `"v` + strconv.FormatInt(v, 10) + `"` }

func (f *Fleet) config(w http.ResponseWriter, r *http.Request, d Device, _ *x509.Certificate) {
	v, raw, err := f.ensureBundle(r.Context(), d)
	if errors.Is(err, errNotFound) {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if err != nil {
		httpError(w, http.StatusInternalServerError, err.Error())
		return
	}
	tag := etag(v)
	w.Header().Set("ETag", tag)
	w.Header().Set("X-Roomd-Root-Version", strconv.Itoa(f.Keys.Root.Version))
	if r.Header.Get("If-None-Match") == tag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", "application/vnd.dsse+json")
	_, _ = w.Write(raw)
}

func (f *Fleet) report(w http.ResponseWriter, r *http.Request, d Device, _ *x509.Certificate) {
	var rep provisioning.HealthReport
	if err := readJSON(r, &rep); err != nil {
		badBody(w, "report", err)
		return
	}
	b, _ := json.Marshal(rep)
	if err := f.Store.AddReport(r.Context(), d.ID, f.now(), string(b)); err != nil {
		httpError(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (f *Fleet) renew(w http.ResponseWriter, r *http.Request, d Device, leaf *x509.Certificate) {
	var req provisioning.RenewRequest
	if err := readJSON(r, &req); err != nil {
		badBody(w, "renew", err)
		return
	}
	csr, err := x509.ParseCertificateRequest(req.CSR)
	if err != nil || csr.CheckSignature() != nil || provisioning.Fingerprint(csr.PublicKey) != d.Fingerprint {
		httpError(w, http.StatusBadRequest, "renew: CSR must be signed by the enrolled key")
		return
	}
	cert, err := f.Keys.issueDevice(csr.PublicKey, d.ID, f.now())
	if err != nil {
		httpError(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, provisioning.RenewResponse{CertChain: [][]byte{cert}})
}

func (f *Fleet) roots(w http.ResponseWriter, r *http.Request) {
	after, _ := strconv.Atoi(r.URL.Query().Get("after"))
	var resp provisioning.RootsResponse
	for i, raw := range f.Keys.Roots {
		if i+1 > after {
			resp.Roots = append(resp.Roots, raw)
		}
	}
	writeJSON(w, http.StatusOK, resp)
}

func newID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return "dev-" + hex.EncodeToString(b)
}

// Admin operations.

// IssueCode creates a single-use activation code for a room, valid for ttl:
// 16 digits in groups of four, as the room vendors do.
func (f *Fleet) IssueCode(ctx context.Context, org, room string, ttl time.Duration, needsApproval bool) (string, error) {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	var digits strings.Builder
	for i, x := range b {
		if i > 0 && i%4 == 0 {
			digits.WriteByte('-')
		}
		digits.WriteByte('0' + x%10)
	}
	code := digits.String()
	err := f.Store.CreateCode(ctx, Code{Hash: f.Keys.HashCode(code), OrgID: org, RoomID: room, ExpiresAt: f.now().Add(ttl), NeedsApproval: needsApproval})
	if err != nil {
		return "", err
	}
	return code, nil
}

// SetConfig validates and stores a room's configuration and signs a new
// bundle version for each of the room's devices. It refuses keys the
// bundle schema removed, and a configuration whose schema a device of the
// room reported it cannot apply.
func (f *Fleet) SetConfig(ctx context.Context, org, room string, cfg provisioning.Config) error {
	if err := cfg.PrepareToPublish(); err != nil {
		return err
	}
	if err := f.checkTargets(ctx, org, room, cfg.RequiredSchema()); err != nil {
		return err
	}
	b, _ := json.Marshal(cfg)
	if err := f.Store.SetRoomConfig(ctx, org, room, string(b)); err != nil {
		return err
	}
	ds, err := f.Store.RoomDevices(ctx, org, room)
	if err != nil {
		return err
	}
	for _, d := range ds {
		if d.State == stateRevoked {
			continue
		}
		if _, _, err := f.signFor(ctx, d, string(b)); err != nil {
			return fmt.Errorf("fleetd: signing for %s: %w", d.ID, err)
		}
	}
	return nil
}

// NormalizeFingerprint turns a key fingerprint as typed (any case, with or
// without hyphens or spaces) into the form devices show: 8 groups of 4 hex
// digits.
func NormalizeFingerprint(s string) (string, error) {
	h := strings.ToUpper(strings.NewReplacer("-", "", " ", "", ":", "").Replace(strings.TrimSpace(s)))
	if _, err := hex.DecodeString(h); err != nil || len(h) != 32 {
		return "", fmt.Errorf("fleetd: %q is not a key fingerprint (32 hex digits, as ABCD-EF01-…, as the device shows it; or register its public key with -key)", s)
	}
	var parts []string
	for i := 0; i < len(h); i += 4 {
		parts = append(parts, h[i:i+4])
	}
	return strings.Join(parts, "-"), nil
}

// Preregister binds a device key (its fingerprint) to a room before the
// device ships; its first enrollment then needs no activation code. A
// serial, when given, must match the one the device reports.
func (f *Fleet) Preregister(ctx context.Context, org, room, fingerprint, serial string) (string, error) {
	fp, err := NormalizeFingerprint(fingerprint)
	if err != nil {
		return "", err
	}
	if err := f.Store.Preregister(ctx, Prereg{Fingerprint: fp, OrgID: org, RoomID: room, Serial: strings.TrimSpace(serial), CreatedAt: f.now()}); err != nil {
		return "", err
	}
	return fp, nil
}

// Approve activates a pending device, named by id or key fingerprint.
func (f *Fleet) Approve(ctx context.Context, idOrFingerprint string) error {
	d, err := f.Store.Device(ctx, idOrFingerprint)
	if errors.Is(err, errNotFound) {
		fp := idOrFingerprint
		if n, nerr := NormalizeFingerprint(fp); nerr == nil {
			fp = n
		}
		d, err = f.Store.DeviceByFingerprint(ctx, fp)
	}
	if err != nil {
		return err
	}
	if d.State != statePending {
		return fmt.Errorf("fleetd: device %s is %s, not pending", d.ID, d.State)
	}
	return f.Store.SetDeviceState(ctx, d.ID, stateActive)
}

// Revoke cuts a device off: its certificate is no longer accepted.
func (f *Fleet) Revoke(ctx context.Context, id string) error {
	return f.Store.SetDeviceState(ctx, id, stateRevoked)
}
