package janus

import "github.com/pion/webrtc/v4"

// ConfigureSettingEngine applies what pion needs to meet Janus quickly; call
// it on the SettingEngine behind Options.NewPeerConnection.
//
// Janus offers every subscription, and pion answers as the DTLS client by
// default. Its first ClientHello then tends to reach Janus before Janus'
// own ICE is up; Janus drops it and pion resends only after its 1 s
// retransmission interval, a second lost on every remote feed (measured
// here: first remote packet 80 ms after the subscription started with this
// setting, 1.07 s without). As the DTLS server, pion lets Janus start the
// handshake when it is ready. Publishing is unaffected: there pion offers.
func ConfigureSettingEngine(se *webrtc.SettingEngine) error {
	return se.SetAnsweringDTLSRole(webrtc.DTLSRoleServer)
}
