package siptest_test

import (
	"image"
	"image/color"
	"strings"
	"testing"

	"github.com/roomd/roomd/internal/siptest"
	"github.com/roomd/roomd/internal/testtool"
)

// Without its tool every harness fails (never skips) and says which Debian
// package to install; under CI=true it says CI must install it. It runs past
// the -short skip, so make test-unit checks it too.
func TestMissingToolFailsWithInstallHint(t *testing.T) {
	starts := map[string]struct {
		pkg   string
		start func(testing.TB)
	}{
		"baresip": {"baresip-core", func(tb testing.TB) {
			siptest.StartBaresipPastShort(tb, &siptest.Options{Binary: "baresip-not-installed-here"})
		}},
		"kamailio": {"kamailio", func(tb testing.TB) {
			siptest.StartKamailioPastShort(tb, &siptest.KamailioOptions{Binary: "kamailio-not-installed-here"})
		}},
		"linphonec": {"linphone-cli", func(tb testing.TB) {
			siptest.StartLinphonePastShort(tb, &siptest.LinphoneOptions{Binary: "linphonec-not-installed-here"})
		}},
		"sipp": {"sip-tester", func(tb testing.TB) {
			siptest.RunSippPastShort(tb, siptest.SippRun{Target: "127.0.0.1:9", Binary: "sipp-not-installed-here"})
		}},
	}
	for name, s := range starts {
		for _, ci := range []string{"", "true"} {
			t.Run(name+"/CI="+ci, func(t *testing.T) {
				t.Setenv("CI", ci)
				msg := testtool.FatalMessage(t, s.start)
				if !strings.Contains(msg, "apt-get install -y") || !strings.Contains(msg, s.pkg) {
					t.Errorf("without %s: %q; want an install hint naming %s", name, msg, s.pkg)
				}
				if ci == "true" && !strings.Contains(msg, "CI must install") {
					t.Errorf("under CI=true: %q; want it to name CI", msg)
				}
			})
		}
	}
}

// parseWAV reads a complete WAV and refuses what is not one.
func TestParseWAV(t *testing.T) {
	wav := []byte("RIFF\x2c\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00\x40\x1f\x00\x00\x80\x3e\x00\x00\x02\x00\x10\x00data\x04\x00\x00\x00\x10\x00\xf0\xff")
	a, err := siptest.ParseWAV(wav)
	if err != nil {
		t.Fatal(err)
	}
	if a.SampleRate != 8000 || a.Channels != 1 || len(a.Samples) != 2 || a.Samples[0] != 16 || a.Samples[1] != -16 {
		t.Errorf("parsed %+v", a)
	}
	if a.RMS() != 16 {
		t.Errorf("RMS %v, want 16", a.RMS())
	}
	if _, err := siptest.ParseWAV([]byte("not a wav file at all")); err == nil {
		t.Error("garbage parsed as WAV")
	}
}

// CheckBars accepts red/green/blue thirds and refuses anything else.
func TestCheckBars(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 60, 20))
	paint := func(cols ...color.RGBA) {
		for x := 0; x < 60; x++ {
			for y := 0; y < 20; y++ {
				img.SetRGBA(x, y, cols[x*len(cols)/60])
			}
		}
	}
	red, green, blue := color.RGBA{230, 20, 10, 255}, color.RGBA{15, 240, 20, 255}, color.RGBA{10, 5, 250, 255}
	paint(red, green, blue)
	if err := siptest.CheckBars(img); err != nil {
		t.Errorf("bars refused: %v", err)
	}
	paint(blue, green, red)
	if err := siptest.CheckBars(img); err == nil {
		t.Error("mirrored bars accepted")
	}
	paint(color.RGBA{0, 0, 0, 255})
	if err := siptest.CheckBars(img); err == nil {
		t.Error("a black frame accepted")
	}
}
