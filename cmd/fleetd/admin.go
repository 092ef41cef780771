package main

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/roomd/roomd/provisioning"
)

// AdminPrefix is where the admin API lives, on its own listener.
const AdminPrefix = "/admin/v1/"

// maxAdminBody bounds an admin request; a configuration is far smaller.
const maxAdminBody = 1 << 20

// LoadAdminToken reads the admin API's bearer token from path, which must
// not be readable or writable by group or others (mode 0600).
func LoadAdminToken(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("fleetd: admin token: %w; make one with `fleetd admin-token %s`", err, path)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("fleetd: admin token %s has mode %v; it must be readable by its owner only (chmod 600)", path, fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("fleetd: admin token: %w", err)
	}
	tok := bytes.TrimSpace(b)
	if len(tok) < 32 {
		return nil, fmt.Errorf("fleetd: admin token in %s is shorter than 32 characters; make one with `fleetd admin-token FILE`", path)
	}
	return tok, nil
}

// CreateAdminToken writes a new random token to path (mode 0600); it never
// replaces an existing file.
func CreateAdminToken(path string) error {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return fmt.Errorf("fleetd: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("fleetd: admin token: %w", err)
	}
	if _, err := f.WriteString(base64.RawURLEncoding.EncodeToString(b) + "\n"); err != nil {
		f.Close()
		return fmt.Errorf("fleetd: admin token: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("fleetd: admin token: %w", err)
	}
	return f.Close()
}

// AdminHandler serves the admin API: the CLI's operations over HTTPS for
// consoles and scripts, and f.Metrics at MetricsPath. Every request
// carries "Authorization: Bearer TOKEN"; tokens are compared in constant
// time.
func (f *Fleet) AdminHandler(token []byte) http.Handler {
	want := sha256.Sum256(token)
	mux := http.NewServeMux()
	p := AdminPrefix
	mux.HandleFunc("POST "+p+"orgs", f.adminCreateOrg)
	mux.HandleFunc("POST "+p+"orgs/{org}/rooms", f.adminCreateRoom)
	mux.HandleFunc("POST "+p+"orgs/{org}/rooms/{room}/codes", f.adminIssueCode)
	mux.HandleFunc("PUT "+p+"orgs/{org}/rooms/{room}/config", f.adminSetConfig)
	mux.HandleFunc("POST "+p+"orgs/{org}/rooms/{room}/preregistrations", f.adminPreregister)
	mux.HandleFunc("GET "+p+"orgs/{org}/health", f.adminHealth)
	mux.HandleFunc("POST "+p+"devices/{device}/approve", f.adminApprove)
	mux.HandleFunc("POST "+p+"devices/{device}/revoke", f.adminRevoke)
	if f.Metrics != nil {
		mux.Handle("GET "+MetricsPath, f.Metrics.Handler())
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		sum := sha256.Sum256([]byte(got))
		if !ok || subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
			f.Log.Warn("admin request refused: bad or missing token", "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr)
			w.Header().Set("WWW-Authenticate", `Bearer realm="fleetd admin"`)
			adminError(w, http.StatusUnauthorized, errors.New("fleetd: admin token required (Authorization: Bearer …)"))
			return
		}
		if r.ContentLength > maxAdminBody {
			w.Header().Set("Connection", "close")
			adminError(w, http.StatusRequestEntityTooLarge, fmt.Errorf("%w: %d bytes, over %d", errTooLarge, r.ContentLength, maxAdminBody))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxAdminBody)
		if r.URL.Path != MetricsPath { // a scrape every few seconds would drown the log
			f.Log.Info("admin request", "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr)
		}
		mux.ServeHTTP(w, r)
	})
	if f.Metrics != nil {
		return f.Metrics.Instrument("admin", h)
	}
	return h
}

// adminError answers with {"error": "..."} and a status that says what
// kind of problem it is.
func adminError(w http.ResponseWriter, code int, err error) {
	writeJSON(w, code, map[string]string{"error": err.Error()})
}

// adminStatus maps an operation's error to its status.
func adminStatus(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, errNotFound):
		adminError(w, http.StatusNotFound, err)
	case errors.Is(err, errExists), errors.Is(err, errCannotApply):
		adminError(w, http.StatusConflict, err)
	case errors.Is(err, errTooLarge):
		adminError(w, http.StatusRequestEntityTooLarge, err)
	case errors.Is(err, provisioning.ErrInvalidConfig), errors.Is(err, provisioning.ErrRemovedKey), errors.Is(err, errBadRequest):
		adminError(w, http.StatusBadRequest, err)
	default:
		adminError(w, http.StatusInternalServerError, err)
	}
}

// Errors of a request's body.
var (
	errBadRequest = errors.New("fleetd: bad request")
	errTooLarge   = errors.New("fleetd: request body too large")
)

// readStrict decodes one JSON value with no unknown fields and nothing after
// it, so a misspelt field is an error rather than a silent default.
func readStrict(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return fmt.Errorf("%w: over %d bytes", errTooLarge, maxAdminBody)
		}
		return fmt.Errorf("%w: %v", errBadRequest, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: data after the JSON value", errBadRequest)
	}
	return nil
}

// AdminOrg is the body of POST orgs; AdminRoom of POST rooms.
type AdminOrg struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// AdminRoom is the body of POST orgs/{org}/rooms.
type AdminRoom struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// AdminCodeRequest is the body of POST …/codes; AdminCode the answer.
type AdminCodeRequest struct {
	TTLSeconds      int  `json:"ttl_seconds,omitempty"` // default 72 h
	RequireApproval bool `json:"require_approval,omitempty"`
}

