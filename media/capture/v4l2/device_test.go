package v4l2_test

import (
	"errors"
	"testing"
	"time"

	"github.com/roomd/roomd/media/capture/v4l2"
	"github.com/roomd/roomd/media/capture/v4l2/v4l2test"
)

func openFake(t *testing.T, c *v4l2test.Codec) *v4l2.Device {
	t.Helper()
	d, err := v4l2.NewDevice(c, "/dev/video11")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func TestOpenRefusesNonDevices(t *testing.T) {
	if _, err := v4l2.Open("/dev/null"); !errors.Is(err, v4l2.ErrNotV4L2) {
		t.Fatalf("Open(/dev/null) = %v, want ErrNotV4L2", err)
	}
	if _, err := v4l2.Open(t.TempDir() + "/video0"); err == nil {
		t.Fatal("Open of a missing node succeeded")
	}
}

func TestFormatsFollowTheDriver(t *testing.T) {
	d := openFake(t, v4l2test.NewCodec(0))
	if c := d.Capabilities(); !c.IsM2M() || c.Card != "bcm2835-codec-encode" {
		t.Fatalf("caps %+v", c)
	}
	fs, err := d.Formats(v4l2.BufVideoCaptureMPlane)
	if err != nil || len(fs) != 1 || fs[0].FourCC != v4l2.FourCCH264 || !fs[0].Compressed {
		t.Fatalf("capture formats %+v, %v", fs, err)
	}
	cases := []struct {
		fourcc         uint32
		w, h           int
		wantBPL, wantH int
	}{
		{v4l2.FourCCYU12, 1280, 720, 1280, 720},
		{v4l2.FourCCYU12, 640, 360, 640, 368}, // height aligned to 16
		{v4l2.FourCCYU12, 1000, 562, 1024, 576},
		{v4l2.FourCCNV12, 1000, 560, 1024, 560}, // NV12 rows: 32
		{v4l2.FourCCNV12, 1010, 560, 1024, 560},
		{v4l2.FourCCYU12, 4000, 4000, 1920, 1920},
	}
	for _, c := range cases {
		want := v4l2.PixFormat{Width: c.w, Height: c.h, FourCC: c.fourcc}
		tried, err := d.TryFormat(v4l2.BufVideoOutputMPlane, want)
		if err != nil {
			t.Fatal(err)
		}
		got, err := d.SetFormat(v4l2.BufVideoOutputMPlane, want)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Planes) != 1 || got.Planes[0].BytesPerLine != c.wantBPL || got.Height != c.wantH {
			t.Errorf("%s %dx%d: got %+v, want bytesperline %d height %d", v4l2.FourCCString(c.fourcc), c.w, c.h, got, c.wantBPL, c.wantH)
			continue
		}
		if tried.Planes[0] != got.Planes[0] {
			t.Errorf("TRY_FMT %+v, S_FMT %+v", tried, got)
		}
		if got.Planes[0].SizeImage != c.wantBPL*c.wantH*3/2 {
			t.Errorf("sizeimage %d", got.Planes[0].SizeImage)
		}
		again, err := d.GetFormat(v4l2.BufVideoOutputMPlane)
		if err != nil || again.Planes[0] != got.Planes[0] || again.FourCC != c.fourcc {
			t.Errorf("G_FMT %+v, %v", again, err)
		}
	}
	if _, err := d.SetFormat(v4l2.BufVideoOutputMPlane, v4l2.PixFormat{Width: 1280, Height: 720, FourCC: v4l2.FourCCYU12}); err != nil {
		t.Fatal(err)
	}
	cf, err := d.GetFormat(v4l2.BufVideoCaptureMPlane)
	if err != nil || cf.Planes[0].SizeImage != 512<<10 || cf.Width != 1280 {
		t.Fatalf("capture format %+v, %v", cf, err)
	}
	if _, err := d.GetFormat(v4l2.BufVideoCapture); err == nil {
		t.Fatal("a multi-planar-only driver accepted a single-planar G_FMT")
	}
}

