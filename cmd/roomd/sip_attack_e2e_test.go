package main

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/roomd/roomd/internal/siptest"
	"github.com/roomd/roomd/internal/testtool"
)

// sipListenAddr is a transport's listening host:port, from the log.
var sipListenAddr = regexp.MustCompile(`SIP listening" transport=(udp|tcp) address="?sip:[^@]+@([0-9.]+:\d+)`)

// procFigures reads a process's resident memory and its peak (KiB),
// thread count and open descriptors from /proc.
func procFigures(t *testing.T, pid int) (rssKiB, peakKiB, threads, fds int) {
	t.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatalf("roomd is gone: %v", err)
	}
	for _, l := range strings.Split(string(status), "\n") {
		k, v, _ := strings.Cut(l, ":")
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		switch k {
		case "VmRSS":
			rssKiB, _ = strconv.Atoi(f[0])
		case "VmHWM":
			peakKiB, _ = strconv.Atoi(f[0])
		case "Threads":
			threads, _ = strconv.Atoi(f[0])
		}
	}
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	return rssKiB, peakKiB, threads, len(ents)
}

// The real daemon, listening for anyone's calls (inbound = "ring"), under
// attack from sipp: every request of siptest's hostile set (malformed
// Request-URI, missing Call-ID/CSeq/From/To/Via, garbage Content-Length,
// folding abuse, broken or unusable SDP, oversized SDP over UDP and TCP)
// gets an answer its file allows (a clear 4xx, or dropped; ringing only
// where the offer is usable), then an INVITE flood over UDP and TCP is
// rate-limited and answered by no 200. Afterwards roomd still runs and
// answers OPTIONS, no call started, the microphones are muted, memory,
// threads and descriptors stayed within loose bounds, and a real call to
// baresip still works.
func TestDaemonSurvivesHostileSIP(t *testing.T) {
	testtool.SkipInShortMode(t, "sipp, baresip and the real roomd")
	requests, err := siptest.HostileRequests()
	if err != nil {
		t.Fatal(err)
	}
	bs := siptest.StartBaresip(t, &siptest.Options{User: "legit", AutoAnswer: true, NoVideo: true, Encryption: siptest.EncryptionSDESMandatory})
	d := startCallRoomd(t, simSIPConfig)
	addr := map[string]string{}
	for _, m := range sipListenAddr.FindAllStringSubmatch(d.logs(), -1) {
		addr[m[1]] = m[2]
	}
	if addr["udp"] == "" || addr["tcp"] == "" {
		t.Fatalf("roomd logs no SIP UDP and TCP addresses:\n%s", d.logs())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c := openSIPConsole(t, ctx, d)
	// The idle simulated room's microphones are open: the worst moment
	// for a call to start by itself.
	mic0 := c.status("Audio Microphones Mute")
	pid := d.cmd.Process.Pid
	rss0, _, threads0, fds0 := procFigures(t, pid)
	begin := time.Now()

	// Each request from an address of its own, one INVITE per 250 ms: the
	// room's per-source and total buckets (1/s and 5/s, burst 3) let each
	// reach the checks it is about.
	for i, h := range requests {
		tr := h.Transports[0]
		start := time.Now()
		r := siptest.SendHostile(t, addr[tr], tr, fmt.Sprintf("127.0.2.%d", 1+i), h, 500*time.Millisecond)
		if !h.Allows(r.Outcome) {
			t.Errorf("%s over %s: outcome %d (got %q); the file allows %v: %s", h.Name, tr, r.Outcome, r.Sipp.Responses, h.Want, h.About)
		}
		if st := c.status("Call State"); st == "InCall" || st == "Joining" {
			t.Fatalf("after %s the room is %s", h.Name, st)
		}
		// A request that rang was cancelled: the ringing ends.
		for r.Outcome == siptest.Rang && c.status("Call Incoming Id") != "" {
			if time.Since(start) > 3*time.Second {
				t.Fatalf("%s was cancelled, and the room still rings", h.Name)
			}
			time.Sleep(20 * time.Millisecond)
		}
		time.Sleep(250*time.Millisecond - time.Since(start))
	}
	rssMid, _, _, _ := procFigures(t, pid)
	t.Logf("%d hostile requests in %v; VmRSS %d → %d KiB", len(requests), time.Since(begin), rss0, rssMid)

	// The flood: sipp's own INVITE scenario at 200 calls/s.
	for _, tr := range []string{"udp", "tcp"} {
		res := siptest.RunSipp(t, siptest.SippRun{Target: addr[tr], Transport: tr, Local: "127.0.2.250", Service: "room",
			Calls: 200, Rate: 200, Timeout: 3 * time.Second, Trace: true})
		codes := map[string]int{}
		for _, r := range res.Responses {
			codes[strings.Fields(r)[1]]++
		}
		t.Logf("flood over %s: %d calls in %v, answers by code %v", tr, res.Count("TotalCallCreated"), res.Duration, codes)
		if res.Successful() != 0 || codes["200"] != 0 {
			t.Errorf("flood over %s: %d calls answered 200; want none", tr, max(res.Successful(), codes["200"]))
		}
		if codes["503"] == 0 {
			t.Errorf("flood over %s: no 503 (rate limit) among %v", tr, codes)
		}
	}

	// Still up, and nothing started.
	select {
	case err := <-d.exited:
		t.Fatalf("roomd exited under attack: %v", err)
	default:
	}
	for _, tr := range []string{"udp", "tcp"} {
		ping := "OPTIONS sip:room@" + addr[tr] + " SIP/2.0\r\nVia: SIP/2.0/" + strings.ToUpper(tr) + " " + siptest.LocalAddrMark + ";branch=z9hG4bK-after-" + tr + "\r\n" +
			"From: <sip:check@127.0.0.1>;tag=1\r\nTo: <sip:room@" + addr[tr] + ">\r\nCall-ID: after-" + tr + "\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
		got, err := siptest.SendRaw(tr, addr[tr], []byte(ping), 2*time.Second)
		if err != nil || !strings.HasPrefix(string(got), "SIP/2.0 200") {
			t.Errorf("OPTIONS over %s after the attack: %q, %v; want 200", tr, got, err)
		}
	}
	if st := c.status("Call State"); st == "InCall" || st == "Joining" {
		t.Errorf("after the attack Call State is %s; want no call", st)
	}
	if strings.Contains(d.logs(), "sip: call accepted") {
		t.Error("roomd accepted an inbound call during the attack")
	}
	if m := c.status("Audio Microphones Mute"); m != mic0 {
		t.Errorf("after the attack Audio Microphones Mute is %q; it was %q", m, mic0)
	}
	// A flood INVITE that sipp never cancelled may still ring: the room
	// declines it, as someone in the room would.
	if c.status("Call Incoming Id") != "" {
		if err := c.exec("xCommand Call Reject"); err != nil {
			t.Fatal(err)
		}
	}
	rss1, peak, threads1, fds1 := procFigures(t, pid)
	t.Logf("roomd before → after: VmRSS %d → %d KiB (peak %d), threads %d → %d, descriptors %d → %d", rss0, rss1, peak, threads0, threads1, fds0, fds1)
	// Loose: the race-enabled binary grew by about 28 MiB here.
	if peak > rss0+96<<10 || threads1 > threads0+32 || fds1 > fds0+32 {
		t.Errorf("roomd grew under attack: VmRSS %d → %d KiB (peak %d), threads %d → %d, descriptors %d → %d", rss0, rss1, peak, threads0, threads1, fds0, fds1)
	}

	// A real call still works.
	if err := c.exec(`xCommand Call Join Uri: "` + bs.URI("udp") + `"`); err != nil {
		t.Fatal(err)
	}
	for st := c.status("Call State"); st != "InCall"; st = c.status("Call State") {
		if st == "Failed" || ctx.Err() != nil {
			t.Fatalf("the call after the attack never connected: %s (%s)", st, c.status("Call Reason"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	bs.Expect(5*time.Second, siptest.EventCallEstablished)
	if err := c.exec("xCommand Call Leave"); err != nil {
		t.Fatal(err)
	}
	bs.Expect(5*time.Second, siptest.EventCallClosed)
	t.Logf("attack, checks and a call afterwards in %v", time.Since(begin))
}
