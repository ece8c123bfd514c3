package systemtest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// long reports whether the whole matrix runs (WEIR_SYSTEMTEST_LONG=1).
func long() bool { return os.Getenv("WEIR_SYSTEMTEST_LONG") == "1" }

// layout is a cluster's shape: processes x workers each.
type layout struct{ processes, workers int }

func (l layout) String() string { return fmt.Sprintf("%dx%d", l.processes, l.workers) }

// job is a cluster of processes of the test binary, launched once or, on the same
// directories, again after a kill.
type job struct {
	t      testing.TB
	dir    string // the job's directory: out-<i>/ and stderr-<i>-<n>.log per process
	layout layout
	spec   childSpec
	args   []string                  // every process's flags beyond -i, -a and -w
	each   func(i int) []string      // a process's own flags, after args; nil: none
	tweak  func(i int, s *childSpec) // changes a process's spec; nil: none
	addrs  []string                  // the current launch's addresses
	procs  []*proc                   // the current launch's processes
	launch int                       // how many launches so far
	shared bool                      // every process writes its sinks in one directory
	mu     sync.Mutex                // guards procs' exit fields
	wg     sync.WaitGroup            // the current launch's waiters
}

// proc is one process of a launch.
type proc struct {
	i      int
	cmd    *exec.Cmd
	stderr string // the file its stderr goes to
	done   chan struct{}
	code   int // exit status, -1 when killed by a signal
	exited time.Time
}

// newJob makes a job of l in a directory of the test's.
func newJob(t testing.TB, l layout, spec childSpec, args ...string) *job {
	t.Helper()
	return &job{t: t, dir: t.TempDir(), layout: l, spec: spec, args: args}
}

// freeAddresses returns n loopback addresses on ports free a moment ago: the kernel's
// choice for a listener on port 0, closed again for the process to listen on.
func freeAddresses(n int) []string {
	addrs := make([]string, n)
	var ls []net.Listener
	for i := range addrs {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			panic(fmt.Sprintf("systemtest: a free port: %v", err))
		}
		ls = append(ls, l)
		addrs[i] = l.Addr().String()
	}
	for _, l := range ls {
		l.Close()
	}
	return addrs
}

// outDir is process i's output directory, the same in every launch of the job so that a
// restarted process resumes its own files; with shared, one for every process, so that a
// sink's partition resumes whichever process writes it after a rescale.
func (j *job) outDir(i int) string {
	if j.shared {
		return filepath.Join(j.dir, "out")
	}
	return filepath.Join(j.dir, "out-"+strconv.Itoa(i))
}

// start launches every process of the job, on new ports.
func (j *job) start() {
	j.t.Helper()
	j.launch++
	n := j.layout.processes
	addrs := freeAddresses(n)
	j.addrs = addrs
	self, err := os.Executable()
	if err != nil {
		j.t.Fatal(err)
	}
	j.procs = make([]*proc, n)
	for i := range n {
		spec := j.spec
		spec.Out = j.outDir(i)
		if j.tweak != nil {
			j.tweak(i, &spec)
		}
		env, err := json.Marshal(spec)
		if err != nil {
			j.t.Fatal(err)
		}
		args := []string{"-w", strconv.Itoa(j.layout.workers)}
		if n > 1 {
			args = append(args, "-i", strconv.Itoa(i), "-a", strings.Join(addrs, ";"))
		}
		args = append(args, j.args...)
		if j.each != nil {
			args = append(args, j.each(i)...)
		}
		p := &proc{i: i, done: make(chan struct{}),
			stderr: filepath.Join(j.dir, fmt.Sprintf("stderr-%d-%d.log", i, j.launch))}
		f, err := os.Create(p.stderr)
		if err != nil {
			j.t.Fatal(err)
		}
		p.cmd = exec.Command(self, args...)
		p.cmd.Env = append(os.Environ(), childEnv+"="+string(env))
		p.cmd.Stdout, p.cmd.Stderr = f, f
		if err := p.cmd.Start(); err != nil {
			f.Close()
			j.t.Fatal(err)
		}
		j.procs[i] = p
		j.wg.Add(1)
		go func() {
			defer j.wg.Done()
			err := p.cmd.Wait()
			f.Close()
			j.mu.Lock()
			p.exited = time.Now()
			p.code = p.cmd.ProcessState.ExitCode()
			var ee *exec.ExitError
			if err != nil && !errors.As(err, &ee) {
				p.code = -2
			}
			j.mu.Unlock()
			close(p.done)
		}()
	}
	j.t.Cleanup(j.killAll)
}

// killAll kills what is left of the current launch and waits for it.
func (j *job) killAll() {
	for _, p := range j.procs {
		select {
		case <-p.done:
		default:
			p.cmd.Process.Kill()
		}
	}
	j.wg.Wait()
}

