package call

import (
	"testing"
	"time"

	"github.com/roomd/roomd/media/transport"
	"github.com/roomd/roomd/room"
)

// The report to the room carries what roomd sends and, for each
// participant still in the meeting, what it receives, rounded the way
// status shows it.
func TestCallMediaMapsStats(t *testing.T) {
	st := transport.Stats{
		TargetBitrate: 1_234_567,
		Sent:          transport.StreamStats{Bitrate: 987_654, LossRate: 0.0123, FPS: 29.6, Width: 1280, Height: 720},
		RTT:           42 * time.Millisecond,
	}
	es := Stats{
		Encoder: "openh264 (software)", VideoSource: "camera /dev/video0", AudioSource: "microphone default",
		Participants: []string{"alice#11", "bob#12"},
		Received: map[string]ReceivedVideo{
			"alice#11": {Width: 640, Height: 360, FPS: 14.6, Bitrate: 812_345},
			"gone#9":   {Width: 320, Height: 180, FPS: 15, Bitrate: 200_000}, // left the meeting
			// bob#12 has sent nothing yet
		},
	}
	got := callMedia(st, es, 1_012_345)
	want := room.CallMedia{
		Participants: 2, TargetBitrate: 1_230_000, SendBitrate: 980_000, RecvBitrate: 1_010_000,
		LossPercent: 1.2, RTTMillis: 42, SendFPS: 30, Width: 1280, Height: 720,
		Encoder: "openh264 (software)", Camera: "camera /dev/video0", Microphone: "microphone default",
		Received: []room.ReceivedVideo{
			{Participant: "alice#11", Width: 640, Height: 360, FPS: 15, Bitrate: 810_000},
			{Participant: "bob#12"},
		},
	}
	if !got.Equal(want) {
		t.Fatalf("callMedia\n got %+v\nwant %+v", got, want)
	}
}

// From packets and pictures counted as they arrive to the figures the room
// gets: the rates are over the time since the last report.
func TestReceivedRatesReachTheReport(t *testing.T) {
	e := &Engine{stats: Stats{Participants: []string{"alice#11"}, Received: map[string]ReceivedVideo{}}}
	last := map[string]ReceivedVideo{}
	e.countReceived("alice#11", 50_000)
	e.receivedRates(last, time.Second) // the call's first report: 400 kbit/s
	for range 4 {
		e.countReceived("alice#11", 62_500) // 250 kB over two seconds: 1 Mbit/s
	}
	rv := e.stats.Received["alice#11"]
	rv.Width, rv.Height, rv.frames = 1280, 720, rv.frames+50 // 50 pictures: 25 fps
	e.stats.Received["alice#11"] = rv

	total := e.receivedRates(last, 2*time.Second)
	if total != 1_000_000 {
		t.Errorf("total received %d bit/s, want 1000000", total)
	}
	m := callMedia(transport.Stats{}, e.stats, total)
	want := []room.ReceivedVideo{{Participant: "alice#11", Width: 1280, Height: 720, FPS: 25, Bitrate: 1_000_000}}
	if m.RecvBitrate != 1_000_000 || !m.Equal(room.CallMedia{Participants: 1, RecvBitrate: 1_000_000, Received: want}) {
		t.Fatalf("report %+v, want %+v", m, want)
	}
}
