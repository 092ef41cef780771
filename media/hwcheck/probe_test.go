package hwcheck

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/roomd/roomd/media/capture/v4l2"
	"github.com/roomd/roomd/media/capture/v4l2/v4l2test"
)

// The probe classifies nodes by their queues' formats: the fake
// bcm2835-codec and a vicodec-like fake are encoders, a node that cannot
// be opened is listed with the reason.
func TestProbeClassifiesNodes(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"video0", "video1", "video11"} {
		os.WriteFile(filepath.Join(dir, n), nil, 0o600)
	}
	open := func(path string) (*v4l2.Device, error) {
		switch filepath.Base(path) {
		case "video11":
			return v4l2.NewDevice(v4l2test.NewCodec(v4l2.FourCCH264), path)
		case "video1":
			c := v4l2test.NewCodec(v4l2test.FourCCFWHT)
			c.Card = "vicodec"
			return v4l2.NewDevice(c, path)
		}
		return nil, errors.New("v4l2: " + path + ": permission denied")
	}
	names := map[string]string{"video1": "stateful-encoder"}
	r := probe(dir, open, func(p string) string { return names[filepath.Base(p)] })
	if len(r.Nodes) != 3 {
		t.Fatalf("%d nodes, want 3: %+v", len(r.Nodes), r.Nodes)
	}
	bad, fwht, h264 := r.Nodes[0], r.Nodes[1], r.Nodes[2]
	if bad.Role != RoleOther || !strings.Contains(bad.Error, "permission denied") {
		t.Errorf("unopenable node: %+v", bad)
	}
	if fwht.Role != RoleEncoder || fwht.Name != "stateful-encoder" || !hasFormat(fwht.Capture, v4l2test.FourCCFWHT) || !hasFormat(fwht.Output, v4l2.FourCCYU12) {
		t.Errorf("vicodec-like node: %+v", fwht)
	}
	if h264.Role != RoleEncoder || !hasFormat(h264.Capture, v4l2.FourCCH264) || h264.Card != "bcm2835-codec-encode" {
		t.Errorf("bcm2835-codec-like node: %+v", h264)
	}
	// The codec selection's own probe opens real nodes: these are files.
	if r.H264Encoder != "" || !strings.Contains(r.H264Reason, "no V4L2 M2M H.264 encoder") {
		t.Errorf("H.264 encoder %q, reason %q", r.H264Encoder, r.H264Reason)
	}
	var text bytes.Buffer
	if err := r.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		filepath.Join(dir, "video1") + `: memory-to-memory encoder — vicodec "stateful-encoder"`,
		"takes: YU12",
		"gives: FWHT (compressed)",
		"gives: H264 (compressed)",
		"error: v4l2: " + filepath.Join(dir, "video0"),
		"hardware H.264 encoder: none: no V4L2 M2M H.264 encoder found",
	} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, text.String())
		}
	}
}

func TestFindEncoderSaysWhatToRun(t *testing.T) {
	_, err := FindEncoder(t.TempDir(), v4l2test.FourCCFWHT)
	if err == nil || !strings.Contains(err.Error(), "roomd --probe") {
		t.Fatalf("err = %v", err)
	}
}

func TestFWHTIntraFlag(t *testing.T) {
	hdr := make([]byte, 44)
	copy(hdr, "OOOO\xff\xff\xff\xff")
	if fwhtIntra(hdr) {
		t.Error("a P frame counted as intra")
	}
	hdr[22] = 0x04 // bit 10 of the big-endian flags
	if !fwhtIntra(hdr) || fwhtIntra(hdr[:10]) {
		t.Error("the I-frame flag is not read from byte 20")
	}
}