// wait waits up to d for every process to exit and returns their statuses; at the end
// of d it kills the rest and fails the test.
func (j *job) wait(d time.Duration) []int {
	j.t.Helper()
	done := make(chan struct{})
	go func() { j.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
		j.t.Fatalf("%v: the processes did not all exit within %v:\n%s", j.layout, d, j.dump())
	}
	codes := make([]int, len(j.procs))
	for i, p := range j.procs {
		codes[i] = p.code
	}
	return codes
}

// dump has the processes still running print their goroutines (SIGQUIT), kills them, and
// returns every process's stderr with, for those that hung, where each goroutine was in
// weir's code: what a hang's report needs.
func (j *job) dump() string {
	logs := j.stderrs()
	var hung []int
	for i, p := range j.procs {
		if !done(p) {
			hung = append(hung, i)
			p.cmd.Process.Signal(syscall.SIGQUIT)
		}
	}
	deadline := time.After(5 * time.Second)
	for _, i := range hung {
		select {
		case <-j.procs[i].done:
		case <-deadline:
		}
	}
	j.killAll()
	var b strings.Builder
	b.WriteString(logs)
	for _, i := range hung {
		fmt.Fprintf(&b, "--- process %d hung; its goroutines in weir:\n", i)
		var frames []string
		for g := range strings.SplitSeq(j.stderr(i), "\ngoroutine ") {
			if !strings.HasPrefix(g, "goroutine ") && !strings.Contains(g[:min(len(g), 40)], "gp=") {
				continue
			}
			state, _, _ := strings.Cut(g, "\n")
			state = strings.TrimSuffix(strings.TrimSpace(state), ":")
			for l := range strings.Lines(g) {
				if strings.Contains(l, "weirflow/weir/") && !strings.HasPrefix(l, "\t") && !strings.HasPrefix(l, "created by") {
					frames = append(frames, fmt.Sprintf("goroutine %s: %s", state, strings.TrimSpace(l)))
					break
				}
			}
		}
		b.WriteString(strings.Join(frames, "\n") + "\n")
	}
	return b.String()
}

// mustSucceed waits up to d and fails the test unless every process exited 0.
func (j *job) mustSucceed(d time.Duration) {
	j.t.Helper()
	codes := j.wait(d)
	for _, c := range codes {
		if c != 0 {
			j.t.Fatalf("%v: exit statuses %v:\n%s", j.layout, codes, j.stderrs())
		}
	}
}

// stderr returns what process i wrote to stderr in the current launch.
func (j *job) stderr(i int) string {
	b, err := os.ReadFile(j.procs[i].stderr)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	return string(b)
}

// stderrs returns every process's stderr of the current launch, each under a heading.
func (j *job) stderrs() string {
	var b strings.Builder
	for i := range j.procs {
		fmt.Fprintf(&b, "--- process %d:\n%s", i, tail(j.stderr(i), 40))
	}
	return b.String()
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.SplitAfter(s, "\n")
	if len(lines) > n {
		lines = append([]string{"...\n"}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "")
}

// output returns the lines of every file under name in every process's output directory,
// sorted: the union of what the processes wrote to the sink's partitions.
func (j *job) output(name string) []string {
	j.t.Helper()
	var lines []string
	seen := map[string]bool{}
	for i := range j.layout.processes {
		dir := filepath.Join(j.outDir(i), name)
		if seen[dir] {
			continue
		}
		seen[dir] = true
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for l := range strings.Lines(string(b)) {
				lines = append(lines, strings.TrimSuffix(l, "\n"))
			}
			return nil
		})
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			j.t.Fatal(err)
		}
	}
	slices.Sort(lines)
	return lines
}

// signal sends sig to process i.
func (j *job) signal(i int, sig syscall.Signal) {
	j.t.Helper()
	if err := j.procs[i].cmd.Process.Signal(sig); err != nil {
		j.t.Fatalf("signal %v to process %d: %v", sig, i, err)
	}
}

// sinks are the output directories of the "all" flow's sinks.
var sinks = []string{"wordcount", "running", "windows", "late", "join"}

// sameLines fails the test with the first difference between two sorted multisets.
func sameLines(t testing.TB, what string, got, want []string) {
	t.Helper()
	if slices.Equal(got, want) {
		return
	}
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	at := func(s []string) string {
		if i < len(s) {
			return strconv.Quote(s[i])
		}
		return "(end)"
	}
	t.Errorf("%s: %d lines, want %d; first difference at sorted line %d: got %s, want %s",
		what, len(got), len(want), i, at(got), at(want))
}

// lastLine returns the last line of s that is not empty.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
