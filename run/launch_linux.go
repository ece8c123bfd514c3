package run

import "syscall"

// childAttr puts a launched process in a process group of its own, so that the Ctrl-C of
// a terminal reaches it once, through the launcher, rather than twice (a second signal
// stops a process at once rather than cleanly); and has it sent SIGTERM if the launcher
// dies, so that none is left running without it.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}
