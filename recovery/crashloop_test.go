package recovery_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/connectors/files"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/recovery"
	"github.com/weirflow/weir/run"
)

// The crash-loop test re-executes its own test binary as the job: TestMain runs the job
// instead of the tests when WEIR_CRASHJOB is set, so that the job can be killed with
// SIGKILL, which no in-process abort can imitate (the sink's unsynced writes and the
// store's open transactions are left as a real crash leaves them).
const (
	envJob     = "WEIR_CRASHJOB"         // "1": run the job and exit
	envDir     = "WEIR_CRASHJOB_DIR"     // recovery directory
	envIn      = "WEIR_CRASHJOB_IN"      // input file
	envOut     = "WEIR_CRASHJOB_OUT"     // output file
	envWorkers = "WEIR_CRASHJOB_WORKERS" // worker count
	envLong    = "WEIR_CRASHLOOP_LONG"   // "1": run the long crash loop
	envSeed    = "WEIR_CRASHLOOP_SEED"   // seed of the kill delays, to replay a failure
)

// jobPause is how long the child sleeps per source batch, so that it runs long enough
// (lines/batch × jobPause) to be killed midway.
const jobPause = time.Millisecond

func TestMain(m *testing.M) {
	if os.Getenv(envJob) == "1" {
		os.Exit(crashJob())
	}
	os.Exit(m.Run())
}

func crashJob() int {
	workers, err := strconv.Atoi(os.Getenv(envWorkers))
	if err == nil {
		flow := crashFlow(os.Getenv(envIn), os.Getenv(envOut), jobPause)
		err = run.Run(context.Background(), flow, run.Workers(workers),
			run.EpochInterval(5*time.Millisecond), run.Recovery(os.Getenv(envDir)))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "crash job:", err)
		return 1
	}
	return 0
}

// crashFlow is the job: numbered lines keyed by n%7, a running sum per key, written as
// "key n sum" lines by the file sink. Every output line is distinct, so a duplicate or a
// loss shows in the comparison.
func crashFlow(in, out string, pause time.Duration) *weir.Dataflow {
	flow := weir.NewDataflow("crashloop")
	lines := op.Input("inp", flow, files.NewLineSource(in).BatchSize(10))
	slow := op.FlatMapBatch("slow", lines, func(items []string) []string {
		if pause > 0 {
			time.Sleep(pause)
		}
		return items
	})
	nums := op.Map("parse", slow, func(s string) int {
		n, err := strconv.Atoi(s)
		if err != nil {
			panic(err)
		}
		return n
	})
	keyed := op.KeyOn("key", nums, func(n int) string { return strconv.Itoa(n % 7) })
	sums := op.StatefulMap("sum", keyed, func(st *op.State[int], n int) string {
		s, _ := st.Get()
		s += n
		st.Set(s)
		return strconv.Itoa(n) + " " + strconv.Itoa(s)
	})
	op.Output("out", sums, files.NewFileSink[weir.KV[string]](out).Format(func(buf []byte, kv weir.KV[string]) []byte {
		buf = append(buf, kv.Key...)
		buf = append(buf, ' ')
		return append(buf, kv.Value...)
	}))
	return flow
}

