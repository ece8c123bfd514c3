package web

import (
	"context"
	"sync"
	"time"

	"github.com/weirflow/weir/internal/engine"
)

// Version is the version of the JSON of /api/status and /api/events.
const Version = 1

// Status is the JSON of /api/status, and the data of each /api/events event: the run's
// figures as this process sees them. docs/API.md documents every field; fields are only
// ever added, and Version changes if one ever changes meaning.
type Status struct {
	Version   int        `json:"version"`
	Flow      string     `json:"flow"`
	State     string     `json:"state"`
	Started   *time.Time `json:"started,omitempty"`
	Ended     *time.Time `json:"ended,omitempty"`
	Time      time.Time  `json:"time"`
	Resume    uint64     `json:"resume"`
	Process   int        `json:"process"`
	Processes int        `json:"processes"`
	// TotalWorkers counts the workers of every process; Workers are this process's own.
	TotalWorkers int            `json:"total_workers"`
	Workers      []WorkerStatus `json:"workers"`
	Steps        []StepStatus   `json:"steps"`
	Sources      []SourceLag    `json:"sources"`
	Errors       []ErrorStatus  `json:"errors"`
	StoreBytes   *int64         `json:"store_bytes,omitempty"`
}

// The states of Status.State.
const (
	Starting    = "starting"    // the execution has not begun yet
	Running     = "running"     // it runs
	Finished    = "finished"    // every input ended, or a source aborted the run
	Interrupted = "interrupted" // its context ended it (Ctrl-C, SIGTERM)
	Failed      = "failed"      // an error stopped it: see Errors
)

// WorkerStatus is one worker's figures.
type WorkerStatus struct {
	Worker    int    `json:"worker"`
	Epoch     uint64 `json:"epoch"`
	Committed uint64 `json:"committed"`
	// In and Out count the items the worker's inputs read and its sinks received.
	In  int64 `json:"in"`
	Out int64 `json:"out"`
	// Backpressure is the share of the rate window (0 to 1) the worker's sources were
	// paused for want of credit; BackpressureSeconds the whole time since the start.
	Backpressure        float64 `json:"backpressure"`
	BackpressureSeconds float64 `json:"backpressure_seconds"`
	Paused              bool    `json:"paused"`
	InFlightBytes       int64   `json:"in_flight_bytes"`
	ParkedBytes         int64   `json:"parked_bytes"`
	Commits             int64   `json:"commits"`
	CommitBytes         int64   `json:"commit_bytes"`
	// SentBytes is, by process, the bytes (the engine's size estimates) of the batches
	// the worker sent to that process's workers, and SentPerSec the same per second over
	// the window; absent in one process.
	SentBytes  []int64   `json:"sent_bytes,omitempty"`
	SentPerSec []float64 `json:"sent_per_sec,omitempty"`
	// Credits is the worker's credit toward each worker of the run, by worker id, in
	// bytes: what it may still send there before its sources pause (at 0 or below).
	// Absent with one worker.
	Credits []int64 `json:"credits,omitempty"`
	// Snapshots are the worker's latest writes of closed epochs to the store, oldest
	// first; empty without a recovery store.
	Snapshots []Snapshot `json:"snapshots"`
}

// Snapshot is one write of a worker's closed epochs to the recovery store.
type Snapshot struct {
	Epoch           uint64    `json:"epoch"`
	Epochs          int       `json:"epochs"`
	Time            time.Time `json:"time"`
	DurationSeconds float64   `json:"duration_seconds"`
	Bytes           int64     `json:"bytes"`
	Rows            int       `json:"rows"`
}

// StepStatus is one step's figures, summed over this process's workers, with each
// worker's beside them.
type StepStatus struct {
	ID        string `json:"id"`
	Kind      string `json:"kind"`
	FusedInto string `json:"fused_into,omitempty"`
	Rates
	// Backpressure is, for an input, the largest share of the rate window its workers'
	// sources were paused; 0 for other steps, which are never paused themselves.
	Backpressure float64      `json:"backpressure"`
	Keys         *int64       `json:"keys,omitempty"`
	Timers       *int64       `json:"timers,omitempty"`
	Workers      []StepWorker `json:"workers"`
}

// StepWorker is one step's figures on one worker.
type StepWorker struct {
	Worker int `json:"worker"`
	Rates
	Keys   *int64 `json:"keys,omitempty"`
	Timers *int64 `json:"timers,omitempty"`
}

// Rates are a step's totals since the start and its rates over the rate window.
type Rates struct {
	// In counts the items delivered to the step (none for an input), Out those it
	// emitted (for an input, the items it read; none for a sink).
	In      int64 `json:"in"`
	Out     int64 `json:"out"`
	Batches int64 `json:"batches"`
	// InPerSec and OutPerSec are items per second over the rate window; Busy is the share
	// of it spent in the step's own code (its function, its logic, a connector's Next or
	// Write), which may pass 1 when several workers are busy at once.
	InPerSec  float64 `json:"in_per_sec"`
	OutPerSec float64 `json:"out_per_sec"`
	Busy      float64 `json:"busy"`
}

