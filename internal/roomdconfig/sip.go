package roomdconfig

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
)

// SIP is the [sip] table: the room's SIP user agent for sip:/sips:
// meetings, room-to-room calls and inbound calls. No listen address means
// no SIP. docs/config.md documents every key.
type SIP struct {
	// ListenUDP, ListenTCP and ListenTLS are host:port addresses; TLS
	// needs TLSCertFile and TLSKeyFile.
	ListenUDP   string `toml:"listen_udp"`
	ListenTCP   string `toml:"listen_tcp"`
	ListenTLS   string `toml:"listen_tls"`
	TLSCertFile string `toml:"tls_cert_file"`
	TLSKeyFile  string `toml:"tls_key_file"`
	// Advertise is the address far ends reach the room on, when the
	// listeners are on 0.0.0.0.
	Advertise string `toml:"advertise"`
	// User is the user part of the room's address (sip:User@host).
	User string `toml:"user"`
	// DisplayName is shown to far ends; "" means the room's name.
	DisplayName string `toml:"display_name"`
	// Encryption is required, preferred or off; Keying sdes or dtls.
	Encryption string `toml:"encryption"`
	Keying     string `toml:"keying"`
	// Inbound is off, allow (only Allow's callers) or ring (anyone).
	Inbound string   `toml:"inbound"`
	Allow   []string `toml:"allow"`
	// RTPTimeoutSeconds without media fails a call.
	RTPTimeoutSeconds int `toml:"rtp_timeout_seconds"`
	// RTPPorts is the UDP port range calls' media binds, "16384-32767":
	// an even first port, RTP on even ports and RTCP on the odd one
	// above. Empty means ports the system chooses.
	RTPPorts string `toml:"rtp_ports"`

	Account SIPAccount `toml:"account"`
}

// SIPAccount is [sip.account]: the registration. No AOR means none.
type SIPAccount struct {
	AOR       string `toml:"aor"`
	Registrar string `toml:"registrar"`
	Username  string `toml:"username"`
	// Password is the digest secret; PasswordFile a file holding it, mode
	// 0600. Neither is ever logged or shown.
	Password     string `toml:"password"`
	PasswordFile string `toml:"password_file"`
}

// Enabled says whether SIP runs: some listen address is set.
func (s *SIP) Enabled() bool { return s.ListenUDP != "" || s.ListenTCP != "" || s.ListenTLS != "" }

func (s *SIP) defaults() {
	if s.User == "" {
		s.User = "room"
	}
	if s.Encryption == "" {
		s.Encryption = "required"
	}
	if s.Keying == "" {
		s.Keying = "sdes"
	}
	if s.Inbound == "" {
		s.Inbound = "off"
	}
	if s.RTPTimeoutSeconds == 0 {
		s.RTPTimeoutSeconds = 10
	}
}

// minRTPPorts is the smallest range rtp_ports accepts: one call's audio
// and video pairs.
const minRTPPorts = 4

// RTPPortRange is RTPPorts as its first and last port; 0, 0 when unset.
func (s *SIP) RTPPortRange() (first, last int, err error) {
	if s.RTPPorts == "" {
		return 0, 0, nil
	}
	a, b, ok := strings.Cut(s.RTPPorts, "-")
	if ok {
		first, err = strconv.Atoi(strings.TrimSpace(a))
		if err == nil {
			last, err = strconv.Atoi(strings.TrimSpace(b))
		}
	}
	switch {
	case !ok || err != nil:
		return 0, 0, fmt.Errorf("sip.rtp_ports %q: use first-last, such as 16384-32767", s.RTPPorts)
	case first < 1024 || last > 65535:
		return 0, 0, fmt.Errorf("sip.rtp_ports %q: use ports within 1024-65535", s.RTPPorts)
	case first%2 != 0:
		return 0, 0, fmt.Errorf("sip.rtp_ports %q: start at an even port (RTP is even, RTCP the odd one above)", s.RTPPorts)
	case last-first+1 < minRTPPorts:
		return 0, 0, fmt.Errorf("sip.rtp_ports %q: a call needs at least %d ports (audio and video, RTP and RTCP)", s.RTPPorts, minRTPPorts)
	}
	return first, last, nil
}

