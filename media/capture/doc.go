// Package capture produces the room's raw pictures and sound: the sources
// that feed the encoders.
//
// Every source speaks pion/mediadevices' reader types so it plugs into
// mediadevices tracks and encoders as well as into roomd's own pipeline:
// a [VideoSource] is a video.Reader yielding *image.YCbCr frames in I420
// (4:2:0), an [AudioSource] is an audio.Reader yielding *wave.Int16Interleaved
// chunks of 48 kHz mono. Both say what they are through Info, for status.
//
// # Sources
//
//   - [NewPattern]: a deterministic moving test pattern (colour bars, a
//     sweeping box, a scrolling detail strip that loads the encoder like a
//     real camera does) stamped with a frame counter and a clock drawn in a
//     built-in digit font; [ReadPatternCounter] reads the counter back from a
//     (possibly decoded) frame.
//   - [NewTone]: a sine tone.
//   - [OpenY4M] and [OpenWAV]: looping file sources, with [Y4MWriter] and
//     [WriteWAV] to make such files.
//   - [OpenMJPEG]: an MJPEG file (JPEG pictures back to back, ffmpeg's
//     `-f mjpeg`) decoded by a [JPEGDecoder] such as media/codec/mjpeg's,
//     standing in for an MJPEG camera.
//   - The real camera and microphone live in the device sub-package so that
//     importing capture does not start mediadevices' device discovery.
//
// Sources are paced in real time (a frame every 1/fps, a chunk every chunk
// duration) unless their options say Unpaced, which tests and benchmarks use.
//
// # Frames are read-only
//
// A frame returned by Read belongs to the source until its release function
// is called, and nobody may write into it: sources recycle their buffers and
// redraw only what changed. Wrappers that need other pixels return other
// images instead of painting over the source's.
//
// # Privacy
//
// [GateVideo] and [GateAudio] apply a media.Gate before anything is encoded:
// while the gate is closed, frames are replaced by a privacy slate and audio
// by silence. [ReconnectingVideo] with a Privacy gate goes further and
// releases the camera itself, so its LED goes out.
//
// # Unplugged cameras
//
// [ReconnectingVideo] wraps a camera opener: when the camera fails or
// disappears it sends placeholder frames at the configured rate and retries
// the opener periodically, resuming with real frames when the camera is back.
package capture