// SourceLag is how far one source partition is behind the end of its source, in the
// source's own unit (records for Kafka, bytes for files).
type SourceLag struct {
	Step      string `json:"step"`
	Partition string `json:"partition"`
	Worker    int    `json:"worker"`
	Lag       int64  `json:"lag"`
}

// ErrorStatus is an error that stopped the run, as the first of this process's workers
// to stop on it reported it.
type ErrorStatus struct {
	Time    time.Time `json:"time"`
	Step    string    `json:"step,omitempty"`
	Message string    `json:"message"`
	Workers int       `json:"workers"` // how many of this process's workers stopped on it
}

// sample is what the rates are computed from: the counters at one time.
type sample struct {
	at     time.Time
	steps  [][]counts // by step, by local worker
	paused []time.Duration
	sent   [][]int64 // by local worker, by process
}

type counts struct {
	in, out int64
	busy    time.Duration
}

// rater keeps the recent samples of a run, from which each status's rates are the
// change since the oldest sample still in the window. Readers record a sample at most
// every minGap, so that many clients polling at once keep few.
type rater struct {
	mu      sync.Mutex
	window  time.Duration
	samples []sample // oldest first
}

const minGap = 200 * time.Millisecond

func sampleOf(st *engine.Status, at time.Time) sample {
	s := sample{at: at, steps: make([][]counts, len(st.Steps)), paused: make([]time.Duration, len(st.WorkerStatus))}
	for i, step := range st.Steps {
		s.steps[i] = make([]counts, len(step.Workers))
		for j, w := range step.Workers {
			s.steps[i][j] = counts{in: w.In, out: w.Out, busy: w.Busy}
			if step.Kind == "input" {
				s.steps[i][j].in = w.Out
			}
		}
	}
	s.sent = make([][]int64, len(st.WorkerStatus))
	for i, w := range st.WorkerStatus {
		s.paused[i] = w.Backpressure
		s.sent[i] = w.SentBytes
	}
	return s
}

// fits says whether s counts the same steps and workers as cur (a new run does not).
func (s *sample) fits(cur *sample) bool {
	if len(s.steps) != len(cur.steps) || len(s.paused) != len(cur.paused) {
		return false
	}
	for i := range s.steps {
		if len(s.steps[i]) != len(cur.steps[i]) {
			return false
		}
	}
	for i := range s.sent {
		if len(s.sent[i]) != len(cur.sent[i]) {
			return false
		}
	}
	return true
}

// base records cur and returns the sample to compute its rates against: the oldest one
// within the window, or, with none before cur, nil (the rates are then the averages
// since the run's start).
func (r *rater) base(cur sample) *sample {
	r.mu.Lock()
	defer r.mu.Unlock()
	if n := len(r.samples); n > 0 && !r.samples[n-1].fits(&cur) {
		r.samples = r.samples[:0]
	}
	cut := 0
	for cut < len(r.samples)-1 && cur.at.Sub(r.samples[cut+1].at) >= r.window {
		cut++ // keep the newest sample at least a window old, and those after it
	}
	r.samples = r.samples[cut:]
	var b *sample
	if len(r.samples) > 0 && cur.at.After(r.samples[0].at) {
		s := r.samples[0]
		b = &s
	}
	if n := len(r.samples); n == 0 || cur.at.Sub(r.samples[n-1].at) >= minGap {
		r.samples = append(r.samples, cur)
	}
	return b
}

