package siptest

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/roomd/roomd/internal/testtool"
)

// KamailioOptions tune a Kamailio; nil means defaults.
type KamailioOptions struct {
	// Users maps user names to digest passwords; nil means
	// {"alice": "alice-secret", "bob": "bob-secret"}.
	Users map[string]string
	// TLS, when set, adds a SIP over TLS listener on TLSPort with this
	// certificate (needs kamailio-tls-modules).
	TLS *Cert
	// AuthCalls makes the proxy challenge (407) INVITEs from callers who
	// claim one of Users' names, as a real PBX does; otherwise only
	// REGISTER is authenticated.
	AuthCalls bool
	// MaxExpires caps the registration interval the registrar grants; 0
	// means Kamailio's default (3600 s).
	MaxExpires time.Duration
	// Binary is the kamailio executable; empty means "kamailio" from PATH.
	Binary string
}

// DefaultUsers are the accounts of a Kamailio started without Users.
func DefaultUsers() map[string]string {
	return map[string]string{"alice": "alice-secret", "bob": "bob-secret"}
}

// Kamailio is a running Kamailio registrar and proxy. Its ports stay the
// same across Restart; its location table, kept in memory only, does not.
type Kamailio struct {
	// Port is the SIP port for UDP and TCP on 127.0.0.1.
	Port int
	// TLSPort is the SIP over TLS port; 0 without KamailioOptions.TLS.
	TLSPort int
	// Domain is the registrar's host:port, the domain of every AOR it
	// serves (realm "127.0.0.1").
	Domain string
	// Users are the configured accounts.
	Users map[string]string

	t    testing.TB
	dir  string
	proc *process
}

// StartKamailio runs Kamailio for the duration of t and stops it on cleanup.
// It fails t when Kamailio is missing or does not come up. Under -short it
// skips t first.
func StartKamailio(t testing.TB, opts *KamailioOptions) *Kamailio {
	t.Helper()
	testtool.SkipInShortMode(t, "kamailio")
	return startKamailio(t, opts)
}

func startKamailio(t testing.TB, opts *KamailioOptions) *Kamailio {
	t.Helper()
	if opts == nil {
		opts = &KamailioOptions{}
	}
	path := lookTool(t, opts.Binary, "kamailio", "kamailio kamailio-tls-modules", "Debian's Kamailio 5.6")
	k := &Kamailio{t: t, dir: shortTempDir(t, "kamailio-"), Users: opts.Users}
	if k.Users == nil {
		k.Users = DefaultUsers()
	}
	k.Port = FreeSIPPort(t, 1)
	if opts.TLS != nil {
		k.TLSPort = freeTCPPort(t)
	}
	k.Domain = fmt.Sprintf("127.0.0.1:%d", k.Port)
	cfg := filepath.Join(k.dir, "kamailio.cfg")
	if err := os.WriteFile(cfg, []byte(k.config(opts)), 0o600); err != nil {
		t.Fatalf("siptest: %v", err)
	}
	if opts.TLS != nil {
		tlsCfg := fmt.Sprintf("[server:default]\nmethod = TLSv1.2+\nverify_certificate = no\nrequire_certificate = no\ncertificate = %s\nprivate_key = %s\n\n"+
			"[client:default]\nmethod = TLSv1.2+\nverify_certificate = no\nrequire_certificate = no\n", opts.TLS.CertFile, opts.TLS.KeyFile)
		if err := os.WriteFile(filepath.Join(k.dir, "tls.cfg"), []byte(tlsCfg), 0o600); err != nil {
			t.Fatalf("siptest: %v", err)
		}
	}
	// -DD: no daemon, -E: log to stderr, -Y/-w: runtime files in the temp
	// dir; no -P, so no pid file. Shared memory is an anonymous mapping
	// (SHM_MMAP), gone with the processes.
	k.proc = &process{name: "kamailio", bin: path, dir: k.dir,
		args: []string{"-DD", "-E", "-f", cfg, "-Y", k.dir, "-w", k.dir, "-m", "32", "-M", "4", "-a", "no"}}
	t.Cleanup(func() {
		k.Stop()
		k.proc.attachLogOnFailure(t)
	})
	if err := k.start(); err != nil {
		t.Fatalf("siptest: kamailio: %v\nkamailio output:\n%s", err, k.Log())
	}
	return k
}

