//go:build !unix

package run

import "syscall"

// childAttr is nil where processes have no process groups.
func childAttr() *syscall.SysProcAttr { return nil }
