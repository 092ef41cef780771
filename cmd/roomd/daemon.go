package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"

	"github.com/roomd/roomd/control"
	"github.com/roomd/roomd/control/buttons"
	"github.com/roomd/roomd/control/feedback"
	"github.com/roomd/roomd/hal"
	"github.com/roomd/roomd/hal/ptz"
	"github.com/roomd/roomd/internal/damagedfiles"
	"github.com/roomd/roomd/internal/debugserver"
	"github.com/roomd/roomd/internal/metrics"
	"github.com/roomd/roomd/internal/roomdmetrics"
	"github.com/roomd/roomd/internal/roomstate"
	"github.com/roomd/roomd/media"
	"github.com/roomd/roomd/media/call"
	"github.com/roomd/roomd/media/call/janusprovider"
	"github.com/roomd/roomd/media/call/whipprovider"
	"github.com/roomd/roomd/media/callsetup"
	"github.com/roomd/roomd/provisioning"
	"github.com/roomd/roomd/provisioning/apply"
	"github.com/roomd/roomd/provisioning/roomport"
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
	desc, err := cfg.BoardDescription()
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

	settings, _ := cfg.Settings()
	var mic, camera media.Gate
	// The room's inbox comes first: the call engine reports into it and
	// is one of the room's devices.
	port := room.NewPort()
	mediaHeap()
	provs, stopSIP, err := callsetup.WithSIP(ctx, cfg.SIP, cfg.Media, cfg.Room.Name, version, port.Report, log,
		call.Providers{janusprovider.Name: janusprovider.Provider{}, whipprovider.Name: whipprovider.Provider{}})
	if err != nil {
		return err
	}
	defer stopSIP()
	mp, err := callsetup.New(callsetup.Options{Media: cfg.Media, Display: cfg.Room.Name, Mic: &mic, Camera: &camera, Report: port.Report, Providers: provs, Logger: log})
	if err != nil {
		return err
	}
	devs := room.Devices{
		Mic:     hw.wrap("microphone", &mic),
		Camera:  hw.wrap("camera", &camera),
		Display: output(b.Relays, hal.RoleDisplayPower),
		MuteLED: output(b.LEDs, hal.RoleMuteLED),
		CallLED: output(b.LEDs, hal.RoleCallLED),
		Calls:   mp.Engine,
		Speaker: mp.Mixer,
		// A recall on a camera that cannot move is refused, saying why.
		Presets: ptz.NewPresets(b.Camera),
	}
	// The provisioning client needs the room; the room reaches it through
	// this queue, which the client drains once it is made.
	fleetReqs := roomport.NewRequests()
	if cfg.Provisioning.Server != "" {
		devs.Fleet = fleetReqs
	}
	rm := room.New(room.Options{
		Port:     port,
		Devices:  devs,
		Store:    roomstate.Store{Path: filepath.Join(cfg.StateDir, "room.json")},
		Logger:   log,
		Settings: &settings,
		Hardware: append(devices(b.Report), mp.Failed...),
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
	damaged := damagedfiles.New(cfg.StateDir, rm, log)
	users, err := remoteUsers(cfg, log)
	if err != nil {
		return err
	}
	applier := apply.New(apply.Targets{PINs: pins, Schedule: runner, Caps: mp.Engine, Policy: rules, Room: rm, Users: users,
		Backlight: b.Backlight, Camera: b.Camera}, log)
	health := roomport.Health{Room: rm, Calls: cq, Software: version, Started: time.Now(), Unapplied: applier}
	fleet, fleetErr := newFleet(cfg, rm, applier, runner, health, damaged.Kick, b.Name, log)
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
	wg.Go(func() { mp.Run(ctx) })
	if runner != nil {
		wg.Go(func() {
			if err := runner.Run(ctx); err != nil {
				log.Error("roomd: schedule stopped", "err", err)
			}
		})
	}
	if fleet != nil {
		wg.Go(func() { fleetReqs.Run(ctx, fleet) })
		wg.Go(func() { cq.Run(ctx, rm, nil) })
		wg.Go(func() { rules.Run(ctx) })
		wg.Go(func() {
			if err := fleet.Run(ctx); err != nil {
				log.Error("roomd: provisioning stopped; the room keeps its configuration", "err", err)
			}
		})
	}

	// One feedback hub: the room's changes are flattened once for every
	// console, socket session and panel.
	hub := feedback.New(rm, feedback.Options{System: control.System{SoftwareVersion: version}})
	console, err := startConsoles(ctx, &wg, cfg, rm, hub, b, log)
	if err != nil {
		cancel()
		return err
	}
	if err := pins.AttachConsole(console); err != nil {
		log.Error("roomd: the serial console keeps the configuration file's PIN", "err", err)
	}
	startSSH(ctx, &wg, cfg, console, users, log)
	if cfg.Debug.Listen != "" { // hw.debug, the poke page, is nil on real boards
		if ln, err := net.Listen("tcp", cfg.Debug.Listen); err != nil {
			log.Error("roomd: debug endpoint not started", "err", err)
		} else {
			wg.Go(func() {
				debugserver.Serve(ctx, ln, debugserver.Options{Board: hw.debug, Room: rm, Display: mp.Compositor, Calls: mp.Engine,
					Metrics: metrics.Handler(roomdmetrics.NewRegistry(metricSources(rm, mp.Engine, runner, fleet))), Logger: log})
			})
		}
	}
	startPanel(ctx, &wg, cfg, rm, hub, pins.PanelHash, logRing, mp.Compositor, xapiWebSocket(cfg, console, users, log), log)

	// Every component has read its files by now: the damaged ones it set
	// aside are in the status before roomd says it is ready.
	damaged.Scan(ctx)
	wg.Go(func() { damaged.Run(ctx, damagedfiles.ScanEvery) })

	s := rm.Snapshot()
	log.Info("roomd: ready", "room", s.Settings.Name, "mic_muted", s.MicMute, "state_dir", cfg.StateDir)
	notify(log, daemon.SdNotifyReady, "STATUS=room ready")
	wg.Go(func() { watchdog(ctx, rm, log) })

	<-ctx.Done()
	notify(log, daemon.SdNotifyStopping, "STATUS=stopping")
	log.Info("roomd: stopping")
	stopped := make(chan struct{})
	go func() { wg.Wait(); <-roomDone; mp.Engine.Wait(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(stopBudget):
		log.Warn("roomd: some parts did not stop in time; exiting anyway")
	}
	return nil
}

// metricSources are what /metrics reads; a part roomd runs without is left
// out (a nil pointer in an interface would not be).
func metricSources(rm *room.Room, calls *call.Engine, runner *schedule.Runner, fleet *provisioning.Client) roomdmetrics.Sources {
	s := roomdmetrics.Sources{Room: rm, Calls: calls}
	if runner != nil {
		s.Schedule = runner
	}
	if fleet != nil {
		s.Provisioning = fleet
	}
	return s
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

// mediaGCPercent is roomd's Go heap target above the live heap (Go's
// default is 100).
const mediaGCPercent = 40

// mediaHeap sets the garbage collector for a call's heap, unless GOGC says
// otherwise. In a call the live heap is mostly video frames that are
// reused, not garbage, so the default target would keep a second heap's
// worth of memory (about 10 MiB at 720p) for little gain; allocation
// between collections is small (packets, encoded frames), so collecting
// more often costs next to nothing.
func mediaHeap() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(mediaGCPercent)
	}
}
