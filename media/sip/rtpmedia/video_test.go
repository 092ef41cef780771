package rtpmedia

import (
	"image"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/roomd/roomd/media/capture"
	"github.com/roomd/roomd/media/codec"
)

// Two streams on loopback carry real encoders' frames: every frame the far
// end decodes is the pattern frame that was sent, in order, at > 28 dB.
// Mode 0 runs at a low bitrate, where only key frames outgrow the MTU;
// with the encoder's NAL size limit at the MTU, mode 0 carries 360p with
// no NAL unit sent oversize.
func TestVideoLoopback(t *testing.T) {
	cases := []struct {
		name          string
		c             Codec
		w, h, bitrate int
		maxNAL        int // codec.VideoConfig.MaxNALSize
		enc           func(codec.VideoConfig) (codec.VideoEncoder, error)
		want, notWant []byte // NAL unit types (H.264) that must and must not appear on the wire
	}{
		{"H264-mode1", Codec{PT: 96, Name: CodecH264, PacketizationMode: 1}, 640, 360, 1_500_000, 0, codec.NewH264, []byte{24, 28}, nil},
		{"H264-mode0", Codec{PT: 97, Name: "h264", PacketizationMode: 0}, 320, 180, 150_000, 0, codec.NewH264, []byte{7, 8, 5}, []byte{24, 28}},
		{"H264-mode0-MaxNALSize", Codec{PT: 97, Name: CodecH264, PacketizationMode: 0}, 640, 360, 1_000_000, 1200, codec.NewH264, []byte{7, 8, 5}, []byte{24, 28}},
		{"VP8", Codec{PT: 98, Name: CodecVP8}, 640, 360, 1_500_000, 0, codec.NewVP8, nil, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := patternFrames(t, tc.w, tc.h, 30)
			enc, err := tc.enc(codec.VideoConfig{Width: tc.w, Height: tc.h, FPS: 30, BitRate: tc.bitrate, KeyFrameInterval: -1, MaxNALSize: tc.maxNAL})
			if err != nil {
				t.Fatal(err)
			}
			defer enc.Close()

			var mu sync.Mutex
			var decoded []uint64
			worst := 100.0
			b := listen(t, Video, Options{})
			hb := Handlers{OnVideo: func(img *image.YCbCr) {
				n, err := capture.ReadPatternCounter(img)
				mu.Lock()
				defer mu.Unlock()
				if err != nil || n >= uint64(len(src)) {
					t.Errorf("decoded picture reads as frame %d (%v)", n, err)
					return
				}
				decoded = append(decoded, n)
				worst = min(worst, psnrY(src[n], img))
			}}
			a := listen(t, Video, Options{})
			// The relay shows what goes on the wire.
			rel := newRelay(t, b.RTPAddr())
			var types []byte
			rel.set(nil, func(toFar bool, pkt []byte) {
				var p rtp.Packet
				if toFar && !isRTCP(pkt) && p.Unmarshal(pkt) == nil && len(p.Payload) > 0 {
					mu.Lock()
					types = append(types, p.Payload[0]&0x1f)
					mu.Unlock()
				}
			})
			ra := Remote{RTP: rel.front.LocalAddr().(*net.UDPAddr), RTCPMux: true, Codec: tc.c}
			rb := Remote{RTP: rel.back.LocalAddr().(*net.UDPAddr), RTCPMux: true, Codec: tc.c}
			start(t, a, ra)
			start(t, b, rb, hb)

			sent := 0
			for _, img := range src {
				frame, _, err := enc.Encode(img)
				if err != nil {
					t.Fatal(err)
				}
				if len(frame) == 0 {
					continue
				}
				if err := a.WriteVideo(frame, 33*time.Millisecond); err != nil {
					t.Fatal(err)
				}
				sent++
				time.Sleep(2 * time.Millisecond)
			}
			// The reorder buffer holds the last frame until the next begins.
			if !eventually(3*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return len(decoded) >= sent-1 }) {
				mu.Lock()
				t.Fatalf("decoded %d of %d frames sent", len(decoded), sent)
			}
			mu.Lock()
			defer mu.Unlock()
			if !slices.IsSorted(decoded) {
				t.Errorf("frames decoded out of order: %v", decoded)
			}
			if worst < 28 {
				t.Errorf("worst PSNR %.1f dB, want > 28", worst)
			}
			for _, nt := range tc.want {
				if !slices.Contains(types, nt) {
					t.Errorf("no NAL type %d on the wire (saw %v)", nt, uniq(types))
				}
			}
			for _, nt := range tc.notWant {
				if slices.Contains(types, nt) {
					t.Errorf("NAL type %d on the wire", nt)
				}
			}
			st := a.Stats()
			t.Logf("%s %dx%d: %d frames sent, %d decoded, worst PSNR %.1f dB, %d packets, %d oversize NAL units", tc.name, tc.w, tc.h, sent, len(decoded), worst, st.Sent.Packets, st.OversizeNALs)
			if tc.maxNAL > 0 && st.OversizeNALs != 0 {
				t.Errorf("%d NAL units sent oversize with the encoder's limit at the MTU", st.OversizeNALs)
			}
		})
	}
}

func uniq(b []byte) []byte {
	c := slices.Clone(b)
	slices.Sort(c)
	return slices.Compact(c)
}
