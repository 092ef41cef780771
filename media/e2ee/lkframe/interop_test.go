package lkframe

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"testing"
	"time"

	"github.com/roomd/roomd/internal/testtool"
	"github.com/roomd/roomd/media/e2ee"
)

// sdkProject pins livekit-client (testdata/sdk/package.json and its lock
// file); node_modules is installed by the first test that needs it.
var sdkProject = &testtool.NodeProject{Dir: "testdata/sdk", Package: "livekit-client", Why: "runs livekit-client's E2EE code"}

// sdk starts drive.mjs: livekit-client's own E2EE worker and key provider
// under Node.
func sdk(t *testing.T) *sdkDriver {
	t.Helper()
	node := sdkProject.Node(t)
	cmd := exec.Command(node, "drive.mjs")
	cmd.Dir = sdkProject.Dir
	stderr := &testtool.LockedBuffer{}
	cmd.Stderr = stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		in.Close() // drive.mjs ends with its input
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("drive.mjs stderr:\n%s", stderr)
		}
	})
	return &sdkDriver{t: t, in: in, out: bufio.NewReader(out)}
}

type sdkDriver struct {
	t   *testing.T
	in  io.Writer
	out *bufio.Reader
}

type sdkAnswer struct {
	OK        bool     `json:"ok"`
	Dropped   bool     `json:"dropped"`
	Data      []byte   `json:"data"`
	ChainKeys [][]byte `json:"chainKeys"`
	Errors    []string `json:"errors"`
}

func (d *sdkDriver) call(req map[string]any) sdkAnswer {
	d.t.Helper()
	b, _ := json.Marshal(req)
	if _, err := d.in.Write(append(b, '\n')); err != nil {
		d.t.Fatal(err)
	}
	line, err := d.out.ReadBytes('\n')
	if err != nil {
		d.t.Fatalf("drive.mjs: %v", err)
	}
	var a sdkAnswer
	if err := json.Unmarshal(line, &a); err != nil {
		d.t.Fatalf("drive.mjs said %q: %v", line, err)
	}
	return a
}

// setKey sets a passphrase in the SDK's key provider; index < 0 means the
// provider's plain setKey (index 0, current index unchanged).
func (d *sdkDriver) setKey(pass string, index int) {
	d.t.Helper()
	req := map[string]any{"op": "setKey", "passphrase": pass}
	if index >= 0 {
		req["keyIndex"] = index
	}
	if a := d.call(req); !a.OK {
		d.t.Fatalf("SDK setKey: %v", a.Errors)
	}
}

func (d *sdkDriver) frame(op string, f Frame) sdkAnswer {
	d.t.Helper()
	req := map[string]any{
		"op": op, "track": f.Codec.String(), "ssrc": f.SSRC, "timestamp": f.Timestamp,
		"data": base64.StdEncoding.EncodeToString(f.Data), "kind": "video", "codec": f.Codec.String(),
		"frameType": map[bool]string{true: "key", false: "delta"}[f.KeyFrame],
	}
	if f.Codec == Opus {
		req["kind"] = "audio"
	}
	return d.call(req)
}

// sampleFrames are encoded frames of each codec and kind, with bytes that
// need H.264 escaping and 3-byte start codes.
func sampleFrames() []Frame {
	vp8Key := append([]byte{0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01}, bytes.Repeat([]byte{0x11, 0x00, 0x00, 0x01}, 200)...)
	vp8Delta := append([]byte{0x31, 0x0c, 0x00}, bytes.Repeat([]byte{0xa5, 0x00}, 300)...)
	h264Key := []byte{0, 0, 0, 1, 0x67, 0x42, 0xc0, 0x1f, 0x8c, 0x8d, 0x40, 0, 0, 0, 1, 0x68, 0xce, 0x3c, 0x80, 0, 0, 1, 0x65, 0x88, 0x84}
	h264Key = append(h264Key, bytes.Repeat([]byte{0, 0, 0, 2, 0xff, 0, 0, 3}, 150)...)
	h264Delta := append([]byte{0, 0, 0, 1, 0x41, 0x9a, 0x02}, bytes.Repeat([]byte{0x00, 0x00, 0x01, 0x7f}, 100)[3:]...)
	opus := append([]byte{0x78}, bytes.Repeat([]byte{0x0b, 0xad}, 60)...)
	return []Frame{
		{Codec: VP8, KeyFrame: true, SSRC: 0x11223344, Timestamp: 90000, Data: vp8Key},
		{Codec: VP8, SSRC: 0x11223344, Timestamp: 93000, Data: vp8Delta},
		// SSRC 1 puts 00 00 00 01 in the IV: the escaping always happens.
		{Codec: H264, KeyFrame: true, SSRC: 1, Timestamp: 3000, Data: h264Key},
		{Codec: H264, SSRC: 1, Timestamp: 6000, Data: h264Delta},
		{Codec: Opus, SSRC: 0x99, Timestamp: 960, Data: opus},
	}
}