// A stateful job writing through the file sink is killed with SIGKILL at random points
// and restarted on the same recovery directory; once it runs to the end its output must
// equal a fault-free run's: byte for byte with one worker (whose output order is
// deterministic), and line for line per key with two (whose workers' outputs interleave
// at the sink in no fixed order).
func TestCrashLoop(t *testing.T) {
	if testing.Short() && os.Getenv(envLong) == "1" {
		t.Log("WEIR_CRASHLOOP_LONG ignored under -short")
	}
	// The long loop is opt-in even without -short, to keep `go test ./...` fast.
	kills, lines := 3, 1000
	if !testing.Short() && os.Getenv(envLong) == "1" {
		kills, lines = 25, 5000
	}
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv(envSeed); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("%s: %v", envSeed, err)
		}
	}
	t.Logf("seed %d (%s to replay), %d kills, %d lines", seed, envSeed, kills, lines)

	in := filepath.Join(t.TempDir(), "in.txt")
	var b strings.Builder
	for i := range lines {
		fmt.Fprintf(&b, "%d\n", i)
	}
	if err := os.WriteFile(in, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}

	for _, workers := range []int{1, 2} {
		t.Run(fmt.Sprintf("workers=%d", workers), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, uint64(workers)))
			tmp := t.TempDir()

			// The fault-free run, in process and without the pauses.
			want := filepath.Join(tmp, "want.txt")
			wantDir := filepath.Join(tmp, "want-rec")
			if err := recovery.Init(wantDir, 3); err != nil {
				t.Fatal(err)
			}
			if err := run.Run(t.Context(), crashFlow(in, want, 0), run.Workers(workers),
				run.EpochInterval(5*time.Millisecond), run.Recovery(wantDir)); err != nil {
				t.Fatal(err)
			}

			got := filepath.Join(tmp, "got.txt")
			dir := filepath.Join(tmp, "rec")
			if err := recovery.Init(dir, 3); err != nil {
				t.Fatal(err)
			}
			wantInfo, err := os.Stat(want)
			if err != nil {
				t.Fatal(err)
			}
			step := wantInfo.Size() / int64(kills+1)
			killed := 0
			for i := range kills {
				// Most kills wait for the output to grow by about a K+1th of the final
				// output, so that the kills spread over the whole input whatever the
				// machine's speed, then a few ms more to fall anywhere in an epoch. One in
				// four kills at a random time instead, which can hit the start or resume.
				k := kill{extra: time.Duration(rng.Int64N(int64(5 * time.Millisecond)))}
				if rng.IntN(4) == 0 {
					k = kill{extra: time.Duration(rng.Int64N(int64(200 * time.Millisecond)))}
				} else {
					k.size = fileSize(t, got) + step/2 + rng.Int64N(step)
				}
				done, err := runChild(t, dir, in, got, workers, &k)
				if err != nil {
					t.Fatalf("run %d: %v", i, err)
				}
				if !done {
					killed++
				}
				t.Logf("run %d: kill at output >= %d bytes, +%v: killed %v; output then %d of %d bytes",
					i, k.size, k.extra, !done, fileSize(t, got), wantInfo.Size())
			}
			if _, err := runChild(t, dir, in, got, workers, nil); err != nil {
				t.Fatalf("final run: %v", err)
			}
			if killed == 0 {
				t.Log("every run ended before its kill: nothing was tested but a fresh run")
			}
			compareOutputs(t, got, want, workers == 1)
		})
	}
}

// kill says when runChild kills the job: once the output file holds size bytes, then
// after extra.
type kill struct {
	size  int64
	extra time.Duration
}

// runChild runs the job in a child process on the recovery directory dir and, if k is not
// nil, kills it with SIGKILL as k says. It reports whether the job ended on its own.
func runChild(t *testing.T, dir, in, out string, workers int, k *kill) (done bool, err error) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envJob+"=1", envDir+"="+dir, envIn+"="+in, envOut+"="+out,
		envWorkers+"="+strconv.Itoa(workers))
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Start(); err != nil {
		return false, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	if k != nil {
		// Polling an outside process's file: there is nothing to wait on but time.
		for k.size > 0 && len(exited) == 0 && fileSize(t, out) < k.size {
			time.Sleep(time.Millisecond)
		}
		select {
		case err = <-exited:
		case <-time.After(k.extra):
			cmd.Process.Signal(syscall.SIGKILL)
			err = <-exited
		}
	} else {
		err = <-exited
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL && k != nil {
			return false, nil
		}
	}
	if err != nil {
		return false, fmt.Errorf("%v: %s", err, stderr.Bytes())
	}
	return true, nil
}

func fileSize(t *testing.T, path string) int64 {
	info, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return info.Size()
}

// compareOutputs checks got against want: exactly, or, when exact is false, as the same
// set of lines with each key's lines in the same order.
func compareOutputs(t *testing.T, got, want string, exact bool) {
	t.Helper()
	g, err := os.ReadFile(got)
	if err != nil {
		t.Fatal(err)
	}
	w, err := os.ReadFile(want)
	if err != nil {
		t.Fatal(err)
	}
	if exact {
		if !bytes.Equal(g, w) {
			t.Fatalf("output differs from the fault-free run's:\n%s", firstDiff(string(g), string(w)))
		}
		return
	}
	byKey := func(data []byte) string {
		lines := strings.Split(string(data), "\n")
		// A stable sort by key keeps each key's lines in their order.
		slices.SortStableFunc(lines, func(a, b string) int {
			ka, _, _ := strings.Cut(a, " ")
			kb, _, _ := strings.Cut(b, " ")
			return strings.Compare(ka, kb)
		})
		return strings.Join(lines, "\n")
	}
	if gs, ws := byKey(g), byKey(w); gs != ws {
		t.Fatalf("output (grouped by key) differs from the fault-free run's:\n%s", firstDiff(gs, ws))
	}
}

func firstDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := range max(len(g), len(w)) {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return fmt.Sprintf("line %d: got %q, want %q (got %d lines, want %d)", i+1, gl, wl, len(g), len(w))
		}
	}
	return "equal"
}
