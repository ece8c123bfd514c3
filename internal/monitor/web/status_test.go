package web

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/weirflow/weir/internal/engine"
)

// TestRates checks that rates are the change since the oldest status within the window,
// and averages since the start for a run's first status.
func TestRates(t *testing.T) {
	var r rater
	r.window = 2 * time.Second
	st := twoSteps()
	steps := []struct {
		in, paused int64 // worker 2's items read and ms paused at t0 + i+1 seconds
		rate, bp   float64
	}{
		{in: 100, paused: 0, rate: 100, bp: 0},        // since the start: 100 in 1 s
		{in: 300, paused: 500, rate: 200, bp: 0.5},    // since 1 s
		{in: 600, paused: 500, rate: 250, bp: 0.25},   // since 1 s: 500 in 2 s
		{in: 700, paused: 1500, rate: 200, bp: 0.5},   // since 2 s: the 1 s sample is out of the window
		{in: 700, paused: 2500, rate: 50, bp: 1},      // since 3 s: paused all the time
		{in: 1700, paused: 3000, rate: 500, bp: 0.75}, // since 4 s
	}
	for i, s := range steps {
		st.Steps[0].Workers[0].Out = s.in
		st.Steps[0].Workers[1].Out = 2 * s.in
		st.WorkerStatus[0].Backpressure = time.Duration(s.paused) * time.Millisecond
		got := r.status(st, t0.Add(time.Duration(i+1)*time.Second))
		in := got.Steps[0]
		if !near(in.Workers[0].OutPerSec, s.rate) || !near(in.Workers[1].OutPerSec, 2*s.rate) || !near(in.OutPerSec, 3*s.rate) {
			t.Errorf("at %d s: rates %v, %v, sum %v; want %v, %v, %v", i+1, in.Workers[0].OutPerSec, in.Workers[1].OutPerSec, in.OutPerSec, s.rate, 2*s.rate, 3*s.rate)
		}
		if !near(got.Workers[0].Backpressure, s.bp) || !near(in.Backpressure, s.bp) {
			t.Errorf("at %d s: backpressure %v (input %v), want %v", i+1, got.Workers[0].Backpressure, in.Backpressure, s.bp)
		}
		if got.Workers[0].In != s.in || got.Workers[1].In != 2*s.in || in.Out != 3*s.in {
			t.Errorf("at %d s: totals %d, %d, %d", i+1, got.Workers[0].In, got.Workers[1].In, in.Out)
		}
	}
}

// TestRatesFrequentReaders checks that readers asking more often than every minGap do
// not pile samples up, and still get the rate over the window.
func TestRatesFrequentReaders(t *testing.T) {
	var r rater
	r.window = time.Second
	st := twoSteps()
	for i := 1; i <= 300; i++ {
		st.Steps[0].Workers[0].Out = int64(i) * 10 // 1000 items/s
		got := r.status(st, t0.Add(time.Duration(i)*10*time.Millisecond))
		if !near(got.Steps[0].Workers[0].OutPerSec, 1000) {
			t.Fatalf("at %d: %v items/s, want 1000", i, got.Steps[0].Workers[0].OutPerSec)
		}
	}
	if n := len(r.samples); n > int(time.Second/minGap)+2 {
		t.Errorf("%d samples kept for a window of 1 s", n)
	}
}

// TestRatesNewRun checks that a status of another run's shape starts the samples again.
func TestRatesNewRun(t *testing.T) {
	var r rater
	r.window = 5 * time.Second
	st := twoSteps()
	st.Steps[0].Workers[0].Out = 1000
	r.status(st, t0.Add(time.Second))
	st.Steps = st.Steps[:1]
	st.Started = t0.Add(2 * time.Second)
	st.Steps[0].Workers[0].Out = 10
	got := r.status(st, t0.Add(3*time.Second))
	if w := got.Steps[0].Workers[0].OutPerSec; !near(w, 10) {
		t.Errorf("rate %v, want 10 (since the new run's start)", w)
	}
}

