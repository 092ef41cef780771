package main

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roomd/roomd/control/consoleclient"
)

// simBoardState is the part of GET /sim these tests read.
type simBoardState struct {
	Brightness   int `json:"brightness"`
	CameraPreset int `json:"camera_preset"`
}

func simBoard(t *testing.T, d *daemonUnderTest) simBoardState {
	t.Helper()
	resp, err := http.Get(d.debug + "/sim")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var s simBoardState
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

// A preset recalled from the room moves the simulated board's PTZ camera;
// one the room does not offer is refused.
func TestCameraPresetMovesTheCamera(t *testing.T) {
	d := startRoomd(t)
	c, err := consoleclient.Dial(filepath.Join(d.run, "control.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := c.Exec(ctx, "xCommand Video Camera Preset Activate PresetId: 2"); err != nil {
		t.Fatal(err)
	}
	for simBoard(t, d).CameraPreset != 2 {
		if ctx.Err() != nil {
			t.Fatalf("camera at preset %d, want 2", simBoard(t, d).CameraPreset)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := c.Exec(ctx, "xCommand Video Camera Preset Activate PresetId: 9"); err == nil || !strings.Contains(err.Error(), "preset 9") {
		t.Errorf("preset 9 of 4: %v", err)
	}
	if p := simBoard(t, d).CameraPreset; p != 2 {
		t.Errorf("a refused preset moved the camera to %d", p)
	}
}
