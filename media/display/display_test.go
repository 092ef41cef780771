package display

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func solid(c color.RGBA) image.Image {
	img := image.NewRGBA(image.Rect(0, 0, 160, 90))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, 0xff
	}
	return img
}

var (
	red   = color.RGBA{200, 0, 0, 255}
	green = color.RGBA{0, 200, 0, 255}
	blue  = color.RGBA{0, 0, 200, 255}
)

func at(img *image.RGBA, x, y int) color.RGBA { return img.RGBAAt(x, y) }

func near(a, b color.RGBA) bool {
	d := func(x, y uint8) int { v := int(x) - int(y); return max(v, -v) }
	return d(a.R, b.R) < 16 && d(a.G, b.G) < 16 && d(a.B, b.B) < 16
}

func TestSpeakerAndGridLayouts(t *testing.T) {
	c := NewCompositor(1280, 720)
	img, v0 := c.Compose()
	if !near(at(img, 640, 360), slate) {
		t.Fatalf("empty screen is not the slate: %v", at(img, 640, 360))
	}
	c.Update("a", solid(red))
	c.Update("b", solid(green))
	c.Update("c", solid(blue))
	c.SetActive("b")
	img, v1 := c.Compose()
	if v1 <= v0 {
		t.Fatal("version did not grow")
	}
	// b fills the top, a and c are in the filmstrip.
	if !near(at(img, 640, 300), green) || !near(at(img, 160, 680), red) || !near(at(img, 480, 680), blue) {
		t.Fatalf("speaker layout wrong: main %v strip %v %v", at(img, 640, 300), at(img, 160, 680), at(img, 480, 680))
	}
	c.SetLayout(Grid)
	img, _ = c.Compose()
	// 2×2 grid: a top-left, b top-right, c bottom-left.
	if !near(at(img, 320, 180), red) || !near(at(img, 960, 180), green) || !near(at(img, 320, 540), blue) || !near(at(img, 960, 540), slate) {
		t.Fatalf("grid wrong: %v %v %v %v", at(img, 320, 180), at(img, 960, 180), at(img, 320, 540), at(img, 960, 540))
	}
	c.Remove("a")
	if p := c.Participants(); len(p) != 2 || p[0] != "b" {
		t.Fatalf("participants %v", p)
	}
}

func TestComposeOnlyWhenChanged(t *testing.T) {
	c := NewCompositor(320, 180)
	c.Update("a", solid(red))
	_, v1 := c.Compose()
	_, v2 := c.Compose()
	if v1 != v2 {
		t.Fatal("recomposed without a change")
	}
	c.Update("a", solid(blue))
	if _, v3 := c.Compose(); v3 == v2 {
		t.Fatal("a new frame did not recompose")
	}
}

func TestFit(t *testing.T) {
	if r := fit(image.Rect(0, 0, 1280, 720), image.Pt(640, 480)); r != image.Rect(160, 0, 1120, 720) {
		t.Fatalf("4:3 in 16:9 = %v", r)
	}
}

// fileAt is a framebuffer stand-in: a plain file.
func TestFramebufferPixelFormats(t *testing.T) {
	for _, bpp := range []int{32, 16} {
		p := filepath.Join(t.TempDir(), "fb")
		f, _ := os.Create(p)
		fb, err := NewFramebuffer(f, 4, 2, bpp, 4*bpp/8+8) // padded stride
		if err != nil {
			t.Fatal(err)
		}
		img := image.NewRGBA(image.Rect(0, 0, 4, 2))
		img.SetRGBA(1, 1, color.RGBA{0xff, 0x80, 0x10, 0xff})
		if err := fb.Show(img); err != nil {
			t.Fatal(err)
		}
		f.Close()
		b, _ := os.ReadFile(p)
		stride := 4*bpp/8 + 8
		off := stride + 1*bpp/8
		if bpp == 32 {
			if got := b[off : off+4]; !bytes.Equal(got, []byte{0x10, 0x80, 0xff, 0xff}) {
				t.Fatalf("XRGB pixel = % x", got)
			}
		} else {
			v := uint16(b[off]) | uint16(b[off+1])<<8
			if v != (0xff>>3)<<11|(0x80>>2)<<5|0x10>>3 {
				t.Fatalf("RGB565 pixel = %04x", v)
			}
		}
	}
	if _, err := NewFramebuffer(nil, 4, 2, 24, 12); err == nil {
		t.Fatal("24 bpp accepted")
	}
}

func TestOpenFramebufferErrors(t *testing.T) {
	if _, err := OpenFramebuffer("/dev/null"); err == nil || !strings.Contains(err.Error(), "not a framebuffer") {
		t.Fatalf("/dev/null: %v", err)
	}
	if _, err := OpenFramebuffer(filepath.Join(t.TempDir(), "fb0")); err == nil || !strings.Contains(err.Error(), "video group") {
		t.Fatalf("missing device: %v", err)
	}
}

