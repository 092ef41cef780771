package schedule

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
)

// feedClient is the client the feeds are fetched with when the caller
// gives none: the system's roots, plus the certificates of caFile when it
// is set (a calendar server behind a private CA), so that a public feed
// the fleet names still verifies.
func feedClient(caFile string) (*http.Client, error) {
	if caFile == "" {
		return &http.Client{Timeout: fetchTimeout}, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("schedule: ca_file: %w; fix the file or remove ca_file", err)
	}
	roots, err := x509.SystemCertPool()
	if err != nil || roots == nil {
		roots = x509.NewCertPool()
	}
	if !roots.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("schedule: ca_file %s holds no PEM certificate; give it the calendar server's CA certificates (PEM)", caFile)
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	return &http.Client{Timeout: fetchTimeout, Transport: t}, nil
}
