package periphhal

import (
	"math"
	"strings"
	"testing"

	"periph.io/x/conn/v3/i2c/i2ctest"

	"github.com/roomd/roomd/hal"
)

func TestBME280Read(t *testing.T) {
	bus := &i2ctest.Playback{Ops: append(bme280Init(), bme280Sense()...), DontPanic: true}
	s, err := newEnvSensor(bus, 0x76, "bme280", discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	if q := s.Quantities(); len(q) != 2 || q[0] != hal.Temperature || q[1] != hal.Humidity {
		t.Fatalf("Quantities = %v, want [temperature humidity]", q)
	}
	r, err := s.Read()
	if err != nil {
		t.Fatal(err)
	}
	want := map[hal.Quantity]float64{hal.Temperature: 23.72, hal.Humidity: 65.3056}
	if len(r) != len(want) {
		t.Fatalf("Read = %+v, want temperature and humidity", r)
	}
	for _, got := range r {
		if math.Abs(got.Value-want[got.Quantity]) > 0.001 || got.At.IsZero() {
			t.Errorf("%s = %v at %v, want %v", got.Quantity, got.Value, got.At, want[got.Quantity])
		}
	}
	// Close must close the bus, and Playback's Close fails if any expected
	// I/O was not done.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Read(); err != ErrClosed {
		t.Fatalf("Read after Close = %v, want ErrClosed", err)
	}
}

func TestBMP280HasNoHumidity(t *testing.T) {
	bus := &i2ctest.Playback{DontPanic: true, Ops: []i2ctest.IO{
		{Addr: 0x77, W: []byte{0xd0}, R: []byte{0x58}}, // chip ID: BMP280
		{Addr: 0x77, W: []byte{0x88}, R: []byte{0x10, 0x6e, 0x6c, 0x66, 0x32, 0x0, 0x5d, 0x95, 0xb8, 0xd5, 0xd0, 0xb, 0x77, 0x1e, 0x9d, 0xff, 0xf9, 0xff, 0xac, 0x26, 0xa, 0xd8, 0xbd, 0x10, 0x0, 0x4b}},
		{Addr: 0x77, W: []byte{0xf4, 0x24, 0xf5, 0xa0, 0xf4, 0x24}},
		{Addr: 0x77, W: []byte{0xf4, 0x25}},
		{Addr: 0x77, W: []byte{0xf3}, R: []byte{0}},
		{Addr: 0x77, W: []byte{0xf7}, R: []byte{0x4a, 0x52, 0xc0, 0x80, 0x96, 0xc0}},
	}}
	s, err := newEnvSensor(bus, 0x77, "bmp280", discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.Read()
	if err != nil {
		t.Fatal(err)
	}
	if len(r) != 1 || r[0].Quantity != hal.Temperature || math.Abs(r[0].Value-23.72) > 0.001 {
		t.Fatalf("Read = %+v, want only a temperature of 23.72", r)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestEnvSensorNotAnswering(t *testing.T) {
	bus := &i2ctest.Playback{DontPanic: true} // nothing on the bus
	_, err := newEnvSensor(bus, 0x76, "bme280", discardLogger())
	if err == nil {
		t.Fatal("newEnvSensor succeeded with nothing on the bus")
	}
	for _, want := range []string{"periphhal: ", "bme280", "0x76", "i2cdetect"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q should mention %q", err, want)
		}
	}
}
