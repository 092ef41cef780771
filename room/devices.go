package room

import (
	"context"
	"sync"
)

// Toggle is a device with an on/off state that can be read back: the
// microphones' mute (on = muted), the camera's privacy gate (on = no
// pixels), the display's power relay, an indicator LED. hal.Output fits.
type Toggle interface {
	Set(on bool) error
	Get() (bool, error)
}

// Level is a device with a level that can be read back: the speaker volume
// (0..100) or the camera's preset.
type Level interface {
	SetLevel(v int) error
	Level() (int, error)
}

// CallEngine joins and leaves meetings. Start and End must not block: the
// engine reports progress for call seq with Room.Report(CallReported{…}).
type CallEngine interface {
	Start(ctx context.Context, seq uint64, m Meeting)
	End(seq uint64)
}

// Devices are the room's actuators. A nil device is kept in memory only, as
// on a board without that part.
type Devices struct {
	Mic     Toggle // on = muted
	Camera  Toggle // on = privacy (no camera pixels sent)
	Speaker Level
	Presets Level
	Display Toggle
	MuteLED Toggle
	CallLED Toggle
	Calls   CallEngine
	Fleet   Fleet // nil: the room is standalone
}

// Fleet is the provisioning client: enrollment and configuration pulls.
// Both return at once; progress comes back as ProvisioningReported.
type Fleet interface {
	Enroll(code string)
	Nudge()
}

// Persisted is what the room keeps across restarts.
type Persisted struct {
	Settings      Settings
	MicMute       bool
	CameraPrivacy bool
}

// Store keeps Persisted somewhere safe (an atomically written file).
type Store interface {
	// Load reads the saved state into p, which holds the defaults: a field
	// that was never saved or cannot be read keeps its default. A damaged
	// state is reported in Loaded, never fatal.
	Load(p *Persisted) Loaded
	Save(Persisted) error
}

// memToggle stands in for a missing on/off device.
type memToggle struct {
	mu sync.Mutex
	on bool
}

func (m *memToggle) Set(on bool) error  { m.mu.Lock(); m.on = on; m.mu.Unlock(); return nil }
func (m *memToggle) Get() (bool, error) { m.mu.Lock(); defer m.mu.Unlock(); return m.on, nil }

// memLevel stands in for a missing level device.
type memLevel struct {
	mu sync.Mutex
	v  int
}

func (m *memLevel) SetLevel(v int) error { m.mu.Lock(); m.v = v; m.mu.Unlock(); return nil }
func (m *memLevel) Level() (int, error)  { m.mu.Lock(); defer m.mu.Unlock(); return m.v, nil }
