package run

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The local launcher (-p N) runs a cluster on one machine: N copies of this program, each
// one process of the cluster, as a user tries a cluster before deploying one, and as the
// tests and examples run one with a single command.

// launchedEnv marks a process the launcher started, which runs as one process of the
// cluster rather than launching again: it inherits the environment, WEIR_PROCESSES
// included.
const launchedEnv = "WEIR_LAUNCHED"

// defaultGrace is how long the launcher's processes have to stop after a SIGTERM before
// it kills them: enough for a clean stop, which ends at the next epoch's snapshot at the
// latest, short enough that a failed cluster does not linger.
const defaultGrace = 5 * time.Second

// launch starts n processes of this program with args (this process's arguments) less
// -p, plus each one's -i and the cluster's -a, on free loopback ports, and waits for them.
// It returns 0 when every process exits 0; the status of the first process that fails,
// after stopping the others; and, after it forwarded SIGINT or SIGTERM to them, the
// status a single process stopped by that signal has (130, 143), whatever their own.
func (cl *commandLine) launch(n int, args []string, stdout, stderr io.Writer, logger *slog.Logger) int {
	fail := func(err error) int {
		fmt.Fprintf(stderr, "weir: launcher: %v\n", err)
		return 1
	}
	exe, err := os.Executable()
	if err != nil {
		return fail(fmt.Errorf("finding this program to start it again: %w", err))
	}
	addrs, err := freeAddresses(n)
	if err != nil {
		return fail(err)
	}
	list := strings.Join(addrs, ";")
	rest := withoutProcesses(cl.fs, args)
	logger.Info("weir: starting a local cluster", "processes", n, "addresses", list)

	// A launched process is sent SIGTERM when the thread that started it ends (Linux's
	// parent-death signal is per thread): this goroutine keeps its thread until every
	// process has exited.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()

	// Signals are taken before the first process starts, so that none of them is missed
	// and each reaches every process that was started.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)

	type exit struct{ process, status int }
	exits := make(chan exit, n)
	procs := make([]*os.Process, 0, n)
	for i := range n {
		cmd := exec.Command(exe, append([]string{"-i", strconv.Itoa(i), "-a", list}, rest...)...)
		cmd.Stdout, cmd.Stderr = stdout, stderr
		cmd.Env = append(os.Environ(), launchedEnv+"=1")
		cmd.SysProcAttr = childAttr()
		if err := cmd.Start(); err != nil {
			for _, p := range procs {
				p.Kill()
			}
			for range procs {
				<-exits
			}
			return fail(fmt.Errorf("starting process %d: %w", i, err))
		}
		procs = append(procs, cmd.Process)
		go func() {
			cmd.Wait()
			exits <- exit{i, exitStatus(cmd.ProcessState)}
		}()
	}

	exited := make([]bool, n)
	signalAll := func(sig os.Signal) {
		for i, p := range procs {
			if !exited[i] {
				p.Signal(sig) // a process that has just exited is not an error
			}
		}
	}
	var (
		got     os.Signal // the first signal forwarded
		failed  = -1      // the first process that failed
		status  int
		killing <-chan time.Time
	)
	for running := n; running > 0; {
		select {
		case sig := <-sigs:
			if got == nil {
				got = sig
			}
			// Every signal is forwarded, the second too: as a single process, each dies at
			// once on its second.
			signalAll(sig)
		case <-killing:
			signalAll(syscall.SIGKILL)
		case e := <-exits:
			running--
			exited[e.process] = true
			// After a signal, a process that stops with an error has most likely seen a
			// peer stop before its own signal came (the peer's stop fails the cluster), so
			// the cluster counts as stopped by the signal; each process's own lines say how
			// it stopped.
			if e.status == 0 || failed >= 0 || got != nil {
				continue
			}
			// The first failure: the cluster cannot go on without the process (the others
			// would stop within their heartbeat timeout), so stop them now.
			failed, status = e.process, e.status
			logger.Error("weir: a process of the local cluster failed; stopping the others", "process", e.process, "status", e.status)
			signalAll(syscall.SIGTERM)
			killing = time.After(cl.grace)
		}
	}
	if failed < 0 && got != nil {
		return signalStatus(got)
	}
	return status
}

// signalStatus is the exit status of a process a signal stopped, as a shell gives it.
func signalStatus(sig os.Signal) int {
	if s, ok := sig.(syscall.Signal); ok {
		return 128 + int(s)
	}
	return 1
}

// exitStatus is a process's exit status, as a shell gives it: 128 plus the signal for a
// process killed by one.
func exitStatus(ps *os.ProcessState) int {
	if ps == nil {
		return 1
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}

// freeAddresses returns n loopback addresses whose ports were free a moment ago. The
// ports are held open together, so that they differ, and closed before the processes
// start to listen on them.
func freeAddresses(n int) ([]string, error) {
	addrs := make([]string, n)
	var errs []error
	for i := range addrs {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			errs = append(errs, fmt.Errorf("finding a free port: %w", err))
			break
		}
		defer l.Close()
		addrs[i] = l.Addr().String()
	}
	return addrs, errors.Join(errs...)
}

// withoutProcesses returns args less -p and its value, in any of the forms package flag
// reads (-p N, -p=N, --processes N, ...). It reads the flags as package flag does, up to
// the first argument that is not one or "--", skipping the value of each flag that takes
// one, so that a value that happens to be "-p" is kept.
func withoutProcesses(fs *flag.FlagSet, args []string) []string {
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" || len(a) < 2 || a[0] != '-' {
			return append(out, args[i:]...)
		}
		name := strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-")
		name, _, hasValue := strings.Cut(name, "=")
		takesNext := !hasValue
		if f := fs.Lookup(name); f != nil {
			if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
				takesNext = false
			}
		}
		if name == "p" || name == "processes" {
			if takesNext {
				i++
			}
			continue
		}
		out = append(out, a)
		if takesNext && i+1 < len(args) {
			i++
			out = append(out, args[i])
		}
	}
	return out
}
