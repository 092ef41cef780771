package codec

/*
#include <stdint.h>
#include <stdlib.h>

// The decoder half of libopus, from the static library mediadevices' opus
// package links (imported by opus.go); declared here because that package
// keeps its headers to itself.
typedef struct OpusDecoder OpusDecoder;
OpusDecoder *opus_decoder_create(int32_t Fs, int channels, int *error);
int opus_decode(OpusDecoder *st, const unsigned char *data, int32_t len, int16_t *pcm, int frame_size, int decode_fec);
void opus_decoder_destroy(OpusDecoder *st);
const char *opus_strerror(int error);
*/
import "C"

import (
	"fmt"
	"sync"
	"unsafe"
)

// maxOpusFrame is the longest Opus packet, 120 ms, in samples per channel.
const maxOpusFrame = SampleRate * 120 / 1000

// NewOpusDecoder returns an Opus decoder producing 48 kHz PCM with the given
// number of channels (1 or 2; Opus downmixes or upmixes whatever was sent).
func NewOpusDecoder(channels int) (AudioDecoder, error) {
	if channels != 1 && channels != 2 {
		return nil, fmt.Errorf("codec: opus decoder: %d channels; want 1 or 2", channels)
	}
	var cerr C.int
	d := C.opus_decoder_create(SampleRate, C.int(channels), &cerr)
	if cerr != 0 || d == nil {
		return nil, fmt.Errorf("codec: opus decoder: %s", C.GoString(C.opus_strerror(cerr)))
	}
	return &opusDecoder{dec: d, channels: channels, last: SampleRate / 50}, nil
}

type opusDecoder struct {
	mu       sync.Mutex
	dec      *C.OpusDecoder
	channels int
	last     int // samples per channel of the last packet, for concealment
}

func (d *opusDecoder) Decode(packet []byte) ([]int16, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.dec == nil {
		return nil, ErrClosed
	}
	frame := maxOpusFrame
	var data *C.uchar
	if len(packet) == 0 {
		frame = d.last // concealment: libopus wants the duration to fill
	} else {
		data = (*C.uchar)(unsafe.Pointer(&packet[0]))
	}
	pcm := make([]int16, frame*d.channels)
	n := C.opus_decode(d.dec, data, C.int32_t(len(packet)), (*C.int16_t)(unsafe.Pointer(&pcm[0])), C.int(frame), 0)
	if n < 0 {
		return nil, fmt.Errorf("codec: opus decoder: %s", C.GoString(C.opus_strerror(n)))
	}
	if len(packet) > 0 {
		d.last = int(n)
	}
	return pcm[:int(n)*d.channels], nil
}

func (d *opusDecoder) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.dec != nil {
		C.opus_decoder_destroy(d.dec)
		d.dec = nil
	}
	return nil
}
