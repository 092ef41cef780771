package main

import (
	"bytes"
	"testing"
)

func TestAccessUnitsCutBeforeDelimiters(t *testing.T) {
	aud4 := []byte{0, 0, 0, 1, 0x09, 0x10}
	aud3 := []byte{0, 0, 1, 0x09, 0x30}
	sps := []byte{0, 0, 0, 1, 0x67, 0x42, 0xc0, 0x0b}
	idr := []byte{0, 0, 1, 0x65, 0x88, 0x84, 0x00, 0x00, 0x03, 0x01} // emulation prevention inside
	p := []byte{0, 0, 0, 1, 0x41, 0x9a, 0x00, 0x00}
	units := [][]byte{cat(aud4, sps, idr), cat(aud3, p), cat(aud4, p, p)}
	stream := cat(units...)
	got := accessUnits(stream)
	if len(got) != len(units) {
		t.Fatalf("%d access units, want %d: %x", len(got), len(units), got)
	}
	for i := range units {
		if !bytes.Equal(got[i], units[i]) {
			t.Errorf("access unit %d = %x, want %x", i, got[i], units[i])
		}
	}
	if accessUnits(cat(sps, idr)) != nil {
		t.Error("a stream without delimiters was cut")
	}
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
