package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"sync"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"

	"github.com/roomd/roomd/control/buttons"
	"github.com/roomd/roomd/hal"
	"github.com/roomd/roomd/internal/netguard"
	"github.com/roomd/roomd/internal/roomstate"
	"github.com/roomd/roomd/media"
	"github.com/roomd/roomd/media/display"
	"github.com/roomd/roomd/room"
	"github.com/roomd/roomd/room/policy"
	"github.com/roomd/roomd/schedule"
)

// stopBudget bounds shutdown: systemd and integrators expect roomd to be gone
// within 2 s of SIGTERM.
const stopBudget = 1500 * time.Millisecond

// hardware is a loaded board plus what only the simulated board has.
type hardware struct {
	board *hal.Board
	// wrap lets the simulated board inject faults into the media gates.
	wrap func(role string, t room.Toggle) room.Toggle
	// debug serves the simulated board's poke endpoint, nil on real boards.
	debug http.Handler
	close func() error
}

// runDaemon runs roomd until ctx ends.
func runDaemon(ctx context.Context, cfg *Config, log *slog.Logger) error {
	log, logRing := panelLogRing(log)
	for _, d := range []string{cfg.StateDir, cfg.RuntimeDir} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			return fmt.Errorf("creating %s: %w", d, err)
		}
	}
	desc, err := cfg.board()
	if err != nil {
		return err
	}
	hw, err := loadHardware(desc, cfg, log)
	if err != nil {
		return err
	}
	defer hw.close()
	b := hw.board
	loaded, skipped, failed := b.Report.Counts()
	log.Info("roomd: board loaded", "board", b.Name, "loaded", loaded, "skipped", skipped, "failed", failed)
	for _, d := range b.Report {
		if d.State == hal.Failed {
			log.Warn("roomd: device failed; running without it", "device", d.Name, "kind", d.Kind, "reason", d.Reason)
		}
	}

	settings, _ := cfg.settings()
	var mic, camera media.Gate
	// The room's inbox comes first: the call engine reports into it and
	// is one of the room's devices.
	port := room.NewPort()
	mp, err := newMedia(cfg, &mic, &camera, port.Report, log)
	if err != nil {
		return err
	}
	devs := room.Devices{
		Mic:     hw.wrap("microphone", &mic),
		Camera:  hw.wrap("camera", &camera),
		Display: output(b.Relays, hal.RoleDisplayPower),
		MuteLED: output(b.LEDs, hal.RoleMuteLED),
		CallLED: output(b.LEDs, hal.RoleCallLED),
		Calls:   mp.engine,
		Speaker: mp.mixer,
	}
	// The provisioning client needs the room; the room reaches it through
	// this queue, which the client drains once it is made.
	fleetReqs := newFleetRequests()
	if cfg.Provisioning.Server != "" {
		devs.Fleet = fleetReqs
	}
	rm := room.New(room.Options{
		Port:     port,
		Devices:  devs,
		Store:    roomstate.Store{Path: filepath.Join(cfg.StateDir, "room.json")},
		Logger:   log,
		Settings: &settings,
		Hardware: append(devices(b.Report), mp.failed...),
	})

	// The calendar: a feed, or one delivered by the fleet.
	var runner *schedule.Runner
	if cfg.Schedule.URL != "" || cfg.Provisioning.Server != "" {
		if runner, err = schedule.New(schedule.Options{Room: rm, Config: cfg.Schedule, StateDir: cfg.StateDir, Logger: log}); err != nil {
			return err
		}
		defer runner.Close()
	}
	cq := &policy.CallQuality{}
	pins := policy.NewPINs(cfg.Console.AdminPINHash, cfg.Panel.AdminPINHash, log)
	rules := policy.New(rm, nil, log)
	// A provisioning problem never keeps the room from starting: the room
	// runs on its local configuration and says why.
	damaged := newDamagedFiles(cfg.StateDir, rm, log)
	fleet, fleetErr := newFleet(cfg, rm, fleetTargets{pins: pins, runner: runner, caps: mp.engine, policy: rules, setAside: damaged.kick}, cq, b.Name, time.Now(), log)
	if fleetErr != nil {
		log.Error("roomd: provisioning not started; the room runs on its local configuration", "err", fleetErr)
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	roomDone := make(chan struct{})
	go func() { defer close(roomDone); rm.Run(ctx) }()
	<-rm.Ready()
	if fleetErr != nil {
		rm.Report(room.ProvisioningReported{Provisioning: room.Provisioning{State: room.ProvisioningFailed,
			Since: time.Now().UTC().Truncate(time.Second), Detail: fleetErr.Error()}})
	}

	wg.Go(func() { buttons.Run(ctx, rm, b, buttons.Options{Logger: log}) })
	mp.run(ctx, &wg, cfg.Media, log)
	if runner != nil {
		wg.Go(func() {
			if err := runner.Run(ctx); err != nil {
				log.Error("roomd: schedule stopped", "err", err)
			}
		})
	}
	if fleet != nil {
		wg.Go(func() { fleetReqs.run(ctx, fleet) })
		wg.Go(func() { cq.Run(ctx, rm, nil) })
		wg.Go(func() { rules.Run(ctx) })
		wg.Go(func() {
			if err := fleet.Run(ctx); err != nil {
				log.Error("roomd: provisioning stopped; the room keeps its configuration", "err", err)
			}
		})
	}

	console, err := startConsoles(ctx, &wg, cfg, rm, b, log)
	if err != nil {
		cancel()
		return err
	}
	if err := pins.AttachConsole(console); err != nil {
		log.Error("roomd: the serial console keeps the configuration file's PIN", "err", err)
	}
	if cfg.Debug.Listen != "" && hw.debug != nil {
		if err := serveDebug(ctx, &wg, cfg.Debug.Listen, hw.debug, rm, mp, log); err != nil {
			log.Error("roomd: debug endpoint not started", "err", err)
		}
	}
	startPanel(ctx, &wg, cfg, rm, pins.PanelHash, logRing, mp.comp, log)

	// Every component has read its files by now: the damaged ones it set
	// aside are in the status before roomd says it is ready.
	damaged.scan(ctx)
	wg.Go(func() { damaged.run(ctx, damagedScanEvery) })

	s := rm.Snapshot()
	log.Info("roomd: ready", "room", s.Settings.Name, "mic_muted", s.MicMute, "state_dir", cfg.StateDir)
	notify(log, daemon.SdNotifyReady, "STATUS=room ready")
	wg.Go(func() { watchdog(ctx, rm, log) })

	<-ctx.Done()
	notify(log, daemon.SdNotifyStopping, "STATUS=stopping")
	log.Info("roomd: stopping")
	stopped := make(chan struct{})
	go func() { wg.Wait(); <-roomDone; mp.engine.Wait(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(stopBudget):
		log.Warn("roomd: some parts did not stop in time; exiting anyway")
	}
	return nil
}

// output returns a board output as a room toggle, nil when the board has none.
func output(m map[string]hal.Output, role string) room.Toggle {
	if o, ok := m[role]; ok {
		return o
	}
	return nil
}

// devices turns the hal's load report into the room's hardware list.
func devices(r hal.Report) []room.Device {
	out := make([]room.Device, 0, len(r))
	for _, d := range r {
		out = append(out, room.Device{Name: d.Name, Kind: d.Kind, State: d.State.String(), Reason: d.Reason})
	}
	return out
}

// notify tells systemd something when roomd runs under it; a no-op elsewhere.
func notify(log *slog.Logger, states ...string) {
	msg := ""
	for i, s := range states {
		if i > 0 {
			msg += "\n"
		}
		msg += s
	}
	if _, err := daemon.SdNotify(false, msg); err != nil {
		log.Warn("roomd: sd_notify failed", "err", err)
	}
}

// watchdog feeds systemd's watchdog while the room's goroutine answers, so a
// hung room is restarted rather than left looking alive.
func watchdog(ctx context.Context, rm *room.Room, log *slog.Logger) {
	every, err := daemon.SdWatchdogEnabled(false)
	if err != nil || every <= 0 {
		return
	}
	t := time.NewTicker(every / 2)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			pctx, cancel := context.WithTimeout(ctx, every/4)
			err := rm.Alive(pctx)
			cancel()
			if err != nil {
				if ctx.Err() == nil {
					log.Error("roomd: room did not answer; not feeding the watchdog", "err", err)
				}
				continue
			}
			notify(log, daemon.SdNotifyWatchdog)
		}
	}
}

