package capture

import (
	"image"

	"github.com/pion/mediadevices/pkg/wave"

	"github.com/roomd/roomd/media"
)

// GateVideo returns src behind a privacy gate: while the gate is closed,
// every frame is replaced by the privacy slate (same size) and the camera's
// frame is released unseen. The source keeps running, so pacing and
// reconnection go on; use ReconnectingVideo's Privacy option to switch the
// camera itself off.
func GateVideo(src VideoSource, gate *media.Gate) VideoSource {
	return &gatedVideo{src: src, gate: gate, slate: slateCache{kind: SlatePrivacy}}
}

type gatedVideo struct {
	src   VideoSource
	gate  *media.Gate
	slate slateCache
}

func (g *gatedVideo) Read() (image.Image, func(), error) {
	img, release, err := g.src.Read()
	if err != nil {
		return nil, func() {}, err
	}
	// Checked after the read so a gate closed while Read blocked still
	// covers the frame it returns.
	if g.gate.Closed() {
		b := img.Bounds()
		release()
		return g.slate.get(b.Dx(), b.Dy()), func() {}, nil
	}
	return img, release, nil
}

func (g *gatedVideo) Info() Info {
	i := g.src.Info()
	if g.gate.Closed() && i.Problem == "" {
		i.Problem = "camera privacy on"
	}
	return i
}

func (g *gatedVideo) Close() error { return g.src.Close() }

// GateAudio returns src behind a mute gate: while the gate is closed every
// chunk is replaced by silence of the same length, so the encoder keeps its
// timing and the far end hears nothing.
func GateAudio(src AudioSource, gate *media.Gate) AudioSource {
	return &gatedAudio{src: src, gate: gate}
}

type gatedAudio struct {
	src     AudioSource
	gate    *media.Gate
	silence *wave.Int16Interleaved // reused; nobody writes into it
}

func (g *gatedAudio) Read() (wave.Audio, func(), error) {
	chunk, release, err := g.src.Read()
	if err != nil {
		return nil, func() {}, err
	}
	if !g.gate.Closed() {
		return chunk, release, nil
	}
	ci := chunk.ChunkInfo()
	release()
	if g.silence == nil || g.silence.Size != ci {
		g.silence = wave.NewInt16Interleaved(ci)
	}
	return g.silence, func() {}, nil
}

func (g *gatedAudio) Info() Info {
	i := g.src.Info()
	if g.gate.Closed() && i.Problem == "" {
		i.Problem = "microphone muted"
	}
	return i
}

func (g *gatedAudio) Close() error { return g.src.Close() }