// TestRatesAfterEnd checks that a finished run's rates are those before its end.
func TestRatesAfterEnd(t *testing.T) {
	var r rater
	r.window = 5 * time.Second
	st := twoSteps()
	st.Running, st.Ended = false, t0.Add(2*time.Second)
	st.Steps[0].Workers[0].Out = 400
	got := r.status(st, t0.Add(time.Minute))
	if w := got.Steps[0].Workers[0].OutPerSec; !near(w, 200) {
		t.Errorf("rate %v, want 200 (400 items in the 2 s the run ran)", w)
	}
	if got.State != Finished || got.Ended == nil || !got.Ended.Equal(t0.Add(2*time.Second)) {
		t.Errorf("state %q, ended %v", got.State, got.Ended)
	}
}

// TestSentRates checks the bytes sent to each process and their rates over the window.
func TestSentRates(t *testing.T) {
	var r rater
	r.window = 5 * time.Second
	st := twoSteps()
	st.WorkerStatus[0].SentBytes = []int64{1000, 0}
	st.WorkerStatus[0].Credits = []int64{10, 20, -5, 40}
	got := r.status(st, t0.Add(time.Second))
	w := got.Workers[0]
	if !slices.Equal(w.SentBytes, []int64{1000, 0}) || !slices.Equal(w.SentPerSec, []float64{1000, 0}) || !slices.Equal(w.Credits, []int64{10, 20, -5, 40}) {
		t.Errorf("at 1 s: sent %v, %v/s, credits %v", w.SentBytes, w.SentPerSec, w.Credits)
	}
	st.WorkerStatus[0].SentBytes = []int64{4000, 0}
	got = r.status(st, t0.Add(3*time.Second))
	if w := got.Workers[0]; !slices.Equal(w.SentPerSec, []float64{1500, 0}) {
		t.Errorf("at 3 s: %v/s, want 1500 since the status at 1 s", w.SentPerSec)
	}
	if w := got.Workers[1]; w.SentBytes != nil || w.SentPerSec != nil {
		t.Errorf("worker 3 sent nothing, in one process: %v, %v", w.SentBytes, w.SentPerSec)
	}
}

func TestStatusConversion(t *testing.T) {
	var r rater
	r.window = 5 * time.Second
	st := twoSteps()
	st.Steps = append(st.Steps, engine.StepStatus{ID: "f.count", Kind: "stateful_batch", Workers: []engine.StepWorker{
		{Worker: 2, In: 5, Out: 3, Keys: 7, Timers: 1, HasKeys: true, Busy: 500 * time.Millisecond},
		{Worker: 3, In: 6, Out: 2, Keys: 4, Timers: 0, HasKeys: true, Busy: 250 * time.Millisecond}}})
	st.Steps[0].Workers[1].Lag = []engine.PartitionLag{{Partition: "p0", Behind: 42}}
	st.Steps[1].Workers[0].In = 9
	st.Steps[0].Workers[0].Out = 20
	st.Commits = []engine.CommitRecord{
		{Worker: 2, Epoch: 3, Epochs: 2, Rows: 4, Bytes: 100, Duration: 2 * time.Millisecond, At: t0.Add(time.Second)},
		{Worker: 3, Epoch: 3, Epochs: 1, Rows: 1, Bytes: 10, Duration: time.Millisecond, At: t0.Add(time.Second)},
		{Worker: 2, Epoch: 4, Epochs: 1, Rows: 2, Bytes: 50, Duration: 3 * time.Millisecond, At: t0.Add(2 * time.Second)},
	}
	st.Errors = []engine.ErrorRecord{{Step: "f.count", Error: "weir: step f.count: boom", At: t0},
		{Step: "f.count", Error: "weir: step f.count: boom", At: t0.Add(time.Millisecond)}}
	st.StoreBytes, st.StoreKnown = 4096, true
	got := r.status(st, t0.Add(time.Second))
	if got.Process != 1 || got.Processes != 2 || got.TotalWorkers != 4 || len(got.Workers) != 2 || got.Workers[1].Worker != 3 {
		t.Errorf("process %d of %d, %d workers in all, workers %+v", got.Process, got.Processes, got.TotalWorkers, got.Workers)
	}
	c := got.Steps[2]
	if c.In != 11 || c.Out != 5 || *c.Keys != 11 || *c.Timers != 1 || *c.Workers[0].Keys != 7 || !near(c.Busy, 0.75) {
		t.Errorf("stateful step: %+v", c)
	}
	if in := got.Steps[0]; in.Keys != nil || in.In != in.Out || !near(in.InPerSec, in.OutPerSec) {
		t.Errorf("input: %+v, want the items read as in and out and no keys", in)
	}
	if len(got.Sources) != 1 || got.Sources[0] != (SourceLag{Step: "f.in", Partition: "p0", Worker: 3, Lag: 42}) {
		t.Errorf("sources %+v", got.Sources)
	}
	if got.Workers[0].Out != 9 {
		t.Errorf("worker 2 wrote %d, want 9", got.Workers[0].Out)
	}
	s2 := got.Workers[0].Snapshots
	if len(s2) != 2 || s2[0].Epoch != 3 || s2[1].Epoch != 4 || s2[1].Bytes != 50 || !near(s2[1].DurationSeconds, 0.003) || len(got.Workers[1].Snapshots) != 1 {
		t.Errorf("snapshots %+v, %+v", s2, got.Workers[1].Snapshots)
	}
	if len(got.Errors) != 1 || got.Errors[0] != (ErrorStatus{Time: t0, Step: "f.count", Message: "weir: step f.count: boom", Workers: 2}) {
		t.Errorf("errors %+v", got.Errors)
	}
	if got.StoreBytes == nil || *got.StoreBytes != 4096 {
		t.Errorf("store bytes %v", got.StoreBytes)
	}
}

