//go:build !linux

package janustest

import "syscall"

func procAttr() *syscall.SysProcAttr { return nil }