// status converts the engine's figures to the JSON's, with the rates over the window.
func (r *rater) status(st engine.Status, now time.Time) Status {
	out := Status{Version: Version, Flow: st.Flow, Time: now.UTC(), Resume: st.Resume, Process: st.Process,
		Processes: st.Processes, TotalWorkers: len(st.Workers), State: state(&st),
		Workers: []WorkerStatus{}, Steps: []StepStatus{}, Sources: []SourceLag{}, Errors: []ErrorStatus{}}
	if !st.Started.IsZero() {
		t := st.Started.UTC()
		out.Started = &t
	}
	if !st.Ended.IsZero() {
		t := st.Ended.UTC()
		out.Ended = &t
	}
	if len(st.WorkerStatus) > 0 && len(st.WorkerStatus[0].Credits) > 0 {
		out.TotalWorkers = len(st.WorkerStatus[0].Credits) // a worker has a credit toward every worker
	}
	if st.StoreKnown {
		b := st.StoreBytes
		out.StoreBytes = &b
	}
	// A finished run's rates are over the window before its end, not after it.
	at := now
	if !st.Ended.IsZero() && st.Ended.Before(now) {
		at = st.Ended
	}
	cur := sampleOf(&st, at)
	base := r.base(cur)
	if base == nil {
		base = &sample{at: st.Started}
	}
	secs := cur.at.Sub(base.at).Seconds()
	per := func(n int64) float64 {
		if secs <= 0 || n <= 0 {
			return 0
		}
		return float64(n) / secs
	}
	share := func(d time.Duration) float64 {
		if secs <= 0 || d <= 0 {
			return 0
		}
		return d.Seconds() / secs
	}
	for i, w := range st.WorkerStatus {
		ws := WorkerStatus{Worker: w.Worker, Epoch: w.Epoch, Committed: w.Committed, Paused: w.Paused,
			BackpressureSeconds: w.Backpressure.Seconds(), InFlightBytes: w.InFlightBytes, ParkedBytes: w.ParkedBytes,
			Commits: w.Commits, CommitBytes: w.CommitBytes, Snapshots: []Snapshot{}}
		prev := time.Duration(0)
		if i < len(base.paused) {
			prev = base.paused[i]
		}
		ws.Backpressure = min(share(w.Backpressure-prev), 1)
		if len(w.SentBytes) > 0 {
			ws.SentBytes = w.SentBytes
			ws.SentPerSec = make([]float64, len(w.SentBytes))
			for p, b := range w.SentBytes {
				if i < len(base.sent) && p < len(base.sent[i]) {
					b -= base.sent[i][p]
				}
				ws.SentPerSec[p] = per(b)
			}
		}
		ws.Credits = w.Credits
		out.Workers = append(out.Workers, ws)
	}
	byWorker := map[int]int{}
	for i, w := range out.Workers {
		byWorker[w.Worker] = i
	}
	for _, c := range st.Commits {
		if i, ok := byWorker[c.Worker]; ok {
			out.Workers[i].Snapshots = append(out.Workers[i].Snapshots, Snapshot{Epoch: c.Epoch, Epochs: c.Epochs,
				Time: c.At.UTC(), DurationSeconds: c.Duration.Seconds(), Bytes: c.Bytes, Rows: c.Rows})
		}
	}
	for i, s := range st.Steps {
		ss := StepStatus{ID: s.ID, Kind: s.Kind, FusedInto: s.FusedInto, Workers: []StepWorker{}}
		var keys, timers int64
		hasKeys := false
		for j, w := range s.Workers {
			if s.Kind == "input" {
				w.In = w.Out // what an input receives is what it reads, whether or not the engine counts it
			}
			var b counts
			if i < len(base.steps) && j < len(base.steps[i]) {
				b = base.steps[i][j]
			}
			sw := StepWorker{Worker: w.Worker, Rates: Rates{In: w.In, Out: w.Out, Batches: w.Batches,
				InPerSec: per(w.In - b.in), OutPerSec: per(w.Out - b.out), Busy: share(w.Busy - b.busy)}}
			if w.HasKeys {
				k, t := w.Keys, w.Timers
				sw.Keys, sw.Timers = &k, &t
				keys += k
				timers += t
				hasKeys = true
			}
			ss.In += sw.In
			ss.Out += sw.Out
			ss.Batches += sw.Batches
			ss.InPerSec += sw.InPerSec
			ss.OutPerSec += sw.OutPerSec
			ss.Busy += sw.Busy
			ss.Workers = append(ss.Workers, sw)
			if s.Kind == "input" && j < len(out.Workers) {
				out.Workers[j].In += w.Out
				ss.Backpressure = max(ss.Backpressure, out.Workers[j].Backpressure)
			}
			if s.Kind == "output" && j < len(out.Workers) {
				out.Workers[j].Out += w.In
			}
			for _, l := range w.Lag {
				out.Sources = append(out.Sources, SourceLag{Step: s.ID, Partition: l.Partition, Worker: w.Worker, Lag: l.Behind})
			}
		}
		if hasKeys {
			ss.Keys, ss.Timers = &keys, &timers
		}
		out.Steps = append(out.Steps, ss)
	}
	// Each worker that stops on an error reports it: one entry per error, with the
	// number of workers that reported it.
	seen := map[[2]string]int{}
	for _, e := range st.Errors {
		k := [2]string{e.Step, e.Error}
		if i, ok := seen[k]; ok {
			out.Errors[i].Workers++
			continue
		}
		seen[k] = len(out.Errors)
		out.Errors = append(out.Errors, ErrorStatus{Time: e.At.UTC(), Step: e.Step, Message: e.Error, Workers: 1})
	}
	return out
}

// state names where the run is. A run stopped by its context (Ctrl-C, SIGTERM) ends with
// the context's error, which no step or store caused; the engine keeps errors as text.
func state(st *engine.Status) string {
	switch {
	case st.Started.IsZero():
		return Starting
	case st.Running:
		return Running
	case st.Err == "":
		return Finished
	case st.Err == context.Canceled.Error() || st.Err == context.DeadlineExceeded.Error():
		return Interrupted
	}
	return Failed
}
