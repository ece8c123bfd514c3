package engine_test

import (
	"context"
	"maps"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/internal/engine"
	"github.com/weirflow/weir/internal/graph"
	"github.com/weirflow/weir/internal/plan"
	"github.com/weirflow/weir/internal/state"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/source"
	"github.com/weirflow/weir/weirtest"
)

// A run given a Stats publishes, by step and worker, the items each step took in and
// emitted, which add up to what went through it, with batches and their sizes, and per
// worker its epoch and commits.
func TestStatsCounts(t *testing.T) {
	const n, keys = 1000, 7
	var items []int
	for i := range n {
		items = append(items, i)
	}
	flow := weir.NewDataflow("stats")
	in := op.Input("inp", flow, weirtest.NewSource(items...).BatchSize(100))
	even := op.Filter("even", in, func(x int) bool { return x%2 == 0 })
	doubled := op.Map("triple", op.Map("double", even, func(x int) int { return 2 * x }), func(x int) int { return 3 * x })
	sums := op.StatefulBatch("sum", keyBy("key", doubled, keys), newSum)
	out := weirtest.NewSink[weir.KV[int]]()
	op.Output("out", sums, out)
	p, err := plan.New(graph.FlowOf(flow))
	if err != nil {
		t.Fatal(err)
	}
	stats := engine.NewStats()
	if st := stats.Read(); st.Running || len(st.Steps) > 0 {
		t.Fatalf("before the run: %+v", st)
	}
	ctx := engine.WithStats(context.Background(), stats)
	if err := engine.Run(ctx, p, engine.Config{Workers: 2, EpochInterval: time.Millisecond, Store: state.NewMemory()}); err != nil {
		t.Fatal(err)
	}
	st := stats.Read()
	if st.Running || st.Started.IsZero() || st.Ended.Before(st.Started) || st.Flow != "stats" || len(st.Workers) != 2 {
		t.Fatalf("after the run: running %v, started %v, ended %v, flow %q, workers %v", st.Running, st.Started, st.Ended, st.Flow, st.Workers)
	}
	// in, out by step id, summed over the workers
	want := map[string][2]int64{
		"stats.inp":                   {n, n},
		"stats.even.flat_map_batch":   {n, n / 2},
		"stats.double.flat_map_batch": {n / 2, n / 2},
		"stats.triple.flat_map_batch": {n / 2, n / 2},
		"stats.key":                   {n / 2, n / 2},
		"stats.sum":                   {n / 2, keys},
		"stats.out":                   {keys, 0},
	}
	got := map[string][2]int64{}
	for _, s := range st.Steps {
		var sum [2]int64
		var batches, sized int64
		for _, w := range s.Workers {
			sum[0] += w.In
			sum[1] += w.Out
			batches += w.Batches
			for _, c := range w.BatchSizes {
				sized += c
			}
			if s.Kind == "stateful_batch" && (!w.HasKeys || w.Keys != 0 || w.Timers != 0) {
				t.Errorf("%s on worker %d: keys %d (known %v), timers %d at the end, want none", s.ID, w.Worker, w.Keys, w.HasKeys, w.Timers)
			}
		}
		if batches != sized {
			t.Errorf("%s: %d batches, %d in the sizes", s.ID, batches, sized)
		}
		if sum[0] > 0 && batches == 0 {
			t.Errorf("%s: items but no batches", s.ID)
		}
		got[s.ID] = sum
	}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("%s: in, out %v, want %v", id, got[id], w)
		}
	}
	for _, w := range st.WorkerStatus {
		if w.Epoch == 0 || w.Committed == 0 || w.Snapshot.Count == 0 || w.Commits == 0 || w.Commit.Count != uint64(w.Commits) || w.CommitBytes == 0 {
			t.Errorf("worker %d: %+v", w.Worker, w)
		}
	}
	var rows int
	for _, c := range st.Commits {
		rows += c.Rows
	}
	if len(st.Commits) == 0 || rows == 0 {
		t.Errorf("commit history %+v", st.Commits)
	}
	if st.Err != "" || len(st.Errors) > 0 {
		t.Errorf("a run that finished: error %q, errors %v", st.Err, st.Errors)
	}
}