func ring(t *testing.T, sets ...any) *KeyRing {
	t.Helper()
	r, err := NewKeyRing(nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(sets); i += 2 {
		if err := r.SetPassphrase(sets[i].(int), e2ee.Passphrase(sets[i+1].(string)), true); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

// TestSDKInterop: frames livekit-client's worker encrypts decrypt in Go and
// the other way round, for VP8 key and delta frames, H.264 and Opus, before
// and after a rotation to key index 5; a wrong passphrase fails every frame
// in both directions.
func TestSDKInterop(t *testing.T) {
	js := sdk(t)
	const pass, next = "a shared meeting passphrase", "the rotated passphrase"
	js.setKey(pass, -1)
	goRing := ring(t, 0, pass)
	enc, dec := NewEncryptor(goRing), NewDecryptor(goRing, nil)
	wrong := NewDecryptor(ring(t, 0, "not the passphrase"), nil)

	check := func(stage string, wantIndex int) (failedWrong int) {
		for _, f := range sampleFrames() {
			name := fmt.Sprintf("%s %v key=%v", stage, f.Codec, f.KeyFrame)
			// The sender writes the clear H.264 header with 4-byte start
			// codes, as the receiving depacketiser will.
			want := bytes.Replace(f.Data, []byte{0x80, 0, 0, 1, 0x65}, []byte{0x80, 0, 0, 0, 1, 0x65}, 1)
			a := js.frame("encrypt", f)
			if !a.OK {
				t.Fatalf("%s: SDK encrypt: %v", name, a.Errors)
			}
			if bytes.Contains(a.Data, f.Data[len(f.Data)/2:]) {
				t.Errorf("%s: SDK frame carries the plain payload", name)
			}
			got, err := dec.Decrypt(nil, Frame{Codec: f.Codec, KeyFrame: f.KeyFrame, SSRC: f.SSRC, Timestamp: f.Timestamp, Data: a.Data})
			if err != nil || !bytes.Equal(got.Data, want) || got.KeyIndex != wantIndex {
				t.Errorf("%s: Go decrypt of the SDK's frame: index %d, %v, equal %v", name, got.KeyIndex, err, bytes.Equal(got.Data, want))
			}
			if _, err := wrong.Decrypt(nil, Frame{Codec: f.Codec, KeyFrame: f.KeyFrame, Data: a.Data}); err != nil {
				failedWrong++
			}

			mine, err := enc.Encrypt(nil, f)
			if err != nil {
				t.Fatalf("%s: Go encrypt: %v", name, err)
			}
			b := js.frame("decrypt", Frame{Codec: f.Codec, KeyFrame: f.KeyFrame, SSRC: f.SSRC, Timestamp: f.Timestamp, Data: mine})
			if !b.OK || !bytes.Equal(b.Data, want) {
				t.Errorf("%s: SDK decrypt of Go's frame: ok=%v dropped=%v %v", name, b.OK, b.Dropped, b.Errors)
			}
		}
		return failedWrong
	}
	if n := check("index 0", 0); n != len(sampleFrames()) {
		t.Errorf("wrong passphrase decrypted %d of %d SDK frames", len(sampleFrames())-n, len(sampleFrames()))
	}

	// Rotation: both sides move to key index 5 with a new passphrase.
	js.setKey(next, 5)
	if err := goRing.SetPassphrase(5, e2ee.Passphrase(next), true); err != nil {
		t.Fatal(err)
	}
	check("index 5", 5)

	// The SDK with the wrong passphrase at the current index drops every
	// frame Go sends.
	js.setKey("someone else's passphrase", 5)
	dropped := 0
	for _, f := range sampleFrames() {
		mine, _ := enc.Encrypt(nil, f)
		if a := js.frame("decrypt", Frame{Codec: f.Codec, KeyFrame: f.KeyFrame, Data: mine}); !a.OK && a.Dropped {
			dropped++
		}
	}
	if dropped != len(sampleFrames()) {
		t.Errorf("SDK with a wrong key dropped %d of %d frames, want all", dropped, len(sampleFrames()))
	}
}

// TestSDKRatchet: KeyRing.Ratchet walks the same chain as the SDK's ratchet().
func TestSDKRatchet(t *testing.T) {
	js := sdk(t)
	const pass = "ratchet me"
	a := js.call(map[string]any{"op": "ratchet", "passphrase": pass, "steps": 2})
	if !a.OK || len(a.ChainKeys) != 2 {
		t.Fatalf("SDK ratchet: %+v", a)
	}
	r := ring(t, 3, pass)
	for i, want := range a.ChainKeys {
		if err := r.Ratchet(3); err != nil {
			t.Fatal(err)
		}
		if got := r.slots[3].material.Bytes(); !bytes.Equal(got, want) {
			t.Errorf("ratchet step %d: chain key differs from the SDK's", i+1)
		}
	}
}

// TestSDKDecryptFailuresCounted: a Go receiver without the key counts
// every SDK frame as a failure, none as decoded.
func TestSDKDecryptFailuresCounted(t *testing.T) {
	js := sdk(t)
	js.setKey("the room's passphrase", -1)
	tap := NewDecryptor(ring(t), nil) // an SFU-side tap: no key at all
	var missing, decoded int
	for _, f := range sampleFrames() {
		a := js.frame("encrypt", f)
		if _, err := tap.Decrypt(nil, Frame{Codec: f.Codec, KeyFrame: f.KeyFrame, Data: a.Data}); errors.Is(err, ErrMissingKey) {
			missing++
		} else if err == nil {
			decoded++
		}
	}
	if missing != len(sampleFrames()) || decoded != 0 {
		t.Errorf("tap: %d missing-key failures, %d decoded of %d", missing, decoded, len(sampleFrames()))
	}
}
