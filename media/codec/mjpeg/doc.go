// Package mjpeg decodes a camera's MJPEG frames to I420 with libjpeg-turbo
// (Debian: libturbojpeg0-dev to build, libturbojpeg0 to run), without the
// RGB step: TurboJPEG's tjDecompressToYUVPlanes writes the picture's Y, Cb
// and Cr planes as they are coded, and libyuv scales the chroma planes to
// 4:2:0 when the camera sends 4:2:2 (most UVC webcams) or another
// subsampling.
//
// A [Decoder] satisfies codec.VideoDecoder. It runs each decode on a C thread
// of its own (internal/cthread), named "codec-mjpeg-dec" so the media
// benchmark counts it as codec time, and reuses its buffers: after the first
// frame of a size it allocates nothing.
//
// # Damaged frames
//
// A truncated frame (a camera that dropped the end of a transfer), a frame
// that is not a JPEG and a frame libjpeg-turbo cannot decode fail with an
// error wrapping [ErrCorrupt]; the caller drops that frame and goes on.
// Slight damage that libjpeg-turbo reports only as a warning (extra bytes
// before EOI, as some cameras send) still yields the picture and is counted
// in [Stats]. Frames are delimited with package jpegstream, which checks the
// marker structure in Go before libjpeg-turbo sees the data.
package mjpeg
