package periphhal

import (
	"strings"
	"testing"
)

func TestFindLine(t *testing.T) {
	chips := []gpioChip{piChip(), expanderChip()}
	for _, tc := range []struct {
		chip, line string
		want       string // the line found, or
		err        string // part of the error
	}{
		{chip: "", line: "GPIO17", want: "GPIO17"},
		{chip: "", line: "BT_ON", want: "BT_ON"},
		{chip: "gpiochip0", line: "GPIO5", want: "GPIO5"},
		{chip: "/dev/gpiochip0", line: "GPIO5", want: "GPIO5"},
		{chip: "pinctrl-bcm2711", line: "GPIO26", want: "GPIO26"},
		{chip: "gpiochip0", line: "17", want: "GPIO17"},
		{chip: "gpiochip1", line: "3", want: "GLOBAL_RESET"},
		{chip: "", line: "17", err: "set gpio_chip"},
		{chip: "gpiochip0", line: "99", err: "gpiochip0 has no line at offset 99"},
		{chip: "gpiochip9", line: "GPIO17", err: `no GPIO chip "gpiochip9" (this machine has gpiochip0 "pinctrl-bcm2711", gpiochip1`},
		{chip: "gpiochip1", line: "GPIO17", err: `no GPIO line named "GPIO17" on gpiochip1 (gpioinfo`},
		{chip: "", line: "GPIO99", err: `no GPIO line named "GPIO99" on any GPIO chip`},
	} {
		p, err := findLine(chips, tc.chip, tc.line)
		switch {
		case tc.err != "":
			if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.HasPrefix(err.Error(), "periphhal: ") {
				t.Errorf("findLine(%q, %q) = %v, %v; want an error containing %q", tc.chip, tc.line, p, err, tc.err)
			}
		case err != nil:
			t.Errorf("findLine(%q, %q): %v", tc.chip, tc.line, err)
		case p.Name() != tc.want:
			t.Errorf("findLine(%q, %q) = %s, want %s", tc.chip, tc.line, p.Name(), tc.want)
		}
	}
}

func TestFindLineWithoutChips(t *testing.T) {
	_, err := findLine(nil, "", "GPIO17")
	if err == nil || err.Error() != "periphhal: no GPIO chip found (is /dev/gpiochip0 present and readable by roomd?)" {
		t.Fatalf("err = %v", err)
	}
	_, err = findLine(nil, "gpiochip4", "17")
	if err == nil || !strings.Contains(err.Error(), "/dev/gpiochip4") {
		t.Fatalf("err = %v, want it to name /dev/gpiochip4", err)
	}
}
