// Package sim is a whole simulated board for roomd --sim and for tests.
//
// It implements the hal interfaces at the lowest layer, so everything above
// (the room state machine, the serial console protocol, the panel) runs for
// real: buttons deliver edges through hal.Input.Watch, LEDs and relays keep
// the level they are driven to, sensors report what they are told, and serial
// lines are real pseudo-terminals opened through go.bug.st/serial exactly like
// a USB adapter. The display has a backlight ([Board.Brightness]) and the
// camera moves to presets ([Board.CameraPreset]), unless the description
// says "none" for backlight or camera_control.
//
// # Using it from tests
//
//	desc, _ := hal.Profile("sim")
//	b, err := sim.New(desc, &sim.Options{RunDir: t.TempDir()})
//	if err != nil { t.Fatal(err) }
//	defer b.Close()
//	hw := b.Hardware()             // hand this to the code under test
//	b.Click(hal.RoleMuteButton)    // a press and a release on Watch
//	on, _ := b.Output(hal.RoleMuteLED)
//	b.Fail(hal.RoleDisplayPower, errors.New("relay stuck"))
//	b.Heal(hal.RoleDisplayPower)
//
// Devices outside the board, such as the media gates, can share the fault
// injection with [Board.Wrap].
//
// # Serial lines
//
// Each serial role is a null-modem cable made of two pseudo-terminal pairs
// whose masters are joined by copying bytes both ways. The device side is in
// hal.Board.Serial; the person side's path is [Board.SerialPath], and a
// symlink RunDir/<role> points at it, so a person can type
//
//	picocom -b 115200 /run/roomd/sim/console
//
// and a test can open the same path with go.bug.st/serial. The person side
// may be closed and reopened at will. Like a real line, bytes sent while
// nobody reads are held in the kernel's buffer (about 64 KiB) and then
// dropped; whoever opens the person side next reads what was held.
//
// # Poking the board by hand
//
// [Board.Handler] serves a small debug API and a page at / showing the
// board with buttons to press. Bind it to 127.0.0.1 only, at the root of its
// own listener:
//
//	curl -s localhost:8099/sim                                  # whole board as JSON
//	curl -X POST localhost:8099/sim/button/mute/click           # press and release
//	curl -X POST 'localhost:8099/sim/button/mute/click?hold=3s' # long press
//	curl -X POST localhost:8099/sim/button/mute/press           # .../release
//	curl -X POST 'localhost:8099/sim/switch/mic_switch?on=true'
//	curl -X POST 'localhost:8099/sim/sensor/environment?quantity=temperature&value=21.5'
//	curl -X POST 'localhost:8099/sim/sensor/presence?value=1'   # someone walks in
//	curl -X POST 'localhost:8099/sim/fault/display_power?error=relay+stuck'
//	curl -X DELETE localhost:8099/sim/fault/display_power
//
// Successful POSTs and DELETEs answer with the board as JSON; mistakes get
// 404 (unknown role) or 400 (bad value) with the reason.
//
// # Faults
//
// [Board.Fail] makes a device misbehave until [Board.Heal]: outputs and
// wrapped toggles fail Set and Get, inputs fail Active (edges still arrive),
// sensors fail Read, and a serial line becomes a cut cable that drops every
// byte. Errors match [ErrInjected] and the error given to Fail.
package sim
