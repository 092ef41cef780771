package provider

// Encryptor is an optional interface of a Provider whose calls may carry
// media with different encryption (SIP: SDES-SRTP, DTLS-SRTP or none). A
// Provider without it is WebRTC: always DTLS-SRTP.
type Encryptor interface {
	// Encryption is the media encryption of the call in progress for
	// status, e.g. "DTLS-SRTP", "SDES-SRTP (AES_CM_128_HMAC_SHA1_80)",
	// "none"; "" between calls.
	Encryption() string
}
