package periphhal

import (
	"fmt"
	"strconv"
	"strings"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/host/v3/gpioioctl"
)

// gpioChip is what finding a line needs from a GPIO chip; periph's
// *gpioioctl.GPIOChip through ioctlChip, or a fake in tests.
type gpioChip interface {
	Name() string  // "gpiochip0"
	Label() string // "pinctrl-bcm2711"
	lineNamed(name string) gpio.PinIO
	lineAt(offset int) gpio.PinIO
}

// ioctlChip adapts periph's Linux GPIO chip.
type ioctlChip struct{ *gpioioctl.GPIOChip }

func (c ioctlChip) lineNamed(name string) gpio.PinIO {
	if l := c.ByName(name); l != nil {
		return l
	}
	// periph prefixes a line name another chip already registered.
	if l := c.ByName(c.Name() + "-" + name); l != nil {
		return l
	}
	return nil
}

func (c ioctlChip) lineAt(offset int) gpio.PinIO {
	if offset < 0 || offset >= c.LineCount() {
		return nil // ByNumber would log about it
	}
	if l := c.ByNumber(offset); l != nil {
		return l
	}
	return nil
}

// findLine finds a line by name ("GPIO17") or offset ("17") on the chip
// named chip (by name, /dev path or label), or by name on every chip when
// chip is "".
func findLine(chips []gpioChip, chip, line string) (gpio.PinIO, error) {
	if len(chips) == 0 {
		return nil, errNoChip(chip)
	}
	candidates := chips
	where := "any GPIO chip"
	if chip != "" {
		candidates = nil
		for _, c := range chips {
			if c.Name() == chip || "/dev/"+c.Name() == chip || c.Label() == chip {
				candidates = append(candidates, c)
				break
			}
		}
		if len(candidates) == 0 {
			return nil, fmt.Errorf("periphhal: no GPIO chip %q (this machine has %s; set gpio_chip to one of them, or leave it empty to find lines by name)", chip, chipList(chips))
		}
		where = candidates[0].Name()
	}
	for _, c := range candidates {
		if p := c.lineNamed(line); p != nil {
			return p, nil
		}
	}
	if n, err := strconv.Atoi(line); err == nil {
		if len(candidates) > 1 {
			return nil, fmt.Errorf("periphhal: line %q is an offset but gpio_chip is empty; set gpio_chip to say which chip (this machine has %s)", line, chipList(chips))
		}
		if p := candidates[0].lineAt(n); p != nil {
			return p, nil
		}
		return nil, fmt.Errorf("periphhal: %s has no line at offset %d", candidates[0].Name(), n)
	}
	return nil, fmt.Errorf("periphhal: no GPIO line named %q on %s (gpioinfo lists the line names)", line, where)
}

// errNoChip says what to check when the machine shows no GPIO chip at all.
func errNoChip(chip string) error {
	if chip == "" {
		chip = "gpiochip0"
	}
	return fmt.Errorf("periphhal: no GPIO chip found (is /dev/%s present and readable by roomd?)", strings.TrimPrefix(chip, "/dev/"))
}

func chipList(chips []gpioChip) string {
	if len(chips) == 0 {
		return "no GPIO chips"
	}
	var s []string
	for _, c := range chips {
		s = append(s, fmt.Sprintf("%s %q", c.Name(), c.Label()))
	}
	return strings.Join(s, ", ")
}
