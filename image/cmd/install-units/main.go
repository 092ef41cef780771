// Command install-units copies roomd's systemd units and their companions
// (package systemd's embedded files) into a root file system, where
// systemd.Install says, and prints the units to enable: the image installs
// exactly the files systemd's tests check.
//
// Usage:
//
//	install-units [-kiosk] ROOT
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/roomd/roomd/systemd"
)

func main() {
	kiosk := flag.Bool("kiosk", false, "also list the kiosk browser's units to enable")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: install-units [-kiosk] ROOT")
		os.Exit(2)
	}
	if err := install(flag.Arg(0)); err != nil {
		fmt.Fprintln(os.Stderr, "install-units:", err)
		os.Exit(1)
	}
	units := systemd.Units
	if *kiosk {
		units = append(units, systemd.KioskUnits...)
	}
	fmt.Println(strings.Join(units, " "))
}

func install(root string) error {
	for name, dst := range systemd.Install {
		b, err := systemd.Files.ReadFile(name)
		if err != nil {
			return err
		}
		p := filepath.Join(root, dst)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return err
		}
	}
	return nil
}
