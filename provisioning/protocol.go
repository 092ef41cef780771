package provisioning

import (
	"encoding/json"
	"time"
)

// Paths of the device API; docs/provisioning.md specifies them.
const (
	PathEnroll = "/v1/enroll"
	PathConfig = "/v1/config"
	PathReport = "/v1/report"
	PathRenew  = "/v1/renew"
	PathRoots  = "/v1/roots"
)

// EnrollRequest is the body of POST /v1/enroll. The CSR proves possession
// of the device key; the activation code says which organisation and room.
type EnrollRequest struct {
	ActivationCode string   `json:"activation_code,omitempty"`
	CSR            []byte   `json:"csr"` // DER, base64 in JSON
	Hardware       Hardware `json:"hw"`
}

// Hardware describes the device at enrollment.
type Hardware struct {
	Serial   string `json:"serial,omitempty"`
	Board    string `json:"board,omitempty"`
	Software string `json:"software,omitempty"`
}

// EnrollResponse is the body of 201 Created. A 202 Accepted carries
// [PendingResponse] instead.
type EnrollResponse struct {
	DeviceID  string          `json:"device_id"`
	OrgID     string          `json:"org_id"`
	CertChain [][]byte        `json:"cert_chain"` // DER, device certificate first
	CA        []byte          `json:"ca"`         // DER of the fleet CA that signs server and device certificates
	TrustRoot json.RawMessage `json:"trust_root"` // signed trust root envelope
	Config    json.RawMessage `json:"config,omitempty"`
}

// PendingResponse is the body of 202 Accepted: the device waits for an
// administrator to approve the key with this fingerprint.
type PendingResponse struct {
	Fingerprint string `json:"fingerprint"`
	RetryAfter  int    `json:"retry_after_seconds"`
}

// RenewRequest is the body of POST /v1/renew: a new CSR for the same key.
type RenewRequest struct {
	CSR []byte `json:"csr"`
}

// RenewResponse carries the new certificate chain.
type RenewResponse struct {
	CertChain [][]byte `json:"cert_chain"`
}

// RootsResponse is the chain of signed trust roots after a version.
type RootsResponse struct {
	Roots []json.RawMessage `json:"roots"`
}

// HealthReport is the body of POST /v1/report.
type HealthReport struct {
	At       time.Time `json:"at"`
	Software string    `json:"software"`
	// Schemas are the bundle schemas this software applies; absent from
	// rooms older than schema numbers, which apply schema 1 only.
	Schemas       []int             `json:"schemas,omitempty"`
	ConfigVersion int64             `json:"config_version"`
	ConfigStale   bool              `json:"config_stale"`
	UptimeSeconds int64             `json:"uptime_seconds"`
	Hardware      map[string]string `json:"hardware,omitempty"` // device -> loaded|skipped|failed[: reason]
	CallQuality   *CallQuality      `json:"call_quality,omitempty"`
	// Environment is the room's latest sensor readings; absent when it
	// has no sensor.
	Environment *Environment `json:"environment,omitempty"`
	LastErrors  []string     `json:"last_errors,omitempty"`
	// Provisioning is set when provisioning is not simply enrolled: a
	// damaged store or a trust root that no longer verifies.
	Provisioning *ProvisioningHealth `json:"provisioning,omitempty"`
}

// Environment is what the room's sensors last read; a quantity no sensor
// measures is absent.
type Environment struct {
	TemperatureC *float64 `json:"temperature_c,omitempty"`
	HumidityPct  *float64 `json:"humidity_pct,omitempty"`
	Occupied     *bool    `json:"occupied,omitempty"`
}

// ProvisioningHealth is the device's provisioning state in a health report.
type ProvisioningHealth struct {
	State  string    `json:"state"` // as xStatus Provisioning State: Failed, …
	Detail string    `json:"detail,omitempty"`
	Since  time.Time `json:"since,omitzero"`
}

// CallQuality summarises calls since the last report.
type CallQuality struct {
	Calls        int     `json:"calls"`
	Minutes      float64 `json:"minutes"`
	AvgRTTMillis int     `json:"avg_rtt_ms"`
	AvgLossPct   float64 `json:"avg_loss_pct"`
	Reconnects   int     `json:"reconnects"`
	// Protocols sums up the calls by the protocol that carried them
	// ("Janus", "WHIP", "SIP"); absent when no call said its protocol.
	Protocols map[string]ProtocolQuality `json:"protocols,omitempty"`
}

// ProtocolQuality is one protocol's calls since the last report.
type ProtocolQuality struct {
	Calls        int     `json:"calls"`
	Failures     int     `json:"failures"`
	AvgRTTMillis int     `json:"avg_rtt_ms"`
	AvgLossPct   float64 `json:"avg_loss_pct"`
}