func TestState(t *testing.T) {
	for _, c := range []struct {
		st   engine.Status
		want string
	}{
		{engine.Status{}, Starting},
		{engine.Status{Started: t0, Running: true}, Running},
		{engine.Status{Started: t0, Ended: t0}, Finished},
		{engine.Status{Started: t0, Ended: t0, Err: "context canceled", Errors: []engine.ErrorRecord{{Error: "context canceled"}}}, Interrupted},
		{engine.Status{Started: t0, Ended: t0, Err: "context deadline exceeded"}, Interrupted},
		{engine.Status{Started: t0, Ended: t0, Err: "weir: step f.x: boom", Errors: []engine.ErrorRecord{{Step: "f.x"}}}, Failed},
		{engine.Status{Started: t0, Ended: t0, Err: "weir: peer lost"}, Failed},
	} {
		if got := state(&c.st); got != c.want {
			t.Errorf("%+v: %s, want %s", c.st, got, c.want)
		}
	}
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

// BenchmarkStatus is the cost of one status of a flow of 30 steps on 8 workers with a
// full commit history: what each viewer's event costs the process once a second.
func BenchmarkStatus(b *testing.B) {
	st := engine.Status{Flow: "f", Processes: 1, Running: true, Started: t0}
	for w := range 8 {
		st.Workers = append(st.Workers, w)
		st.WorkerStatus = append(st.WorkerStatus, engine.WorkerStatus{Worker: w, Credits: make([]int64, 8)})
	}
	for i := range 30 {
		s := engine.StepStatus{ID: fmt.Sprintf("f.step%d", i), Kind: "flat_map_batch"}
		for w := range 8 {
			s.Workers = append(s.Workers, engine.StepWorker{Worker: w, In: 1000, Out: 1000})
		}
		st.Steps = append(st.Steps, s)
	}
	for i := range engine.CommitHistory {
		st.Commits = append(st.Commits, engine.CommitRecord{Worker: i % 8, Epoch: uint64(i)})
	}
	var r rater
	r.window = 5 * time.Second
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := json.Marshal(r.status(st, t0.Add(time.Duration(i)*time.Millisecond))); err != nil {
			b.Fatal(err)
		}
	}
}
