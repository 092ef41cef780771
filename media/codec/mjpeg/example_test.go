package mjpeg_test

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"

	"github.com/roomd/roomd/media/codec/mjpeg"
)

// A camera's MJPEG frame in, the encoders' I420 out.
func ExampleDecoder() {
	var frame bytes.Buffer // stands in for a frame from the camera
	jpeg.Encode(&frame, image.NewGray(image.Rect(0, 0, 640, 360)), nil)

	dec, err := mjpeg.New()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer dec.Close()
	img, err := dec.Decode(frame.Bytes())
	if err != nil {
		fmt.Println("dropping the frame:", err)
		return
	}
	fmt.Println(img.Rect.Size(), img.SubsampleRatio)
	_, err = dec.Decode(frame.Bytes()[:1000]) // the camera cut the frame short
	fmt.Println(err)
	// Output:
	// (640,360) YCbCrSubsampleRatio420
	// mjpeg: corrupt JPEG frame: jpegstream: picture truncated (no EOI marker before the end of the data)
}
