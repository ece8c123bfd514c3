package weirtest_test

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/run"
	"github.com/weirflow/weir/sink"
	"github.com/weirflow/weir/weirtest"
)

// passThrough builds in -> out.
func passThrough[T any](src *weirtest.Source[T], out *weirtest.Sink[T]) *weir.Dataflow {
	flow := weir.NewDataflow("flow")
	op.Output("out", op.Input("in", flow, src), out)
	return flow
}

func TestRunMarkers(t *testing.T) {
	tests := []struct {
		name    string
		src     *weirtest.Source[int]
		workers int
		runs    [][]int // the sink's items after each run of the same flow
	}{
		{"plain", weirtest.NewSource(1, 2, 3), 1, [][]int{{1, 2, 3}}},
		{"several workers", weirtest.NewSource(1, 2, 3).BatchSize(2), 3, [][]int{{1, 2, 3}}},
		// Without recovery every run starts over, so EOF ends each run at the same place.
		{"EOF ends the run", weirtest.NewSource(1, 2).EOF().Then(3), 1, [][]int{{1, 2}, {1, 2}}},
		{"abort then a second run passes it", weirtest.NewSource(1, 2).Abort().Then(3), 1,
			[][]int{{1, 2}, {1, 2, 3}}},
		{"abort with several workers", weirtest.NewSource(1, 2).Abort().Then(3), 2,
			[][]int{{1, 2}, {1, 2, 3}}},
		{"leading abort", weirtest.NewSource[int]().Abort().Then(1), 1, [][]int{nil, {1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := weirtest.NewSink[int]()
			flow := passThrough(tt.src, out)
			for i, want := range tt.runs {
				out.Clear()
				weirtest.Run(t, flow, tt.workers)
				if got := out.Items(); !slices.Equal(got, want) {
					t.Fatalf("run %d: got %v, want %v", i+1, got, want)
				}
			}
		})
	}
}

func TestRunBatchSize(t *testing.T) {
	tests := []struct {
		src  *weirtest.Source[int]
		want []int
	}{
		{weirtest.NewSource(1, 2, 3, 4, 5), []int{1, 1, 1, 1, 1}},
		{weirtest.NewSource(1, 2, 3, 4, 5).BatchSize(2), []int{2, 2, 1}},
		{weirtest.NewSource(1, 2, 3, 4, 5).BatchSize(3), []int{3, 2}},
		{weirtest.NewSource(1, 2).Pause(time.Second).Then(3, 4, 5).BatchSize(100), []int{2, 3}},
	}
	for i, tt := range tests {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				flow := weir.NewDataflow("flow")
				var sizes []int // one worker: no concurrent calls
				sized := op.FlatMapBatch("sizes", op.Input("in", flow, tt.src), func(xs []int) []int {
					sizes = append(sizes, len(xs))
					return xs
				})
				out := weirtest.NewSink[int]()
				op.Output("out", sized, out)
				weirtest.Run(t, flow, 1)
				if !slices.Equal(sizes, tt.want) {
					t.Errorf("batch sizes %v, want %v", sizes, tt.want)
				}
				if got := out.Items(); !slices.Equal(got, []int{1, 2, 3, 4, 5}) {
					t.Errorf("items %v, want [1 2 3 4 5]", got)
				}
			})
		})
	}
}

func TestRunPause(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		flow := weir.NewDataflow("flow")
		var at []time.Duration
		timed := op.FlatMapBatch("time", op.Input("in", flow, weirtest.NewSource(1).Pause(time.Hour).Then(2)), func(xs []int) []int {
			for range xs {
				at = append(at, time.Since(start))
			}
			return xs
		})
		out := weirtest.NewSink[int]()
		op.Output("out", timed, out)
		weirtest.Run(t, flow, 1)
		if got := out.Items(); !slices.Equal(got, []int{1, 2}) {
			t.Fatalf("items %v, want [1 2]", got)
		}
		if at[0] != 0 || at[1] < time.Hour || at[1] > time.Hour+time.Second {
			t.Fatalf("items at %v, want 0 and one hour later", at)
		}
	})
}

// failTB records Fatal instead of stopping the test.
type failTB struct {
	testing.TB
	failed []any
}

func (f *failTB) Helper()           {}
func (f *failTB) Fatal(args ...any) { f.failed = args }

func TestRunFailsTheTestOnError(t *testing.T) {
	boom := errors.New("boom")
	flow := weir.NewDataflow("flow")
	op.Output("out", op.Input("in", flow, weirtest.NewSource(1)), sink.Func(func([]int) error { return boom }))
	tb := &failTB{TB: t}
	weirtest.Run(tb, flow, 1)
	if len(tb.failed) != 1 {
		t.Fatalf("Fatal called with %v, want the run's error", tb.failed)
	}
	err, _ := tb.failed[0].(error)
	var se *weir.StepError
	if !errors.Is(err, boom) || !errors.As(err, &se) {
		t.Fatalf("Fatal called with %v, want a step error wrapping boom", tb.failed[0])
	}
}

func TestRunOptionsOverrideWorkers(t *testing.T) {
	flow := weir.NewDataflow("flow")
	var mu sync.Mutex
	workers := map[int]bool{}
	spread := op.Redistribute("spread", op.Input("in", flow, weirtest.NewSource(1, 2, 3, 4).BatchSize(4)))
	op.InspectDebug("seen", spread, func(_ string, _ int, _ uint64, w int) {
		mu.Lock()
		workers[w] = true
		mu.Unlock()
	})
	weirtest.Run(t, flow, 1, run.Workers(2))
	if len(workers) != 2 {
		t.Fatalf("items seen on workers %v, want 0 and 1", workers)
	}
}
