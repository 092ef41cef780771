package roomdconfig

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/user"
	"strconv"
	"strings"
)

// Panel is the [panel] table: the touch panel's web UI and API.
type Panel struct {
	Enabled      *bool  `toml:"enabled"`
	Listen       string `toml:"listen"`
	RemoteListen string `toml:"remote_listen"`
	// RemoteCertFile and RemoteKeyFile serve the remote panel over HTTPS,
	// so tablets' tokens never cross the network in clear.
	RemoteCertFile string `toml:"remote_cert_file"`
	RemoteKeyFile  string `toml:"remote_key_file"`
	AdminPINHash   string `toml:"admin_pin_hash"`
	// KioskUser is the user the kiosk browser runs as (roomd-kiosk.service's
	// User=); the kiosk panel serves only its connections and roomd's own.
	KioskUser string `toml:"kiosk_user"`
	// XAPIWebSocket serves RoomOS's xAPI (JSON-RPC) at /ws on the remote
	// listener, for [[ssh.users]] and the fleet's ssh users.
	XAPIWebSocket bool `toml:"xapi_websocket"`
}

func (p *Panel) defaults() {
	if p.Enabled == nil {
		t := true
		p.Enabled = &t
	}
	if p.Listen == "" {
		p.Listen = "127.0.0.1:8080"
	}
	if p.KioskUser == "" {
		p.KioskUser = "kiosk"
	}
}

// KioskUIDs are the users the kiosk panel serves: roomd's own (a
// developer's browser on the simulated board) and panel.kiosk_user's, when
// it exists on this machine.
func (p *Panel) KioskUIDs(log *slog.Logger) []int {
	uids := []int{os.Getuid()}
	u, err := user.Lookup(p.KioskUser)
	if err != nil {
		log.Info("roomd: no kiosk browser user on this machine; the kiosk panel serves roomd's own user only", "kiosk_user", p.KioskUser)
		return uids
	}
	uid, err := strconv.Atoi(u.Uid)
	if err != nil {
		log.Warn("roomd: the kiosk browser user has no numeric ID; the kiosk panel serves roomd's own user only", "kiosk_user", p.KioskUser, "uid", u.Uid)
		return uids
	}
	return append(uids, uid)
}

func (p *Panel) validate() error {
	if !*p.Enabled {
		return nil
	}
	var errs []error
	host, _, err := net.SplitHostPort(p.Listen)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		errs = append(errs, fmt.Errorf("panel.listen %q: the kiosk panel is trusted as someone in the room, so it listens only on a loopback address such as 127.0.0.1:8080; tablets use panel.remote_listen", p.Listen))
	}
	if p.RemoteListen != "" {
		if _, _, err := net.SplitHostPort(p.RemoteListen); err != nil {
			errs = append(errs, fmt.Errorf("panel.remote_listen %q: use host:port, such as 0.0.0.0:8443", p.RemoteListen))
		}
	}
	if p.XAPIWebSocket && p.RemoteListen == "" {
		errs = append(errs, errors.New("panel.xapi_websocket is served on the remote listener: set panel.remote_listen too"))
	}
	if (p.RemoteCertFile == "") != (p.RemoteKeyFile == "") {
		errs = append(errs, errors.New("panel: set both remote_cert_file and remote_key_file, or neither"))
	}
	if h := p.AdminPINHash; h != "" && !strings.HasPrefix(h, "$2") {
		errs = append(errs, errors.New("panel.admin_pin_hash is not a bcrypt hash; make one with `roomd hash-pin`"))
	}
	return errors.Join(errs...)
}