// config is a small kamailio.cfg: registrar (usrloc in memory), digest auth
// against an htable filled from Users at start-up, record-routing, and
// routing to registered contacts.
func (k *Kamailio) config(opts *KamailioOptions) string {
	lib, _ := filepath.Glob("/usr/lib/*/kamailio/modules")
	mpath := "/usr/lib/x86_64-linux-gnu/kamailio/modules"
	if len(lib) > 0 {
		mpath = lib[0]
	}
	var c strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&c, format+"\n", args...) }
	line("#!KAMAILIO")
	line("debug=2\nlog_stderror=yes\nmemdbg=5\nmemlog=5\nchildren=2\ntcp_children=2\nauto_aliases=no")
	line("listen=udp:127.0.0.1:%d\nlisten=tcp:127.0.0.1:%d", k.Port, k.Port)
	line("alias=\"127.0.0.1:%d\"", k.Port)
	if opts.TLS != nil {
		line("enable_tls=yes\nlisten=tls:127.0.0.1:%d\nalias=\"127.0.0.1:%d\"", k.TLSPort, k.TLSPort)
	}
	line("tcp_accept_no_cl=yes\ntcp_connection_lifetime=3605")
	line("mpath=%q", mpath)
	mods := []string{"tm", "tmx", "sl", "rr", "pv", "maxfwd", "usrloc", "registrar", "textops", "siputils", "xlog", "sanity", "auth", "htable"}
	if opts.TLS != nil {
		mods = append([]string{"tls"}, mods...)
	}
	for _, m := range mods {
		line("loadmodule \"%s.so\"", m)
	}
	if opts.TLS != nil {
		line("modparam(\"tls\", \"config\", %q)", filepath.Join(k.dir, "tls.cfg"))
	}
	line(`modparam("usrloc", "db_mode", 0)`)
	line(`modparam("rr", "enable_full_lr", 1)`)
	line(`modparam("registrar", "min_expires", 1)`)
	// No GRUUs: linphonec would put one in its dialog Contact, and in-dialog
	// requests to it would need a location lookup this proxy does not do.
	line(`modparam("registrar", "gruu_enabled", 0)`)
	line(`modparam("htable", "htable", "users=>size=4;")`)
	if opts.MaxExpires > 0 {
		line(`modparam("registrar", "max_expires", %d)`, int(opts.MaxExpires/time.Second))
	}
	line("event_route[htable:mod-init] {")
	names := make([]string, 0, len(k.Users))
	for u := range k.Users {
		names = append(names, u)
	}
	sort.Strings(names)
	for _, u := range names {
		line("\t$sht(users=>%s) = %s;", u, strconv.Quote(k.Users[u]))
	}
	line("}")
	authCalls := "0"
	if opts.AuthCalls {
		authCalls = "1"
	}
	c.WriteString(strings.ReplaceAll(kamailioRoutes, "AUTH_CALLS", authCalls))
	return c.String()
}

