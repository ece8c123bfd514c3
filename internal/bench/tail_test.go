package bench

import (
	"context"
	"os"
	"runtime/pprof"
	"strconv"
	"testing"
	"time"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/run"
)

// TestTailProfile runs the running aggregate of BenchmarkAggregateRecoveryRatio (1<<24
// items, or WEIR_TAIL_ITEMS, on a fresh recovery directory) WEIR_TAIL_RUNS times (1 by
// default) and writes a CPU profile of its tail, from its last item to the run's return
// (the final snapshot and write, the collection at the end, closing the store), to the
// file WEIR_TAIL_PROFILE (the last run's). It logs each run's time and the process's CPU
// to the last item and after it: where the recovery row's time to the return goes. The
// number of items moves the end against the epochs' boundaries (with 1 s epochs, a run
// that ends just after one collects two epochs at its end). It runs only when
// WEIR_TAIL_PROFILE is set.
func TestTailProfile(t *testing.T) {
	out := os.Getenv("WEIR_TAIL_PROFILE")
	if out == "" {
		t.Skip("WEIR_TAIL_PROFILE is not set")
	}
	runs, n := envInt(t, "WEIR_TAIL_RUNS", 1), envInt(t, "WEIR_TAIL_ITEMS", 1<<24)
	for i := range runs {
		dir, remove, err := NewRecoveryDir()
		if err != nil {
			t.Fatal(err)
		}
		f, err := os.Create(out)
		if err != nil {
			t.Fatal(err)
		}
		var lastAt time.Time
		var lastCPU time.Duration
		flow := weir.NewDataflow("aggregate")
		s := op.KeyOn("key", op.Input("ints", flow, NewInts(n, 1)), aggKey)
		sums := op.StatefulMap("running_sum", s, func(st *op.State[int], v int) int {
			if v == n-1 {
				lastAt, lastCPU = time.Now(), ProcessCPU()
				if err := pprof.StartCPUProfile(f); err != nil {
					t.Error(err)
				}
			}
			return runSum(st, v)
		})
		op.Output("sum", sums, CountSum())
		start, cpu := time.Now(), ProcessCPU()
		err = run.Run(context.Background(), flow, run.EpochInterval(AggInterval), run.Recovery(dir))
		end, endCPU := time.Now(), ProcessCPU()
		pprof.StopCPUProfile()
		f.Close()
		remove()
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("run %d: to the last item %v (CPU %v), tail %v (CPU %v)", i,
			lastAt.Sub(start).Round(time.Millisecond), (lastCPU - cpu).Round(time.Millisecond),
			end.Sub(lastAt).Round(time.Millisecond), (endCPU - lastCPU).Round(time.Millisecond))
	}
}

// envInt is the environment variable name as an int, or def when it is not set.
func envInt(t *testing.T, name string, def int) int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return n
}
