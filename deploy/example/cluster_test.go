package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// asMain makes the test binary run the example's main instead of its tests, so that a
// test can start processes of the program without building it.
const asMain = "DEPLOY_EXAMPLE_AS_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(asMain) == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// TestRescaleByMovingPartitions does what deploy/kubernetes/README.md tells a user to do
// with the pods' volumes, with processes on loopback and a directory per process: 3
// processes create the partitions between their directories; the cluster goes down to
// 2 processes once the third's partitions are moved into the first's directory (and is
// refused before that, naming them); up to 3 again, the new third directory empty. Each
// run reads 100 more readings of each metric, and the summaries printed over the four
// runs are those of one process reading them all at once: the state went along.
func TestRescaleByMovingPartitions(t *testing.T) {
	tmp := t.TempDir()
	dirs := []string{filepath.Join(tmp, "d0"), filepath.Join(tmp, "d1"), filepath.Join(tmp, "d2")}
	var got []string
	phase := func(count int, dirs []string) []string {
		t.Helper()
		out, errs := cluster(t, count, dirs)
		for i, err := range errs {
			if err != nil {
				t.Fatalf("process %d of %d, reading %d: %v", i, len(dirs), count, err)
			}
		}
		return out
	}

	got = append(got, phase(100, dirs)...)
	held := func(dir string) []string {
		files, _ := filepath.Glob(filepath.Join(dir, "part-*.sqlite3"))
		for i := range files {
			files[i] = filepath.Base(files[i])
		}
		slices.Sort(files)
		return files
	}
	if h, want := held(dirs[2]), []string{"part-11.sqlite3", "part-2.sqlite3", "part-5.sqlite3", "part-8.sqlite3"}; !slices.Equal(h, want) {
		t.Fatalf("the third process created %v, want %v (the README says process k creates k, k+3, ...)", h, want)
	}

	// Down to 2 without moving the third's partitions: refused, naming them.
	_, errs := cluster(t, 200, dirs[:2])
	for i, err := range errs {
		if err == nil || !strings.Contains(err.Error(), "missing: [2 5 8 11]") {
			t.Errorf("process %d of 2 without the moved partitions: %v, want refused naming [2 5 8 11]", i, err)
		}
	}
	// Moved, as the README's helper pod does: mv part-*.sqlite3* into a kept directory.
	moved, _ := filepath.Glob(filepath.Join(dirs[2], "part-*.sqlite3*"))
	for _, f := range moved {
		if err := os.Rename(f, filepath.Join(dirs[0], filepath.Base(f))); err != nil {
			t.Fatal(err)
		}
	}
	got = append(got, phase(200, dirs[:2])...)

	// Up to 3, the third directory holding no partition: allowed.
	if err := os.RemoveAll(dirs[2]); err != nil {
		t.Fatal(err)
	}
	got = append(got, phase(300, dirs)...)

	want, errs := cluster(t, 300, []string{filepath.Join(tmp, "one")})
	if errs[0] != nil {
		t.Fatal(errs[0])
	}
	// A stopped run's last summaries may be printed again by the next run, which resumes
	// from the last epoch committed before them: compare the summaries, not their count.
	slices.Sort(got)
	got = slices.Compact(got)
	slices.Sort(want)
	if len(want) != 3*len(metrics) || !slices.Equal(got, want) {
		t.Errorf("rescaled runs printed\n%s\none process printed\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// cluster runs the example as len(dirs) processes on loopback, process k with recovery
// directory dirs[k] and 12 partitions, reading until every metric has count readings,
// and returns the lines printed and each process's error with its stderr (see
// processes.wait).
func cluster(t *testing.T, count int, dirs []string) ([]string, []error) {
	t.Helper()
	var addrs []string
	for range dirs {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addrs = append(addrs, ln.Addr().String())
		ln.Close()
	}
	cmds := make([]*exec.Cmd, len(dirs))
	for k, dir := range dirs {
		args := []string{"-w", "2", "-s", "50ms", "-r", dir, "--recovery-partitions", "12",
			"--interval", "0", "--count", fmt.Sprint(count), "--log-level", "warn"}
		if len(dirs) > 1 {
			args = append(args, "-i", fmt.Sprint(k), "-a", strings.Join(addrs, ";"), "--startup-timeout", "20s")
		}
		cmds[k] = exec.Command(os.Args[0], args...)
		cmds[k].Env = append(os.Environ(), asMain+"=1")
	}
	return start(t, cmds).wait(t, count)
}

// processes are running processes of the example, with their output so far.
type processes struct {
	cmds       []*exec.Cmd
	outs, errs []*lockedBuffer
	done       chan int
	results    []error
	left       int
}

// start starts cmds, each running the example (asMain), capturing their output.
func start(t *testing.T, cmds []*exec.Cmd) *processes {
	t.Helper()
	n := len(cmds)
	p := &processes{cmds: cmds, outs: make([]*lockedBuffer, n), errs: make([]*lockedBuffer, n),
		done: make(chan int, n), results: make([]error, n), left: n}
	for k, cmd := range cmds {
		p.outs[k], p.errs[k] = &lockedBuffer{}, &lockedBuffer{}
		cmd.Stdout, cmd.Stderr = p.outs[k], p.errs[k]
		if err := cmd.Start(); err != nil {
			p.kill()
			t.Fatal(err)
		}
		go func() { p.results[k] = cmd.Wait(); p.done <- k }()
	}
	t.Cleanup(p.kill)
	return p
}

// printed reports whether the processes have printed, between them, the summary of the
// count-th reading of every metric.
func (p *processes) printed(count int) bool {
	lines := joinLines(p.outs)
	for _, m := range metrics {
		if !slices.ContainsFunc(lines, func(l string) bool { return strings.HasPrefix(l, fmt.Sprintf("%s: %d readings, ", m, count)) }) {
			return false
		}
	}
	return true
}

// wait waits for every process to end and returns the lines they printed and each one's
// error with its stderr. Processes that have printed the summaries of the count-th
// readings of every metric (count 0: never) and are still running 2 s later are stopped
// with SIGTERM, their errors then ignored: what the tests check is the state the
// processes carry from run to run, which the summaries show.
func (p *processes) wait(t *testing.T, count int) ([]string, []error) {
	t.Helper()
	deadline := time.After(60 * time.Second)
	var grace <-chan time.Time
	stopped := false
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for p.left > 0 {
		select {
		case <-p.done:
			p.left--
		case <-tick.C:
			if grace == nil && !stopped && count > 0 && p.printed(count) {
				grace = time.After(2 * time.Second)
			}
		case <-grace:
			t.Logf("%d processes, %d readings: still running 2 s after the last summary; stopping them with SIGTERM", len(p.cmds), count)
			for _, c := range p.cmds {
				c.Process.Signal(syscall.SIGTERM)
			}
			grace, stopped = nil, true
		case <-deadline:
			p.kill()
			t.Fatalf("%d processes, %d readings: still running after 60 s", len(p.cmds), count)
		}
	}
	failed := make([]error, len(p.cmds))
	for k, err := range p.results {
		if err != nil && !stopped {
			failed[k] = fmt.Errorf("%v: %s", err, p.errs[k])
		}
	}
	return joinLines(p.outs), failed
}

// kill kills the processes still running.
func (p *processes) kill() {
	for _, c := range p.cmds {
		if c.Process != nil {
			c.Process.Kill() // an error says it had ended
		}
	}
}

// lockedBuffer is a process's output, read while the process writes it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// joinLines returns the non-empty lines of every output.
func joinLines(outs []*lockedBuffer) []string {
	var lines []string
	for _, o := range outs {
		for l := range strings.Lines(o.String()) {
			if l = strings.TrimSpace(l); l != "" {
				lines = append(lines, l)
			}
		}
	}
	return lines
}
