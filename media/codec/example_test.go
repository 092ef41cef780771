package codec_test

import (
	"fmt"
	"log/slog"

	"github.com/roomd/roomd/media/capture"
	"github.com/roomd/roomd/media/codec"
)

// Choosing the encoder for a call: hardware if the board has one, else
// software; the reason goes to status.
func ExampleSelect() {
	sel, err := codec.Select(codec.Preferences{Codecs: []string{codec.MimeH264, codec.MimeVP8}},
		codec.VideoConfig{Width: 1280, Height: 720, FPS: 30, BitRate: 2_500_000})
	if err != nil {
		slog.Error("no video encoder", "err", err)
		return
	}
	defer sel.Encoder.Close()
	slog.Info("video encoder", "codec", sel.Codec, "encoder", sel.Name, "why", sel.Reason)

	pattern, _ := capture.NewPattern(capture.PatternOptions{Width: 1280, Height: 720})
	img, release, _ := pattern.Read()
	frame, key, err := sel.Encoder.Encode(img)
	release()
	if err == nil && len(frame) > 0 {
		_ = key // write frame as one media.Sample to the track
	}
	sel.Encoder.SetBitRate(1_200_000) // when congestion control says so
	sel.Encoder.ForceKeyFrame()       // on a PLI
}

// The receive path: one decoder per remote track; ErrNeedKeyFrame means
// "send a PLI".
func ExampleNewVideoDecoder() {
	enc, _ := codec.NewH264(codec.VideoConfig{Width: 320, Height: 240})
	defer enc.Close()
	dec, _ := codec.NewVideoDecoder(codec.MimeH264)
	defer dec.Close()

	pattern, _ := capture.NewPattern(capture.PatternOptions{Width: 320, Height: 240, Unpaced: true})
	for range 2 {
		img, release, _ := pattern.Read()
		frame, _, _ := enc.Encode(img)
		release()
		pic, err := dec.Decode(frame)
		if err != nil {
			fmt.Println(err) // errors.Is(err, codec.ErrNeedKeyFrame): send a PLI
			continue
		}
		n, _ := capture.ReadPatternCounter(pic)
		fmt.Println("decoded frame", n, pic.Rect.Dx(), "x", pic.Rect.Dy())
	}
	// Output:
	// decoded frame 0 320 x 240
	// decoded frame 1 320 x 240
}