// debugCSP is the panel's policy plus the sim page's inline script and style.
const debugCSP = "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

// serveDebug serves the simulated board's poke endpoint and the room's state
// on a loopback address. It answers only requests naming a loopback host,
// so a web page cannot reach it by pointing its own name at 127.0.0.1.
func serveDebug(ctx context.Context, wg *sync.WaitGroup, addr string, sim http.Handler, rm *room.Room, mp *mediaParts, log *slog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	ln = netguard.Listen(ln, netguard.Options{Name: "debug", Logger: log})
	mux := http.NewServeMux()
	mux.Handle("/", sim)
	mux.HandleFunc("GET /room", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.Encode(rm.Snapshot())
	})
	mux.Handle("GET /display.png", display.SnapshotHandler(mp.comp))
	// For leak checks from outside the process (TestSoakSurfaces).
	mux.HandleFunc("GET /runtime", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		live := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
		metrics.Read(live)
		json.NewEncoder(w).Encode(map[string]uint64{"goroutines": uint64(runtime.NumGoroutine()), "heap_live_bytes": live[0].Value.Uint64()})
	})
	mux.HandleFunc("GET /media", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.Encode(mp.engine.Stats())
	})
	// The default 60 s write timeout outlasts the longest sim button hold (30 s).
	srv := netguard.NewHTTPServer(netguard.SecurityHeaders(netguard.LoopbackOnly(mux, log), debugCSP), netguard.ServerOptions{MaxBodyBytes: 1 << 20, Logger: log})
	log.Info("roomd: simulated board endpoint", "url", "http://"+ln.Addr().String()+"/")
	wg.Go(func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("roomd: debug endpoint", "err", err)
		}
	})
	wg.Go(func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		srv.Shutdown(sctx)
	})
	return nil
}