// AdminCode is an issued activation code; it is shown once.
type AdminCode struct {
	Code      string    `json:"code"`
	ExpiresAt time.Time `json:"expires_at"`
}

// AdminPrereg is the body of POST …/preregistrations and its answer.
type AdminPrereg struct {
	Fingerprint string `json:"fingerprint"`
	Serial      string `json:"serial,omitempty"`
}

// AdminDevice is one device in GET orgs/{org}/health.
type AdminDevice struct {
	ID            string                     `json:"id"`
	Room          string                     `json:"room"`
	Fingerprint   string                     `json:"fingerprint"`
	State         string                     `json:"state"`
	Serial        string                     `json:"serial,omitempty"`
	CreatedAt     time.Time                  `json:"created_at"`
	ConfigVersion int64                      `json:"config_version"` // newest signed for it
	ReportAt      *time.Time                 `json:"report_at,omitempty"`
	Report        *provisioning.HealthReport `json:"report,omitempty"`
}

func validID(kind, id string) error {
	if id == "" || len(id) > 64 || strings.ContainsAny(id, "/ \t\r\n") {
		return fmt.Errorf("%w: %s id %q must be 1 to 64 characters without slashes or spaces", errBadRequest, kind, id)
	}
	return nil
}

func (f *Fleet) adminCreateOrg(w http.ResponseWriter, r *http.Request) {
	var o AdminOrg
	if err := readStrict(r, &o); err != nil {
		adminStatus(w, err)
		return
	}
	if err := validID("organisation", o.ID); err != nil {
		adminStatus(w, err)
		return
	}
	if err := f.Store.CreateOrg(r.Context(), o.ID, o.Name); err != nil {
		adminStatus(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, o)
}

func (f *Fleet) adminCreateRoom(w http.ResponseWriter, r *http.Request) {
	var rm AdminRoom
	if err := readStrict(r, &rm); err != nil {
		adminStatus(w, err)
		return
	}
	if err := validID("room", rm.ID); err != nil {
		adminStatus(w, err)
		return
	}
	if err := f.Store.CreateRoom(r.Context(), r.PathValue("org"), rm.ID, rm.Name); err != nil {
		adminStatus(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, rm)
}

func (f *Fleet) adminIssueCode(w http.ResponseWriter, r *http.Request) {
	var req AdminCodeRequest
	if err := readStrict(r, &req); err != nil {
		adminStatus(w, err)
		return
	}
	ttl := 72 * time.Hour
	if req.TTLSeconds != 0 {
		ttl = time.Duration(req.TTLSeconds) * time.Second
	}
	if ttl < time.Minute || ttl > 90*24*time.Hour {
		adminStatus(w, fmt.Errorf("%w: ttl_seconds must be 60 to 7776000", errBadRequest))
		return
	}
	code, err := f.IssueCode(r.Context(), r.PathValue("org"), r.PathValue("room"), ttl, req.RequireApproval)
	if err != nil {
		adminStatus(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, AdminCode{Code: code, ExpiresAt: f.now().Add(ttl).UTC()})
}

func (f *Fleet) adminSetConfig(w http.ResponseWriter, r *http.Request) {
	var cfg provisioning.Config
	if err := readStrict(r, &cfg); err != nil {
		adminStatus(w, err)
		return
	}
	if err := f.SetConfig(r.Context(), r.PathValue("org"), r.PathValue("room"), cfg); err != nil {
		adminStatus(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (f *Fleet) adminPreregister(w http.ResponseWriter, r *http.Request) {
	var p AdminPrereg
	if err := readStrict(r, &p); err != nil {
		adminStatus(w, err)
		return
	}
	fp, err := f.Preregister(r.Context(), r.PathValue("org"), r.PathValue("room"), p.Fingerprint, p.Serial)
	if err != nil {
		if strings.Contains(err.Error(), "is not a key fingerprint") {
			err = fmt.Errorf("%w: %v", errBadRequest, err)
		}
		adminStatus(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, AdminPrereg{Fingerprint: fp, Serial: p.Serial})
}

func (f *Fleet) adminHealth(w http.ResponseWriter, r *http.Request) {
	hs, err := f.Store.Fleet(r.Context(), r.PathValue("org"))
	if err != nil {
		adminStatus(w, err)
		return
	}
	out := make([]AdminDevice, 0, len(hs))
	for _, h := range hs {
		d := AdminDevice{ID: h.ID, Room: h.RoomID, Fingerprint: h.Fingerprint, State: h.State, Serial: h.Serial,
			CreatedAt: h.CreatedAt.UTC(), ConfigVersion: h.ConfigVersion}
		if !h.ReportAt.IsZero() {
			at := h.ReportAt.UTC()
			d.ReportAt = &at
		}
		if h.Report != "" {
			var rep provisioning.HealthReport
			if json.Unmarshal([]byte(h.Report), &rep) == nil {
				d.Report = &rep
			}
		}
		out = append(out, d)
	}
	writeJSON(w, http.StatusOK, out)
}

func (f *Fleet) adminApprove(w http.ResponseWriter, r *http.Request) {
	if err := f.Approve(r.Context(), r.PathValue("device")); err != nil {
		if strings.Contains(err.Error(), "not pending") {
			adminError(w, http.StatusConflict, err)
			return
		}
		adminStatus(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (f *Fleet) adminRevoke(w http.ResponseWriter, r *http.Request) {
	if err := f.Revoke(r.Context(), r.PathValue("device")); err != nil {
		adminStatus(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
