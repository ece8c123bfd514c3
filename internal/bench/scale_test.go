package bench_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	"runtime/trace"

	"github.com/weirflow/weir/internal/bench"
	"github.com/weirflow/weir/run"
)

// TestCountOverlap is a tool for the budget's "2 workers / 1 worker" line, run when
// WEIR_COUNT_TRACE names a file: it runs the two-worker count once to warm up, then once
// under runtime/trace, writes the trace there (for go tool trace's goroutine and
// processor views), and logs how long the two workers both ran, as a share of the span
// from the first one's start to the last one's end, read from the trace's goroutine
// states (go tool trace -d=parsed). It also logs each of the process's threads' CPU time
// and time spent waiting for a core (Linux's schedstat): a goroutine the trace shows
// running is on a thread, which on a machine busy with other processes may itself be
// waiting. WEIR_COUNT_N sets the items (default 16M, the report's).
func TestCountOverlap(t *testing.T) {
	path := os.Getenv("WEIR_COUNT_TRACE")
	if path == "" {
		t.Skip("WEIR_COUNT_TRACE is not set")
	}
	n := 1 << 24
	if v := os.Getenv("WEIR_COUNT_N"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			t.Fatal(err)
		}
	}
	count := func() {
		t.Helper()
		if _, err := bench.Count(context.Background(), n, 2, bench.DefaultBatch, run.LogEvery(0)); err != nil {
			t.Fatal(err)
		}
	}
	count()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	before := schedstat()
	start := time.Now()
	if err := trace.Start(f); err != nil {
		t.Fatal(err)
	}
	count()
	trace.Stop()
	wall := time.Since(start)
	var cpu, wait time.Duration
	for tid, s := range schedstat() {
		d := [2]time.Duration{s[0] - before[tid][0], s[1] - before[tid][1]}
		if d[0] > time.Millisecond || d[1] > time.Millisecond {
			t.Logf("thread %s: CPU %v, waited for a core %v", tid, d[0], d[1])
		}
		cpu += d[0]
		wait += d[1]
	}
	t.Logf("run of %d items: %v; threads' CPU %v, waited for a core %v", n, wall, cpu, wait)

	out, err := exec.Command("go", "tool", "trace", "-d=parsed", path).Output()
	if err != nil {
		t.Fatalf("go tool trace: %v", err)
	}
	running, err := runningTimes(out)
	if err != nil {
		t.Fatal(err)
	}
	// The workers are the two goroutines that ran longest.
	ids := make([]int, 0, len(running))
	for id := range running {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b int) int { return int(total(running[b]) - total(running[a])) })
	if len(ids) < 2 {
		t.Fatalf("%d goroutines ran", len(ids))
	}
	span, both := overlap(running[ids[0]], running[ids[1]])
	t.Logf("workers (goroutines %d and %d) ran %v and %v of a span of %v; both at once %v (%.0f%%)",
		ids[0], ids[1], time.Duration(total(running[ids[0]])), time.Duration(total(running[ids[1]])),
		time.Duration(span), time.Duration(both), 100*float64(both)/float64(span))
}

// interval is a time a goroutine was running, in the trace's nanoseconds.
type interval struct{ from, to int64 }

func total(ivs []interval) int64 {
	var d int64
	for _, iv := range ivs {
		d += iv.to - iv.from
	}
	return d
}

var transition = regexp.MustCompile(`StateTransition Time=(\d+) GoID=(\d+) (\w+)->(\w+)`)

// runningTimes reads go tool trace -d=parsed's output and returns, by goroutine, the
// intervals in which it was running.
func runningTimes(parsed []byte) (map[int][]interval, error) {
	running := map[int][]interval{}
	since := map[int]int64{}
	sc := bufio.NewScanner(bytes.NewReader(parsed))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		m := transition.FindSubmatch(sc.Bytes())
		if m == nil {
			continue
		}
		at, _ := strconv.ParseInt(string(m[1]), 10, 64)
		id, _ := strconv.Atoi(string(m[2]))
		if string(m[4]) == "Running" {
			since[id] = at
		} else if from, ok := since[id]; ok && string(m[3]) == "Running" {
			running[id] = append(running[id], interval{from, at})
			delete(since, id)
		}
	}
	return running, sc.Err()
}

// overlap returns the span from the first start to the last end of a's and b's
// intervals, and the time within it when both ran.
func overlap(a, b []interval) (span, both int64) {
	type edge struct {
		at    int64
		delta int
	}
	var edges []edge
	for _, ivs := range [][]interval{a, b} {
		for _, iv := range ivs {
			edges = append(edges, edge{iv.from, 1}, edge{iv.to, -1})
		}
	}
	slices.SortFunc(edges, func(x, y edge) int { return int(x.at - y.at) })
	up := 0
	for i, e := range edges {
		if up == 2 {
			both += e.at - edges[i-1].at
		}
		up += e.delta
	}
	return edges[len(edges)-1].at - edges[0].at, both
}

// TestOverlap checks the tool's arithmetic.
func TestOverlap(t *testing.T) {
	span, both := overlap([]interval{{0, 10}, {20, 30}}, []interval{{5, 25}})
	if span != 30 || both != 10 {
		t.Errorf("span %d, both %d; want 30 and 10", span, both)
	}
	parsed := []byte("M=1 P=0 G=-1 StateTransition Time=100 GoID=7 Runnable->Running Reason=\"\"\n" +
		"M=1 P=0 G=7 StateTransition Time=150 GoID=7 Running->Runnable Reason=\"preempted\"\n")
	got, err := runningTimes(parsed)
	if err != nil || len(got[7]) != 1 || got[7][0] != (interval{100, 150}) {
		t.Errorf("runningTimes = %v, %v; want goroutine 7 running from 100 to 150", got, err)
	}
}

// schedstat returns the CPU time and the time waiting on a run queue of each of the
// process's threads, by thread id (none where /proc has no schedstat).
func schedstat() map[string][2]time.Duration {
	dirs, _ := filepath.Glob("/proc/self/task/*")
	m := map[string][2]time.Duration{}
	for _, d := range dirs {
		b, err := os.ReadFile(d + "/schedstat")
		if err != nil {
			continue
		}
		var cpu, wait int64
		if _, err := fmt.Sscan(string(b), &cpu, &wait); err == nil {
			m[filepath.Base(d)] = [2]time.Duration{time.Duration(cpu), time.Duration(wait)}
		}
	}
	return m
}
