package run

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/sink"
	"github.com/weirflow/weir/source"
)

// launchTestEnv makes this test binary, started by the launcher, one of the programs the
// launcher tests run: its value says how the program behaves (launchTestChild).
const launchTestEnv = "WEIR_RUN_LAUNCH_TEST"

// launcherTestEnv makes this test binary a launcher of processes in launchTestEnv's mode,
// for a test that kills the launcher.
const launcherTestEnv = "WEIR_RUN_LAUNCHER_TEST"

func TestMain(m *testing.M) {
	if mode := os.Getenv(launchTestEnv); mode != "" && os.Getenv(launchedEnv) != "" {
		os.Exit(launchTestChild(mode, os.Args[1:]))
	}
	if os.Getenv(launcherTestEnv) != "" {
		os.Exit(main(context.Background(), newCommandLine("launcher"), launchWordCount(io.Discard), os.Args[1:], os.Stdout, os.Stderr, nil))
	}
	os.Exit(m.Run())
}

// launchTestFlags adds the flags of the tests' program: their values are read past as the
// launcher takes -p out of the arguments.
func launchTestFlags(cl *commandLine) (on *bool, name *string) {
	return cl.fs.Bool("on", false, ""), cl.fs.String("name", "", "")
}

// launchTestChild is the program the launcher tests start: it prints what it was started
// with, then, by mode,
//
//   - print: exits 0;
//   - fail: listens on its address; process 1 exits 3 once it has reached every other,
//     process 0 ignores SIGTERM and waits (the launcher must kill it), the others wait for
//     SIGTERM and exit 143;
//   - wordcount: runs launchWordCount with Main;
//   - signal: listens, prints "ready", and waits for SIGINT or SIGTERM, which it names
//     before it exits with 128 + the signal, except process 1, which exits 1.
func launchTestChild(mode string, args []string) int {
	if mode == "wordcount" {
		return main(context.Background(), newCommandLine("child"), launchWordCount(os.Stdout), args, os.Stdout, os.Stderr, nil)
	}
	cl := newCommandLine("child")
	on, name := launchTestFlags(cl)
	if code, exit := cl.parse(args, os.Stdout, os.Stderr); exit {
		return code
	}
	cfg, err := cl.config(nil)
	if err == nil {
		err = cfg.validate()
	}
	if err != nil {
		fmt.Println(err)
		return 2
	}
	id := cfg.processID
	fmt.Printf("process %d of %s: args %q workers %d on %v name %q processes %d\n",
		id, strings.Join(cfg.addresses, ";"), cl.fs.Args(), cfg.workers, *on, *name, cl.processes)
	if mode == "print" {
		return 0
	}
	sigs := make(chan os.Signal, 1)
	switch {
	case mode == "fail" && id == 0:
		signal.Ignore(syscall.SIGTERM)
	default:
		signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	}
	l, err := net.Listen("tcp", cfg.addresses[id])
	if err != nil {
		fmt.Printf("process %d: %v\n", id, err)
		return 1
	}
	defer l.Close()
	go func() { // accept the others' probes
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	if mode == "fail" && id == 1 {
		for k, addr := range cfg.addresses {
			for deadline := time.Now().Add(10 * time.Second); k != id; time.Sleep(5 * time.Millisecond) {
				if c, err := net.Dial("tcp", addr); err == nil {
					c.Close()
					break
				}
				if time.Now().After(deadline) {
					fmt.Printf("process %d: %s never listened\n", id, addr)
					return 1
				}
			}
		}
		return 3
	}
	fmt.Printf("process %d ready, pid %d\n", id, os.Getpid())
	if mode == "fail" && id == 0 {
		time.Sleep(30 * time.Second) // until killed; the sleep ends a process a broken launcher left behind
		return 1
	}
	sig := (<-sigs).(syscall.Signal)
	fmt.Printf("process %d stopped by %v\n", id, sig)
	if mode == "signal" && id == 1 {
		return 1 // as a process of a cluster that saw a peer stop before its own signal came
	}
	return 128 + int(sig)
}

// launchTest runs main with args as a test's program, with the launcher's grace short.
func launchTest(t *testing.T, mode string, args []string, stdout, stderr *syncBuffer) int {
	t.Helper()
	t.Setenv(launchTestEnv, mode)
	cl := newCommandLine("prog")
	launchTestFlags(cl)
	cl.grace = 300 * time.Millisecond
	flow := weir.NewDataflow("launched")
	op.Output("out", op.Input("in", flow, source.FromSlice(1)), discard[int]())
	return main(context.Background(), cl, flow, args, stdout, stderr, nil)
}

var launchedLine = regexp.MustCompile(`(?m)^process (\d) of (\S+): (.*)$`)

// Each process the launcher starts has its own id, the same addresses (free loopback
// ports, one per process), the launcher's arguments less -p, and does not launch again.
func TestLaunch(t *testing.T) {
	for _, tt := range []struct {
		name string
		env  map[string]string
		args []string
	}{
		{name: "flag", args: []string{"-w", "2", "-p", "3", "--on", "--name", "-p", "in.txt", "-p", "2"}},
		{name: "long flag", args: []string{"--processes=3", "-w=2", "-on", "-name=-p", "--", "in.txt", "-p", "2"}},
		{name: "env", env: map[string]string{"WEIR_PROCESSES": "3", "WEIR_WORKERS_PER_PROCESS": "2"}, args: []string{"-on", "--name", "-p", "in.txt", "-p", "2"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			var stdout, stderr syncBuffer
			if code := launchTest(t, "print", tt.args, &stdout, &stderr); code != 0 {
				t.Fatalf("status %d, stdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
			}
			lines := launchedLine.FindAllStringSubmatch(stdout.String(), -1)
			if len(lines) != 3 {
				t.Fatalf("%d processes started, want 3:\n%s\n%s", len(lines), stdout.String(), stderr.String())
			}
			var ids []string
			for _, l := range lines {
				ids = append(ids, l[1])
				if l[2] != lines[0][2] {
					t.Errorf("process %s has addresses %s, process %s %s", l[1], l[2], lines[0][1], lines[0][2])
				}
				if want := `args ["in.txt" "-p" "2"] workers 2 on true name "-p" processes 0`; l[3] != want {
					t.Errorf("process %s started with %s, want %s", l[1], l[3], want)
				}
			}
			if slices.Sort(ids); strings.Join(ids, ",") != "0,1,2" {
				t.Errorf("process ids %v", ids)
			}
			addrs := strings.Split(lines[0][2], ";")
			if len(addrs) != 3 || addrs[0] == addrs[1] || addrs[1] == addrs[2] || addrs[0] == addrs[2] || !strings.HasPrefix(addrs[0], "127.0.0.1:") {
				t.Errorf("addresses %q, want 3 loopback ones", addrs)
			}
			if !strings.Contains(stderr.String(), `msg="weir: starting a local cluster" processes=3 addresses=`+lines[0][2]) {
				t.Errorf("stderr lacks the launcher's line with the addresses:\n%s", stderr.String())
			}
		})
	}
}

// A flow that does not build fails in the launcher, which starts no process.
func TestLaunchBadFlow(t *testing.T) {
	t.Setenv(launchTestEnv, "print")
	var stdout, stderr syncBuffer
	code := main(context.Background(), newCommandLine("prog"), weir.NewDataflow("bad.id"), []string{"-p", "2"}, &stdout, &stderr, nil)
	if code != 1 || stdout.String() != "" || !strings.Contains(stderr.String(), "bad.id") || strings.Contains(stderr.String(), "local cluster") {
		t.Errorf("status %d, stdout %q, stderr %q; want 1, the flow's error and no process", code, stdout.String(), stderr.String())
	}
}

// When one process fails, the launcher stops the others, killing one that does not stop
// within its grace, and exits with the failed process's status.
func TestLaunchStopsAllWhenOneFails(t *testing.T) {
	var stdout, stderr syncBuffer
	start := time.Now()
	done := make(chan int, 1)
	go func() { done <- launchTest(t, "fail", []string{"-p", "3"}, &stdout, &stderr) }()
	var code int
	select {
	case code = <-done:
	case <-time.After(20 * time.Second):
		t.Fatalf("the launcher did not stop; stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	}
	took := time.Since(start)
	if code != 3 {
		t.Fatalf("status %d, want 3; stdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	if !strings.Contains(stdout.String(), "process 2 stopped by terminated\n") {
		t.Errorf("process 2 was not sent SIGTERM:\n%s", stdout.String())
	}
	if !strings.Contains(stderr.String(), `msg="weir: a process of the local cluster failed; stopping the others" process=1 status=3`) {
		t.Errorf("stderr lacks the failure:\n%s", stderr.String())
	}
	// Process 0 ignores SIGTERM: the launcher returns once it has killed it, after the grace.
	if took < 300*time.Millisecond || took > 10*time.Second {
		t.Errorf("the launcher returned after %v, want after the grace of 300ms", took)
	}
}

// SIGINT and SIGTERM reach every process, and the launcher exits as a single process
// stopped by the signal would, even when a process fails as it stops (in a cluster, one
// that sees a peer stop before its own signal comes does).
func TestLaunchForwardsSignals(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			var stdout, stderr syncBuffer
			done := make(chan int, 1)
			go func() { done <- launchTest(t, "signal", []string{"-p", "3"}, &stdout, &stderr) }()
			for deadline := time.Now().Add(10 * time.Second); strings.Count(stdout.String(), " ready, pid ") < 3; time.Sleep(5 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("the processes did not start:\n%s\n%s", stdout.String(), stderr.String())
				}
			}
			if err := syscall.Kill(syscall.Getpid(), sig); err != nil {
				t.Fatal(err)
			}
			select {
			case code := <-done:
				if code != 128+int(sig) {
					t.Errorf("status %d, want %d", code, 128+int(sig))
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the launcher did not stop")
			}
			for id := range 3 {
				if want := fmt.Sprintf("process %d stopped by %v\n", id, sig); !strings.Contains(stdout.String(), want) {
					t.Errorf("stdout lacks %q:\n%s", want, stdout.String())
				}
			}
		})
	}
}

// A launcher killed at once (kill -9) leaves no process running: each is sent SIGTERM by
// the kernel when the launcher dies.
func TestLaunchDiesWithLauncher(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the parent-death signal is Linux's")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-p", "2")
	cmd.Env = append(os.Environ(), launcherTestEnv+"=1", launchTestEnv+"=signal")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string)
	go func() { // the processes share the launcher's stdout: it ends when all have exited
		defer close(lines)
		b := bufio.NewScanner(out)
		for b.Scan() {
			lines <- b.Text()
		}
	}()
	var seen []string
	var pids []int
	timeout := time.After(10 * time.Second)
	for done := false; !done; {
		select {
		case line, ok := <-lines:
			if !ok {
				done = true
				break
			}
			seen = append(seen, line)
			var id, pid int
			if _, err := fmt.Sscanf(line, "process %d ready, pid %d", &id, &pid); err == nil {
				if pids = append(pids, pid); len(pids) == 2 {
					cmd.Process.Kill()
				}
			}
		case <-timeout:
			cmd.Process.Kill()
			for _, pid := range pids {
				syscall.Kill(pid, syscall.SIGKILL)
			}
			t.Fatalf("the processes have not all exited 10s on:\n%s", strings.Join(seen, "\n"))
		}
	}
	cmd.Wait()
	for id := range 2 {
		if want := fmt.Sprintf("process %d stopped by terminated", id); !slices.Contains(seen, want) {
			t.Errorf("no line %q:\n%s", want, strings.Join(seen, "\n"))
		}
	}
}

// launchWordCount counts words, printing each count to w as a line "count WORD N",
// wherever in the cluster its key is.
func launchWordCount(w io.Writer) *weir.Dataflow {
	flow := weir.NewDataflow("launched_wordcount")
	var text []string
	for i := range 200 {
		text = append(text, fmt.Sprintf("w%d w%d w%d", i%7, i%11, i%3))
	}
	words := op.FlatMap("split", op.Input("text", flow, source.FromSlice(text...)), strings.Fields)
	counts := op.CountFinal("count", words, func(w string) string { return w })
	var mu sync.Mutex
	op.Output("print", counts, sink.Func(func(kvs []weir.KV[int]) error {
		mu.Lock()
		defer mu.Unlock()
		for _, kv := range kvs {
			fmt.Fprintf(w, "count %s %d\n", kv.Key, kv.Value)
		}
		return nil
	}))
	return flow
}

// -p runs a real flow as a cluster of processes of this program: its counts, printed by
// whichever process holds each key, are those of one process.
func TestLaunchRunsCluster(t *testing.T) {
	count := regexp.MustCompile(`(?m)^count \S+ \d+$`)
	var one, many syncBuffer
	if code := main(context.Background(), newCommandLine("prog"), launchWordCount(&one), []string{"-w", "2"}, &one, &one, nil); code != 0 {
		t.Fatalf("one process: status %d:\n%s", code, one.String())
	}
	t.Setenv(launchTestEnv, "wordcount")
	var stderr syncBuffer
	if code := main(context.Background(), newCommandLine("prog"), launchWordCount(&many), []string{"-p", "3", "-w", "2"}, &many, &stderr, nil); code != 0 {
		t.Fatalf("-p 3: status %d:\n%s\n%s", code, many.String(), stderr.String())
	}
	want, got := count.FindAllString(one.String(), -1), count.FindAllString(many.String(), -1)
	slices.Sort(want)
	slices.Sort(got)
	if len(want) != 11 || !slices.Equal(got, want) {
		t.Errorf("-p 3 counted %q, one process %q", got, want)
	}
	if n := strings.Count(stderr.String(), `msg="weir: run finished"`); n != 3 {
		t.Errorf("%d processes finished, want 3:\n%s", n, stderr.String())
	}
}

// withoutProcesses takes -p out in every form package flag reads, and nothing else.
func TestWithoutProcesses(t *testing.T) {
	fs := flag.NewFlagSet("prog", flag.ContinueOnError)
	fs.Int("p", 0, "")
	fs.Int("processes", 0, "")
	fs.Bool("on", false, "")
	fs.String("name", "", "")
	for _, tt := range []struct{ args, want string }{
		{"", ""},
		{"-p 2", ""},
		{"-p=2 a", "a"},
		{"--p 2 --on a -p 3", "--on a -p 3"},
		{"--processes 2 -w 1", "-w 1"},
		{"-processes=2 --name -p -p 2", "--name -p"},
		{"--on -p 2 -- -p 2", "--on -- -p 2"},
		{"-w 2 - -p 2", "-w 2 - -p 2"},
	} {
		if got := strings.Join(withoutProcesses(fs, strings.Fields(tt.args)), " "); got != tt.want {
			t.Errorf("withoutProcesses(%q) = %q, want %q", tt.args, got, tt.want)
		}
	}
}
