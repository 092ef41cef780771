package v4l2

import (
	"encoding/binary"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// The capability a Raspberry Pi 4's /dev/video11 reports.
func piEncoderCaps() [capabilitySize]byte {
	var raw [capabilitySize]byte
	copy(raw[0:], "bcm2835-codec")
	copy(raw[16:], "bcm2835-codec-encode")
	copy(raw[48:], "platform:bcm2835-codec")
	binary.NativeEndian.PutUint32(raw[80:], 0x0005100f)
	binary.NativeEndian.PutUint32(raw[84:], CapDeviceCaps|CapStreaming|CapVideoM2MMPlane|CapVideoCaptureMPlane|CapVideoOutputMPlane|CapVideoCapture|CapVideoOutput)
	binary.NativeEndian.PutUint32(raw[88:], CapStreaming|CapVideoM2MMPlane)
	return raw
}

func TestParseCapability(t *testing.T) {
	c := parseCapability(piEncoderCaps())
	if c.Driver != "bcm2835-codec" || c.Card != "bcm2835-codec-encode" || c.BusInfo != "platform:bcm2835-codec" {
		t.Fatalf("strings: %+v", c)
	}
	// The whole device claims capture, but this node is M2M only.
	if !c.IsM2M() || c.IsCamera() || c.IsSinglePlanarCamera() {
		t.Fatalf("pi encoder: M2M %v camera %v", c.IsM2M(), c.IsCamera())
	}
	if got := c.Describe(); got != "memory-to-memory (multi-planar)" {
		t.Fatalf("Describe = %q", got)
	}

	uvc := Capabilities{Caps: CapDeviceCaps | CapVideoCapture | CapStreaming, DeviceCaps: CapVideoCapture | CapStreaming}
	if !uvc.IsCamera() || !uvc.IsSinglePlanarCamera() || uvc.IsM2M() {
		t.Fatal("a UVC camera is not recognised as one")
	}
	// Old drivers without DEVICE_CAPS: the device caps are the node caps.
	old := Capabilities{Caps: CapVideoCaptureMPlane, DeviceCaps: CapVideoM2M}
	if !old.IsCamera() || old.IsSinglePlanarCamera() {
		t.Fatal("without CapDeviceCaps, Caps must be used")
	}
}

func TestQueryCapabilitiesOnNonDevices(t *testing.T) {
	dir := t.TempDir()
	if _, err := QueryCapabilities(filepath.Join(dir, "video0")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing node: %v, want fs.ErrNotExist", err)
	}
	regular := filepath.Join(dir, "video1")
	os.WriteFile(regular, nil, 0o644)
	if _, err := QueryCapabilities(regular); !errors.Is(err, ErrNotV4L2) {
		t.Fatalf("regular file: %v, want ErrNotV4L2", err)
	}
	if _, err := QueryCapabilities("/dev/null"); !errors.Is(err, ErrNotV4L2) {
		t.Fatalf("/dev/null: %v, want ErrNotV4L2", err)
	}
	if _, err := Formats("/dev/null", BufVideoCapture); err == nil {
		t.Fatal("Formats of /dev/null succeeded")
	}
}

func TestDevicesAreInNumericOrder(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"video10", "video2", "video0", "video11", "vbi0"} {
		os.WriteFile(filepath.Join(dir, n), nil, 0o644)
	}
	var got []string
	for _, p := range Devices(dir) {
		got = append(got, filepath.Base(p))
	}
	if want := []string{"video0", "video2", "video10", "video11"}; !slices.Equal(got, want) {
		t.Fatalf("Devices = %v, want %v", got, want)
	}
}

func TestFourCC(t *testing.T) {
	for _, c := range []struct {
		code uint32
		name string
	}{{FourCCH264, "H264"}, {FourCCMJPEG, "MJPG"}, {FourCCYUYV, "YUYV"}, {FourCCYU12, "YU12"}, {FourCCNV12, "NV12"}} {
		if c.code != FourCC(c.name) || FourCCString(c.code) != c.name {
			t.Errorf("%s: %#x, FourCC gives %#x", c.name, c.code, FourCC(c.name))
		}
	}
	if FourCCH264 != 0x34363248 {
		t.Fatalf("H264 = %#x %q", FourCCH264, FourCCString(FourCCH264))
	}
	if vidiocQueryCap != 0x80685600 || vidiocEnumFmt != 0xc0405602 {
		t.Fatalf("ioctl numbers %#x %#x", vidiocQueryCap, vidiocEnumFmt)
	}
}
