package sipprovider

import (
	"fmt"
	"image"
	"image/color"
	"testing"
	"time"

	"github.com/roomd/roomd/internal/siptest"
	"github.com/roomd/roomd/media/capture"
	"github.com/roomd/roomd/media/sip/sdp"
	"github.com/roomd/roomd/media/sip/ua"
	"github.com/roomd/roomd/room"
)

// Levels of baresip's decoded audio (RMS, 0..32768) over the last
// audioWindow: the room's tone is well above toneRMS, Opus-coded digital
// silence well below silenceRMS.
const (
	toneRMS     = 300
	silenceRMS  = 20
	audioWindow = 400 * time.Millisecond
)

// TestMuteAndPrivacyAtFarEnd: the room is in a call with baresip; muting
// the room's microphone makes what baresip decodes silence, and camera
// privacy makes baresip's decoded picture the privacy slate instead of
// the room's camera; unmuting and privacy off bring both back. The gates
// are the ones the room's state drives (call.Config.Mic/Camera).
func TestMuteAndPrivacyAtFarEnd(t *testing.T) {
	b := siptest.StartBaresip(t, &siptest.Options{User: "bob", AutoAnswer: true})
	g := newRig(t, Config{Encryption: sdp.EncryptionPreferred}, ua.Config{})
	g.join(b.URI("udp"))
	g.wait(t, room.InCall, 15*time.Second)
	b.Expect(5*time.Second, siptest.EventCallEstablished)

	hears := func(what string, ok func(rms float64) bool) {
		t.Helper()
		var rms float64
		began := time.Now()
		eventually(t, 5*time.Second, what, func() bool {
			a, err := b.ReceivedAudio()
			if err != nil || a.Duration() < audioWindow {
				return false
			}
			rms = a.Last(audioWindow).RMS()
			return ok(rms)
		})
		t.Logf("%s after %v (RMS %.1f over the last %v)", what, time.Since(began).Round(time.Millisecond), rms, audioWindow)
	}
	sees := func(what string, check func(image.Image) error) {
		t.Helper()
		var err error
		began := time.Now()
		eventually(t, 10*time.Second, what, func() bool {
			var img image.Image
			if img, err = b.ReceivedFrame(2 * time.Second); err == nil {
				err = check(img)
			}
			return err == nil
		})
		t.Logf("%s after %v", what, time.Since(began).Round(time.Millisecond))
	}
	isTone := func(rms float64) bool { return rms > toneRMS }
	isSilence := func(rms float64) bool { return rms < silenceRMS }

	hears("the room's tone at baresip", isTone)
	sees("the room's camera at baresip", checkPattern)

	g.mic.Set(true)
	hears("silence at baresip with the mic muted", isSilence)
	g.mic.Set(false)
	hears("the room's tone at baresip again after unmute", isTone)

	g.camera.Set(true)
	sees("the privacy slate at baresip", checkPrivacySlate)
	g.camera.Set(false)
	sees("the room's camera at baresip again after privacy off", checkPattern)

	// Neither the mute nor privacy touched the call itself.
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, r := range g.reports {
		if r.State != room.Joining && r.State != room.InCall {
			t.Errorf("the call went %v (%q) during mute and privacy", r.State, r.Reason)
		}
	}
}

// checkPrivacySlate says whether img is the room's privacy slate
// (capture.SlatePrivacy) after a codec: close to it in luma, and not the
// camera's pattern.
func checkPrivacySlate(img image.Image) error {
	if checkPattern(img) == nil {
		return fmt.Errorf("the room's camera pattern is visible under privacy")
	}
	b := img.Bounds()
	want := capture.Slate(capture.SlatePrivacy, b.Dx(), b.Dy())
	var sum float64
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			got := color.GrayModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.Gray).Y
			exp := color.GrayModel.Convert(want.At(x, y)).(color.Gray).Y
			sum += absDiff(got, exp)
		}
	}
	if mean := sum / float64(b.Dx()*b.Dy()); mean > 8 {
		return fmt.Errorf("the picture differs from the privacy slate by %.1f grey levels on average", mean)
	}
	return nil
}

func absDiff(a, b uint8) float64 {
	if a > b {
		return float64(a - b)
	}
	return float64(b - a)
}