func TestControls(t *testing.T) {
	d := openFake(t, v4l2test.NewCodec(0))
	info, err := d.QueryControl(v4l2.CIDBitrate)
	if err != nil || info.Minimum != 25_000 || info.Maximum != 25_000_000 || info.Name != "Video Bitrate" {
		t.Fatalf("bitrate control %+v, %v", info, err)
	}
	if got := info.Clamp(40_000_000); got != 25_000_000 {
		t.Fatalf("Clamp = %d", got)
	}
	if err := d.SetControl(v4l2.CIDBitrate, 1_010_000); err != nil {
		t.Fatal(err)
	}
	if v, err := d.GetControl(v4l2.CIDBitrate); err != nil || v != 1_000_000 {
		t.Fatalf("bitrate after S_CTRL 1010000: %d, %v (the driver rounds to its 25 kb/s step)", v, err)
	}
	if err := d.SetControl(v4l2.CIDBitrateMode, 7); err == nil || errors.Is(err, v4l2.ErrNoControl) {
		t.Fatalf("menu value out of range: %v", err)
	}
	if _, err := d.QueryControl(0x00990a00); !errors.Is(err, v4l2.ErrNoControl) {
		t.Fatalf("unknown control: %v", err)
	}
	err = d.SetExtControls(v4l2.CtrlClassCodec, []v4l2.ExtControl{{ID: v4l2.CIDRepeatSeqHeader, Value: 1}, {ID: 0x00990a00, Value: 1}})
	if !errors.Is(err, v4l2.ErrNoControl) {
		t.Fatalf("ext controls with an unknown one: %v", err)
	}
	if v, _ := d.GetControl(v4l2.CIDRepeatSeqHeader); v != 0 {
		t.Fatal("a failed S_EXT_CTRLS changed a control")
	}
	if err := d.SetExtControls(v4l2.CtrlClassCodec, []v4l2.ExtControl{{ID: v4l2.CIDRepeatSeqHeader, Value: 1}, {ID: v4l2.CIDH264IPeriod, Value: 30}}); err != nil {
		t.Fatal(err)
	}
	if v, _ := d.GetControl(v4l2.CIDH264IPeriod); v != 30 {
		t.Fatalf("I period %d", v)
	}
	num, den, err := d.SetFrameInterval(v4l2.BufVideoOutputMPlane, 1, 25)
	if err != nil || num != 1 || den != 25 {
		t.Fatalf("S_PARM: %d/%d, %v", num, den, err)
	}
}