// kamailioRoutes is the routing logic. Log lines starting "siptest:" are
// what Registrations and Relayed read.
const kamailioRoutes = `
request_route {
	if (!mf_process_maxfwd_header("10")) {
		sl_send_reply("483", "Too Many Hops");
		exit;
	}
	# All default checks but Content-Length (128): it is optional over UDP,
	# and baresip leaves it out of some in-dialog requests.
	if (!sanity_check("1919", "7")) {
		xlog("L_WARN", "siptest: malformed $rm from $si:$sp\n");
		exit;
	}
	if (is_method("OPTIONS") && uri == myself && $rU == $null) {
		sl_send_reply("200", "Keepalive");
		exit;
	}
	if (has_totag()) {
		if (loose_route()) {
			t_relay();
			exit;
		}
		if (is_method("ACK")) {
			if (t_check_trans()) {
				t_relay();
			}
			exit;
		}
		sl_send_reply("404", "Not here");
		exit;
	}
	if (is_method("CANCEL")) {
		if (t_check_trans()) {
			t_relay();
		}
		exit;
	}
	if (!is_method("ACK")) {
		t_check_trans();
	}
	if (is_method("REGISTER")) {
		$var(pw) = $sht(users=>$fU);
		if ($var(pw) == $null || !pv_auth_check("$fd", "$var(pw)", "0", "1")) {
			if (is_present_hf("Authorization")) {
				xlog("L_NOTICE", "siptest: register-refused user=$fU\n");
			}
			auth_challenge("$fd", "0");
			exit;
		}
		consume_credentials();
		if (!save("location")) {
			sl_reply_error();
			exit;
		}
		xlog("L_NOTICE", "siptest: registered user=$fU expires=$hdr(Expires) contact=$ct\n");
		exit;
	}
	if (AUTH_CALLS == 1 && is_method("INVITE") && $sht(users=>$fU) != $null) {
		$var(pw) = $sht(users=>$fU);
		if (!pv_auth_check("$fd", "$var(pw)", "0", "1")) {
			xlog("L_NOTICE", "siptest: challenged $rm user=$fU\n");
			proxy_challenge("$fd", "0");
			exit;
		}
		consume_credentials();
	}
	if (is_method("INVITE|SUBSCRIBE")) {
		record_route();
	}
	if (uri == myself) {
		if (!lookup("location")) {
			xlog("L_NOTICE", "siptest: not-found user=$rU\n");
			t_reply("404", "Not Found");
			exit;
		}
	}
	if (is_method("INVITE")) {
		xlog("L_NOTICE", "siptest: relaying INVITE from=$fU to=$tU in=$pr out=$ru\n");
	}
	if (!t_relay()) {
		sl_reply_error();
	}
}
`

func (k *Kamailio) start() error {
	exited, err := k.proc.start()
	if err != nil {
		return err
	}
	// The TCP listener opens with the workers; an OPTIONS over UDP that is
	// answered shows the UDP workers run too.
	tcpAddr := fmt.Sprintf("127.0.0.1:%d", k.Port)
	if err := waitUntil(exited, 15*time.Second, "SIP on "+tcpAddr, func() bool {
		return tcpAnswers(tcpAddr) && optionsAnswered(tcpAddr)
	}); err != nil {
		k.proc.stop(syscall.SIGKILL, time.Second)
		return err
	}
	return nil
}

// optionsAnswered sends one OPTIONS over UDP and reports whether a 200 came
// back within 200 ms.
func optionsAnswered(addr string) bool {
	c, err := net.Dial("udp4", addr)
	if err != nil {
		return false
	}
	defer c.Close()
	local := c.LocalAddr().String()
	msg := "OPTIONS sip:" + addr + " SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP " + local + ";branch=z9hG4bK-siptest-" + strconv.FormatInt(time.Now().UnixNano(), 36) + ";rport\r\n" +
		"Max-Forwards: 70\r\nFrom: <sip:probe@" + local + ">;tag=probe\r\nTo: <sip:" + addr + ">\r\n" +
		"Call-ID: probe-" + strconv.FormatInt(time.Now().UnixNano(), 36) + "\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
	if _, err := c.Write([]byte(msg)); err != nil {
		return false
	}
	_ = c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	buf := make([]byte, 2048)
	n, err := c.Read(buf)
	return err == nil && strings.HasPrefix(string(buf[:n]), "SIP/2.0 200")
}

