//go:build novpx

package codec

import "fmt"

// NewVP8 is unavailable: this binary was built with -tags novpx.
func NewVP8(VideoConfig) (VideoEncoder, error) {
	return nil, errVP8Unavailable
}

// NewVP8Decoder is unavailable: this binary was built with -tags novpx.
func NewVP8Decoder() (VideoDecoder, error) {
	return nil, errVP8Unavailable
}

var errVP8Unavailable = fmt.Errorf("%w: VP8 (built with -tags novpx; install libvpx-dev and rebuild without the tag)", ErrUnavailable)