// TestStreamAndDrain runs the memory-to-memory protocol by hand: MMAP on
// both queues, one frame through, then ENCODER_CMD STOP until the LAST
// buffer and the EOS event.
func TestStreamAndDrain(t *testing.T) {
	c := v4l2test.NewCodec(0)
	d := openFake(t, c)
	if _, err := d.SetFormat(v4l2.BufVideoOutputMPlane, v4l2.PixFormat{Width: 640, Height: 360, FourCC: v4l2.FourCCYU12}); err != nil {
		t.Fatal(err)
	}
	out, err := d.MapBuffers(v4l2.BufVideoOutputMPlane, 2)
	if err != nil {
		t.Fatal(err)
	}
	capb, err := d.MapBuffers(v4l2.BufVideoCaptureMPlane, 4)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 2 || len(capb) != 4 || len(capb[0].Data[0]) != 512<<10 || len(out[0].Data[0]) != 640*368*3/2 || c.Mapped() != 6 {
		t.Fatalf("buffers: %d output of %d B, %d capture of %d B, %d mapped", len(out), len(out[0].Data[0]), len(capb), len(capb[0].Data[0]), c.Mapped())
	}
	if err := d.SubscribeEvent(v4l2.EventEOS); err != nil {
		t.Fatal(err)
	}
	for _, b := range capb {
		if err := d.Queue(b.Buffer); err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range []uint32{v4l2.BufVideoOutputMPlane, v4l2.BufVideoCaptureMPlane} {
		if err := d.StreamOn(q); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := d.Dequeue(v4l2.BufVideoCaptureMPlane, v4l2.MemoryMMAP); !errors.Is(err, v4l2.ErrNotReady) {
		t.Fatalf("DQBUF before any frame: %v", err)
	}
	if rev, err := d.Wait(v4l2.PollIn, 10*time.Millisecond); err != nil || rev != 0 {
		t.Fatalf("poll before any frame: %#x %v", rev, err)
	}
	b := out[0].Buffer
	b.Planes[0].BytesUsed = b.Planes[0].Length
	b.Timestamp = 1500 * time.Millisecond
	if err := d.Queue(b); err != nil {
		t.Fatal(err)
	}
	if rev, err := d.Wait(v4l2.PollIn|v4l2.PollOut, time.Second); err != nil || rev&v4l2.PollIn == 0 || rev&v4l2.PollOut == 0 {
		t.Fatalf("poll after a frame: %#x %v", rev, err)
	}
	enc, err := d.Dequeue(v4l2.BufVideoCaptureMPlane, v4l2.MemoryMMAP)
	if err != nil {
		t.Fatal(err)
	}
	if enc.Flags&v4l2.FlagKeyFrame == 0 || enc.Timestamp != 1500*time.Millisecond || enc.Planes[0].BytesUsed == 0 {
		t.Fatalf("first encoded buffer %+v", enc)
	}
	if done, err := d.Dequeue(v4l2.BufVideoOutputMPlane, v4l2.MemoryMMAP); err != nil || done.Index != 0 {
		t.Fatalf("output buffer back: %+v %v", done, err)
	}
	if err := d.Queue(enc); err != nil {
		t.Fatal(err)
	}

	if err := d.EncoderCommand(v4l2.EncCmdStop); err != nil {
		t.Fatal(err)
	}
	last, err := d.Dequeue(v4l2.BufVideoCaptureMPlane, v4l2.MemoryMMAP)
	if err != nil || last.Flags&v4l2.FlagLast == 0 || last.Planes[0].BytesUsed != 0 {
		t.Fatalf("after STOP: %+v %v", last, err)
	}
	if _, err := d.Dequeue(v4l2.BufVideoCaptureMPlane, v4l2.MemoryMMAP); !errors.Is(err, v4l2.ErrLastBuffer) {
		t.Fatalf("DQBUF after the last buffer: %v", err)
	}
	if rev, _ := d.Wait(v4l2.PollPri, time.Second); rev&v4l2.PollPri == 0 {
		t.Fatal("no event after STOP")
	}
	if ev, err := d.DequeueEvent(); err != nil || ev.Type != v4l2.EventEOS {
		t.Fatalf("event %+v %v", ev, err)
	}
	if _, err := d.DequeueEvent(); !errors.Is(err, v4l2.ErrNotReady) {
		t.Fatalf("second event: %v", err)
	}

	for _, q := range []uint32{v4l2.BufVideoOutputMPlane, v4l2.BufVideoCaptureMPlane} {
		if err := d.StreamOff(q); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.UnmapBuffers(v4l2.BufVideoOutputMPlane, out); err != nil {
		t.Fatal(err)
	}
	if err := d.UnmapBuffers(v4l2.BufVideoCaptureMPlane, capb); err != nil {
		t.Fatal(err)
	}
	if c.Mapped() != 0 {
		t.Fatalf("%d planes still mapped", c.Mapped())
	}
}

// TestExportedBufferQueuedAsDMABUF exports a buffer (as a camera would)
// and queues its file descriptor on a DMABUF OUTPUT queue.
func TestExportedBufferQueuedAsDMABUF(t *testing.T) {
	camera := v4l2test.NewCodec(0) // any MMAP queue exports the same way
	cam := openFake(t, camera)
	cb, err := cam.MapBuffers(v4l2.BufVideoOutputMPlane, 1)
	if err != nil {
		t.Fatal(err)
	}
	fd, err := cam.ExportBuffer(v4l2.BufVideoOutputMPlane, 0, 0)
	if err != nil || fd < 0 {
		t.Fatalf("EXPBUF: %d %v", fd, err)
	}
	copy(cb[0].Data[0], "camera picture")

	enc := v4l2test.NewCodec(0)
	enc.DMABufs[fd] = camera.DMABufs[fd]
	d := openFake(t, enc)
	n, err := d.RequestBuffers(v4l2.BufVideoOutputMPlane, v4l2.MemoryDMABUF, 4)
	if err != nil || n != 4 {
		t.Fatalf("REQBUFS DMABUF: %d %v", n, err)
	}
	capb, err := d.MapBuffers(v4l2.BufVideoCaptureMPlane, 1)
	if err != nil {
		t.Fatal(err)
	}
	d.Queue(capb[0].Buffer)
	d.StreamOn(v4l2.BufVideoOutputMPlane)
	d.StreamOn(v4l2.BufVideoCaptureMPlane)
	size := len(camera.DMABufs[fd])
	if err := d.Queue(v4l2.Buffer{Index: 2, Type: v4l2.BufVideoOutputMPlane, Memory: v4l2.MemoryDMABUF,
		Planes: []v4l2.Plane{{FD: fd, Length: size, BytesUsed: size}}}); err != nil {
		t.Fatal(err)
	}
	back, err := d.Dequeue(v4l2.BufVideoOutputMPlane, v4l2.MemoryDMABUF)
	if err != nil || back.Index != 2 || back.Planes[0].FD != fd {
		t.Fatalf("DMABUF buffer back: %+v %v", back, err)
	}
	if len(enc.Frames()) != 1 {
		t.Fatalf("frames encoded from the dmabuf: %d", len(enc.Frames()))
	}
	if err := d.Queue(v4l2.Buffer{Index: 1, Type: v4l2.BufVideoOutputMPlane, Memory: v4l2.MemoryDMABUF,
		Planes: []v4l2.Plane{{FD: 999, Length: size, BytesUsed: size}}}); err == nil {
		t.Fatal("a file descriptor that is no dmabuf was queued")
	}
}