// Restart stops Kamailio and starts it again on the same ports: every
// registration is lost, as after a crash of a registrar without a database.
func (k *Kamailio) Restart() {
	k.t.Helper()
	k.Stop()
	if err := k.start(); err != nil {
		k.t.Fatalf("siptest: kamailio restart: %v\nkamailio output:\n%s", err, k.Log())
	}
}

// Stop ends Kamailio and its workers (SIGTERM, SIGKILL after 3 s). Stopping
// twice does nothing.
func (k *Kamailio) Stop() { k.proc.stop(syscall.SIGTERM, 3*time.Second) }

// Running reports whether Kamailio is up.
func (k *Kamailio) Running() bool { return k.proc.running() }

// Log returns everything Kamailio has logged so far, across restarts.
func (k *Kamailio) Log() string { return k.proc.Log() }

// Proxy is the registrar and outbound proxy URI for transport ("udp", "tcp"
// or "tls"; empty means udp).
func (k *Kamailio) Proxy(transport string) string {
	switch transport {
	case "tls":
		return fmt.Sprintf("sips:127.0.0.1:%d", k.TLSPort)
	case "tcp":
		return fmt.Sprintf("sip:%s;transport=tcp", k.Domain)
	default:
		return "sip:" + k.Domain
	}
}

// AOR is user's address of record at this registrar.
func (k *Kamailio) AOR(user string) string { return fmt.Sprintf("sip:%s@%s", user, k.Domain) }

// Registration is one REGISTER the registrar answered, as its log tells.
type Registration struct {
	User    string
	OK      bool   // accepted (false: refused, wrong password or unknown user)
	Expires string // the Expires header, or else the contact's expires parameter
	Contact string
}

// Unregister reports whether the REGISTER removed the binding (expires 0).
func (r Registration) Unregister() bool { return r.Expires == "0" }

// Registrations returns the REGISTERs Kamailio accepted or refused with
// credentials, oldest first, across restarts.
func (k *Kamailio) Registrations() []Registration {
	var regs []Registration
	sc := bufio.NewScanner(strings.NewReader(k.Log()))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		i := strings.Index(l, "siptest: register")
		if i < 0 {
			continue
		}
		fields := strings.Fields(l[i+len("siptest: "):])
		r := Registration{OK: fields[0] == "registered"}
		for _, f := range fields[1:] {
			key, val, _ := strings.Cut(f, "=")
			switch key {
			case "user":
				r.User = val
			case "expires":
				r.Expires = val
			case "contact":
				r.Contact = val
			}
		}
		if r.Expires == "" || r.Expires == "<null>" {
			r.Expires = ""
			if _, v, ok := strings.Cut(r.Contact, ";expires="); ok {
				r.Expires, _, _ = strings.Cut(v, ";")
			}
		}
		regs = append(regs, r)
	}
	return regs
}

// WaitRegistered waits until Kamailio has accepted a REGISTER from user
// after the first `after` registrations it logged (pass
// len(k.Registrations()) taken before the event that should cause one).
func (k *Kamailio) WaitRegistered(user string, after int, timeout time.Duration) (Registration, error) {
	deadline := time.Now().Add(timeout)
	for {
		regs := k.Registrations()
		for i := after; i < len(regs); i++ {
			if regs[i].User == user && regs[i].OK && !regs[i].Unregister() {
				return regs[i], nil
			}
		}
		if time.Now().After(deadline) {
			return Registration{}, fmt.Errorf("siptest: kamailio accepted no REGISTER from %s within %v (log has %d registrations): %w", user, timeout, len(regs), ErrTimeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Relayed returns the log lines of INVITEs the proxy relayed, across
// restarts: "relaying INVITE from=alice to=bob in=tls out=sip:bob@...".
func (k *Kamailio) Relayed() []string {
	var out []string
	for _, l := range strings.Split(k.Log(), "\n") {
		if i := strings.Index(l, "siptest: relaying INVITE"); i >= 0 {
			out = append(out, l[i+len("siptest: "):])
		}
	}
	return out
}
