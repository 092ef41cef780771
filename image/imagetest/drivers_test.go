//go:build imagetest

package imagetest

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/roomd/roomd/media/hwcheck"
)

// The test image's own kernel modules, built out of tree by image/kmod:
// vicodec (stateful FWHT encoder) as multi-planar memory-to-memory nodes, and
// v4l2loopback at /dev/video20 as a camera whose frames a writer supplies.
const loadTestDrivers = "modprobe vicodec multiplanar=1 && modprobe vim2m && " +
	"modprobe v4l2loopback video_nr=20 exclusive_caps=1 card_label=h264cam"

// find returns the first node ok accepts.
func find(r hwcheck.Report, ok func(hwcheck.Node) bool) (hwcheck.Node, bool) {
	for _, n := range r.Nodes {
		if ok(n) {
			return n, true
		}
	}
	return hwcheck.Node{}, false
}

func has(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func (v *vm) probe() hwcheck.Report {
	v.t.Helper()
	out := v.must("roomd --probe -json")
	var r hwcheck.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		v.t.Fatalf("roomd --probe -json: %v\n%s", err, out)
	}
	return r
}

// realDrivers loads the test image's out-of-tree modules and checks roomd
// on them: the probe, vivid's frames encoded through vicodec by roomd's
// V4L2 M2M encoder (DMABUF and copy), and v4l2loopback fed H.264 listed
// as an H.264 camera.
func realDrivers(t *testing.T, v *vm) {
	if out, code := v.sh(loadTestDrivers); code != 0 {
		t.Fatalf("loading the test image's modules: exit %d\n%s", code, out)
	}
	t.Logf("modules: %s", strings.Join(scanLines(v.must("lsmod | awk '/^(vicodec|vim2m|v4l2loopback|vivid) / {print $1}'")), " "))
	// The checks open the camera themselves.
	v.must("systemctl stop roomd.service")
	defer func() {
		v.must("systemctl start roomd.service")
		v.poll("systemctl is-active roomd.service", time.Minute, func(out string, _ int) bool { return strings.TrimSpace(out) == "active" })
	}()

	t.Run("Probe", func(t *testing.T) {
		v.t = t
		t.Logf("roomd --probe:\n%s", v.must("roomd --probe"))
		r := v.probe()
		cam, ok := find(r, func(n hwcheck.Node) bool { return n.Driver == "vivid" })
		if !ok || cam.Role != "camera" || !has(cam.Capture, "YU12") {
			t.Errorf("vivid is not listed as a camera giving YU12: %+v", cam)
		}
		enc, ok := find(r, func(n hwcheck.Node) bool { return n.Driver == "vicodec" && n.Name == "stateful-encoder" })
		if !ok || enc.Role != "memory-to-memory encoder" || !has(enc.Capture, "FWHT (compressed)") || !has(enc.Output, "YU12") {
			t.Errorf("vicodec's stateful encoder is not listed as a memory-to-memory encoder from YU12 to FWHT: %+v", enc)
		}
		if dec, ok := find(r, func(n hwcheck.Node) bool { return n.Name == "stateful-decoder" }); !ok || dec.Role != "memory-to-memory decoder" {
			t.Errorf("vicodec's stateful decoder: %+v", dec)
		}
		if m2m, ok := find(r, func(n hwcheck.Node) bool { return n.Driver == "vim2m" }); !ok || m2m.Role != "memory-to-memory converter" {
			t.Errorf("vim2m: %+v", m2m)
		}
	})

	for _, memory := range []string{"dmabuf", "mmap"} {
		t.Run("EncodeFWHT/"+memory, func(t *testing.T) {
			v.t = t
			out, code := v.sh("roomd --check-encoder -camera /dev/video0 -codec FWHT -width 640 -height 480 -fps 10 -frames 20 -memory " + memory)
			t.Logf("roomd --check-encoder (exit %d):\n%s", code, out)
			var r hwcheck.EncoderReport
			if err := json.Unmarshal([]byte(out), &r); err != nil {
				t.Fatalf("not a JSON report: %v", err)
			}
			if code != 0 || r.Error != "" {
				t.Errorf("the check failed: %s", r.Error)
			}
			if !strings.Contains(r.Camera, "vivid") || !strings.Contains(r.Encoder, "vicodec") {
				t.Errorf("camera %q, encoder %q: want vivid through vicodec", r.Camera, r.Encoder)
			}
			if r.Memory != memory {
				t.Errorf("pictures reached the encoder by %s (%s), want %s", r.Memory, r.MemoryNote, memory)
			}
			if r.FramesIn != 20 || r.FramesOut != 20 || r.Bytes == 0 || r.KeyFrames == 0 {
				t.Errorf("%d pictures in, %d frames out (%d bytes, %d key frames); want 20 in and out with a key frame", r.FramesIn, r.FramesOut, r.Bytes, r.KeyFrames)
			}
			// Every FWHT frame starts with its header's magic (codec-fwht.h).
			if !strings.HasPrefix(r.FirstBytes, "4f4f4f4fffffffff") {
				t.Errorf("the first frame starts %s, not with FWHT's header", r.FirstBytes)
			}
			bitrate := false
			for _, u := range r.Unsupported {
				bitrate = bitrate || strings.HasPrefix(u, "bitrate")
			}
			if !bitrate {
				t.Errorf("vicodec has no bitrate control, but it is not reported unsupported: %q", r.Unsupported)
			}
			if r.Drain != "ok" {
				t.Errorf("drain: %s", r.Drain)
			}
		})
	}

	t.Run("LoopbackH264Camera", func(t *testing.T) {
		v.t = t
		loop, ok := find(v.probe(), func(n hwcheck.Node) bool { return n.Path == "/dev/video20" })
		if !ok || loop.Role == "camera" {
			t.Fatalf("before a writer, v4l2loopback (exclusive_caps) must not be a camera: %+v", loop)
		}
		v.must("systemctl reset-failed h264cam 2>/dev/null; systemd-run --unit=h264cam /usr/lib/roomd/test/v4l2-feed -device /dev/video20 -width 320 -height 180 -fps 10 /usr/lib/roomd/test/camera.h264")
		defer v.sh("systemctl stop h264cam")
		var cam hwcheck.Node
		v.poll("roomd --probe -json", 30*time.Second, func(out string, code int) bool {
			var r hwcheck.Report
			if code != 0 || json.Unmarshal([]byte(out), &r) != nil {
				return false
			}
			cam, _ = find(r, func(n hwcheck.Node) bool { return n.Path == "/dev/video20" })
			return cam.Role == "camera"
		})
		if cam.Card != "h264cam" || !has(cam.Capture, "H264 (compressed)") {
			t.Errorf("v4l2loopback fed H.264 is listed as %+v, want camera h264cam giving H264 (compressed)", cam)
		}
		t.Logf("%s", v.must("roomd --probe | grep -A2 /dev/video20; journalctl -u h264cam -o cat | head -3"))
	})
	v.t = t
}