// A step's failure is the run's error in Stats, once, naming the step; an interruption
// is the run's error but no error of the flow.
func TestStatsErrors(t *testing.T) {
	for _, interrupt := range []bool{false, true} {
		flow := weir.NewDataflow("fails")
		in := op.Input("inp", flow, weirtest.NewSource(1, 2, 3).Pause(time.Hour).Then(4))
		bad := op.FlatMapBatch("bad", in, func(xs []int) []int {
			if !interrupt && slices.Contains(xs, 2) {
				panic("two")
			}
			return xs
		})
		op.Output("out", bad, weirtest.NewSink[int]())
		p, err := plan.New(graph.FlowOf(flow))
		if err != nil {
			t.Fatal(err)
		}
		stats := engine.NewStats()
		ctx, cancel := context.WithTimeout(engine.WithStats(context.Background(), stats), 100*time.Millisecond)
		err = engine.Run(ctx, p, engine.Config{Workers: 2, EpochInterval: time.Millisecond})
		cancel()
		st := stats.Read()
		if err == nil || st.Err != err.Error() || st.Running {
			t.Fatalf("interrupt %v: run %v, Stats' error %q, running %v", interrupt, err, st.Err, st.Running)
		}
		switch {
		case interrupt && len(st.Errors) != 0:
			t.Errorf("interrupted: errors %+v", st.Errors)
		case !interrupt && (len(st.Errors) != 1 || st.Errors[0].Step != "fails.bad" || st.Errors[0].Error != err.Error()):
			t.Errorf("failed: errors %+v, want one of step fails.bad: %v", st.Errors, err)
		}
	}
}

// The time in a step's code is measured: every call of a slow step (the sampling of a
// fast one's calls is TestSampledTiming's), so the total comes near the time the step's
// function measured itself.
func TestStatsBusy(t *testing.T) {
	for _, tc := range []struct {
		name    string
		batches int
		each    time.Duration
	}{
		{"slow calls, all timed", 40, 500 * time.Microsecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var items []int
			for i := range tc.batches {
				items = append(items, i)
			}
			var spent time.Duration // by the function itself; one worker
			flow := weir.NewDataflow("busy")
			in := op.Input("inp", flow, weirtest.NewSource(items...))
			spin := op.FlatMapBatch("spin", in, func(xs []int) []int {
				start := time.Now()
				for time.Since(start) < tc.each {
				}
				spent += time.Since(start)
				return xs
			})
			op.Output("out", spin, weirtest.NewSink[int]())
			p, err := plan.New(graph.FlowOf(flow))
			if err != nil {
				t.Fatal(err)
			}
			stats := engine.NewStats()
			if err := engine.Run(engine.WithStats(context.Background(), stats), p, engine.Config{Workers: 1, EpochInterval: time.Second}); err != nil {
				t.Fatal(err)
			}
			for _, s := range stats.Read().Steps {
				if s.ID != "busy.spin" {
					continue
				}
				busy := s.Workers[0].Busy
				if busy < spent*9/10 || busy > spent*3/2 {
					t.Errorf("busy %v, the function measured %v", busy, spent)
				}
			}
		})
	}
}

// A worker publishes its counts before it waits for more to do: while a run goes on, a
// reader sees exactly what went through an idle flow, not the counts of its last
// millisecond of work short.
func TestStatsCountsWhileIdle(t *testing.T) {
	const batches, size = 10, 100
	flow := weir.NewDataflow("idle")
	src := &restingSource{batches: batches, size: size}
	doubled := op.Map("double", op.Input("inp", flow, src), func(x int) int { return 2 * x })
	op.Output("out", doubled, weirtest.NewSink[int]())
	p, err := plan.New(graph.FlowOf(flow))
	if err != nil {
		t.Fatal(err)
	}
	stats := engine.NewStats()
	ctx, cancel := context.WithCancel(engine.WithStats(context.Background(), stats))
	done := make(chan error, 1)
	go func() { done <- engine.Run(ctx, p, engine.Config{Workers: 1, EpochInterval: time.Hour}) }()
	defer func() {
		cancel()
		<-done
	}()
	const n = batches * size
	want := map[string][3]int64{"idle.inp": {n, n, batches}, "idle.double.flat_map_batch": {n, n, batches}, "idle.out": {n, 0, batches}}
	deadline := time.Now().Add(10 * time.Second)
	for {
		st := stats.Read()
		got := map[string][3]int64{}
		for _, s := range st.Steps {
			for _, w := range s.Workers {
				got[s.ID] = [3]int64{w.In, w.Out, w.Batches}
			}
		}
		if maps.Equal(got, want) && st.Running && src.resting.Load() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("in, out, batches by step %v while the flow rests (running %v, resting %v), want %v", got, st.Running, src.resting.Load(), want)
		}
		time.Sleep(time.Millisecond)
	}
}

// restingSource gives batches batches of size ints, then rests an hour.
type restingSource struct {
	batches, size int
	read          int
	resting       atomic.Bool
	wake          time.Time
}

func (s *restingSource) Build(context.Context, source.Part, []byte) (source.Partition[int], error) {
	return s, nil
}
func (s *restingSource) Next(context.Context) ([]int, error) {
	if s.read == s.batches {
		s.wake = time.Now().Add(time.Hour)
		s.resting.Store(true)
		return nil, nil
	}
	s.read++
	return make([]int, s.size), nil
}
func (s *restingSource) NextAwake() time.Time { return s.wake }
func (s *restingSource) Snapshot() []byte     { return nil }
func (s *restingSource) Close() error         { return nil }