func TestRecorderAndSnapshot(t *testing.T) {
	c := NewCompositor(64, 36)
	c.Update("a", solid(red))
	p := filepath.Join(t.TempDir(), "out.y4m")
	rec, err := NewRecorder(p, 64, 36, 10)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	go func() {
		for ctx.Err() == nil {
			c.Update("a", solid(green))
			time.Sleep(20 * time.Millisecond)
		}
	}()
	Run(ctx, c, 50, func(Sink, error) { t.Error("sink failed") }, rec)
	cancel()
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	hdr := "YUV4MPEG2 W64 H36 F10:1 Ip A1:1 C420\n"
	frame := len("FRAME\n") + 64*36*3/2
	if !strings.HasPrefix(string(b), hdr) || (len(b)-len(hdr))%frame != 0 || (len(b)-len(hdr))/frame < 3 {
		t.Fatalf("recording of %d bytes is not whole 64x36 frames (%d each)", len(b), frame)
	}

	rr := httptest.NewRecorder()
	SnapshotHandler(c).ServeHTTP(rr, httptest.NewRequest("GET", "/display.png", nil))
	img, err := png.Decode(rr.Body)
	if err != nil || img.Bounds().Dx() != 64 {
		t.Fatalf("snapshot: %v %v", err, img)
	}
	r, g, _, _ := img.At(32, 18).RGBA()
	if g>>8 < 150 || r>>8 > 50 {
		t.Fatalf("snapshot does not show the green frame: %v", img.At(32, 18))
	}
}

func BenchmarkCompose720pTwoFeeds(b *testing.B) {
	c := NewCompositor(1280, 720)
	f1 := image.NewYCbCr(image.Rect(0, 0, 1280, 720), image.YCbCrSubsampleRatio420)
	f2 := image.NewYCbCr(image.Rect(0, 0, 1280, 720), image.YCbCrSubsampleRatio420)
	b.ResetTimer()
	for b.Loop() {
		c.Update("a", f1)
		c.Update("b", f2)
		c.Compose()
	}
}

// A 4:2:0 frame takes the fast path and keeps its colours.
func TestYCbCrFrames(t *testing.T) {
	f := image.NewYCbCr(image.Rect(0, 0, 64, 36), image.YCbCrSubsampleRatio420)
	yy, cb, cr := color.RGBToYCbCr(200, 0, 0)
	for i := range f.Y {
		f.Y[i] = yy
	}
	for i := range f.Cb {
		f.Cb[i], f.Cr[i] = cb, cr
	}
	c := NewCompositor(128, 72)
	c.Update("a", f)
	f.Y[0] = 0 // the compositor copied the frame
	img, _ := c.Compose()
	if !near(at(img, 0, 0), red) || !near(at(img, 64, 36), red) {
		t.Fatalf("YCbCr red shows as %v / %v", at(img, 0, 0), at(img, 64, 36))
	}
}

// The device's path for one remote 720p participant: a new decoded frame,
// composed straight into a mapped 1280×720 XRGB8888 framebuffer.
func BenchmarkFrameToFramebuffer720p(b *testing.B) {
	c := NewCompositor(1280, 720)
	f := image.NewYCbCr(image.Rect(0, 0, 1280, 720), image.YCbCrSubsampleRatio420)
	fb, err := CreateFramebufferFile(filepath.Join(b.TempDir(), "fb"), 1280, 720)
	if err != nil {
		b.Fatal(err)
	}
	defer fb.Close()
	if !c.DrawOn(fb) {
		b.Fatal("cannot draw on a mapped framebuffer file")
	}
	for b.Loop() {
		c.Update("a", f)
		c.draw()
	}
}

// The compositor draws into a mapped framebuffer in its own format; Run
// leaves that sink alone, and snapshots read the screen back.
func TestDrawOnFramebuffer(t *testing.T) {
	p := filepath.Join(t.TempDir(), "fb")
	fb, err := CreateFramebufferFile(p, 64, 36)
	if err != nil {
		t.Fatal(err)
	}
	c := NewCompositor(64, 36)
	if !c.DrawOn(fb) {
		t.Fatal("DrawOn refused a mapped 32-bit framebuffer of the same size")
	}
	if NewCompositor(32, 18).DrawOn(fb) {
		t.Fatal("DrawOn took a framebuffer of another size")
	}
	f := image.NewYCbCr(image.Rect(0, 0, 64, 36), image.YCbCrSubsampleRatio420)
	yy, cb, cr := color.RGBToYCbCr(200, 0, 0)
	for i := range f.Y {
		f.Y[i] = yy
	}
	for i := range f.Cb {
		f.Cb[i], f.Cr[i] = cb, cr
	}
	c.Update("a", f)
	c.Update("b", solid(blue))
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	shown := 0
	Run(ctx, c, 50, func(Sink, error) { t.Error("sink failed") }, fb, sinkFunc(func(*image.RGBA) error { shown++; return nil }))
	if shown == 0 {
		t.Fatal("the other sink got no picture")
	}
	if err := fb.Close(); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	px := func(x, y int) color.RGBA {
		o := y*64*4 + x*4
		return color.RGBA{b[o+2], b[o+1], b[o], b[o+3]}
	}
	// Speaker layout: a on top, b in the filmstrip, slate beside a.
	if !near(px(32, 10), red) || !near(px(8, 32), blue) || !near(px(1, 10), slate) {
		t.Fatalf("framebuffer shows %v %v %v, want red, blue and the slate", px(32, 10), px(8, 32), px(1, 10))
	}
	if b[3] != 0xff {
		t.Fatalf("X byte %#x, want 0xff", b[3])
	}
	img, _ := c.Compose()
	if !near(at(img, 32, 10), red) || !near(at(img, 8, 32), blue) {
		t.Fatalf("snapshot shows %v %v, want red and blue", at(img, 32, 10), at(img, 8, 32))
	}
}

type sinkFunc func(*image.RGBA) error

func (f sinkFunc) Show(img *image.RGBA) error { return f(img) }
func (f sinkFunc) Close() error               { return nil }