// AccountPassword reads the account's password: Password, or the first
// line of PasswordFile, which must be readable by its owner only.
func (s *SIP) AccountPassword() (string, error) {
	a := s.Account
	if a.PasswordFile == "" {
		return a.Password, nil
	}
	fi, err := os.Stat(a.PasswordFile)
	if err != nil {
		return "", fmt.Errorf("sip.account.password_file: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("sip.account.password_file %s is readable by others (mode %v); chmod 600 it", a.PasswordFile, fi.Mode().Perm())
	}
	data, err := os.ReadFile(a.PasswordFile)
	if err != nil {
		return "", fmt.Errorf("sip.account.password_file: %w", err)
	}
	line, _, _ := strings.Cut(string(data), "\n")
	return strings.TrimSpace(line), nil
}

func (s *SIP) validate() error {
	var errs []error
	for _, l := range []struct{ key, addr string }{{"listen_udp", s.ListenUDP}, {"listen_tcp", s.ListenTCP}, {"listen_tls", s.ListenTLS}} {
		if l.addr == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(l.addr); err != nil {
			errs = append(errs, fmt.Errorf("sip.%s %q: use host:port, such as 0.0.0.0:5060", l.key, l.addr))
		}
	}
	if s.ListenTLS != "" && (s.TLSCertFile == "" || s.TLSKeyFile == "") {
		errs = append(errs, errors.New("sip.listen_tls needs tls_cert_file and tls_key_file"))
	}
	if strings.ContainsAny(s.User, "@:;? ") {
		errs = append(errs, fmt.Errorf("sip.user %q: use the user part alone, such as room42", s.User))
	}
	switch s.Encryption {
	case "required", "preferred", "off":
	default:
		errs = append(errs, fmt.Errorf("sip.encryption %q: use required, preferred or off", s.Encryption))
	}
	switch s.Keying {
	case "sdes", "dtls":
	default:
		errs = append(errs, fmt.Errorf("sip.keying %q: use sdes or dtls", s.Keying))
	}
	switch s.Inbound {
	case "off", "ring":
	case "allow":
		if len(s.Allow) == 0 {
			errs = append(errs, errors.New("sip.inbound \"allow\" needs sip.allow, the callers' addresses (sip:alice@example.org)"))
		}
	default:
		errs = append(errs, fmt.Errorf("sip.inbound %q: use off, allow or ring", s.Inbound))
	}
	for _, a := range s.Allow {
		if !strings.HasPrefix(a, "sip:") && !strings.HasPrefix(a, "sips:") {
			errs = append(errs, fmt.Errorf("sip.allow %q: use a SIP address, such as sip:alice@example.org", a))
		}
	}
	if s.RTPTimeoutSeconds < 2 || s.RTPTimeoutSeconds > 300 {
		errs = append(errs, fmt.Errorf("sip.rtp_timeout_seconds %d: use 2 to 300", s.RTPTimeoutSeconds))
	}
	if _, _, err := s.RTPPortRange(); err != nil {
		errs = append(errs, err)
	}
	a := s.Account
	if a.AOR != "" {
		if !strings.HasPrefix(a.AOR, "sip:") && !strings.HasPrefix(a.AOR, "sips:") {
			errs = append(errs, fmt.Errorf("sip.account.aor %q: use the address of record, such as sip:room42@pbx.example.org", a.AOR))
		}
		if a.Password != "" && a.PasswordFile != "" {
			errs = append(errs, errors.New("sip.account: set password or password_file, not both"))
		}
		if !s.Enabled() {
			errs = append(errs, errors.New("sip.account needs a listen address (sip.listen_udp, listen_tcp or listen_tls)"))
		}
	} else if a.Registrar != "" || a.Username != "" || a.Password != "" || a.PasswordFile != "" {
		errs = append(errs, errors.New("sip.account needs aor, the address of record (sip:room42@pbx.example.org)"))
	}
	return errors.Join(errs...)
}
