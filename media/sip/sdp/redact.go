package sdp

import "regexp"

// secretValue matches the key of an a=crypto inline: parameter and the
// ICE password.
var secretValue = regexp.MustCompile(`(?i)(inline:)[A-Za-z0-9+/=]+|(a=ice-pwd:)[^\r\n]+`)

// Redact returns body with every SDES key and ICE password replaced by
// "[redacted]", for logs: an SDP body with a=crypto carries the call's
// keys.
func Redact(body []byte) []byte {
	return secretValue.ReplaceAll(body, []byte("${1}${2}[redacted]"))
}
