package engine

import (
	"context"
	"math/bits"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/weirflow/weir/internal/graph"
	"github.com/weirflow/weir/internal/plan"
)

// Stats publishes a run's live figures to readers on other goroutines (the monitor's
// HTTP server, scraped by Prometheus): give one to Run with WithStats, and call Read
// whenever a reader wants the figures. The workers count once per batch and never per
// item, and publish their counts into per-worker atomic counters at most flushEvery later
// (at once when they wait or stop), padded apart so that a worker's writes do not bounce
// another's cache lines; Read sums nothing on the workers' behalf and takes no lock they
// take, so a scrape costs the workers nothing.
//
// A Stats may be read before its run starts (Read says so) and after it ends (the final
// figures stay). It describes one run: give each run its own.
type Stats struct {
	mu      sync.Mutex
	r       *runState // nil until Run has set the run up
	o       *obs
	started time.Time
	ended   time.Time
	err     string
	live    int // workers still running
}

// NewStats returns a Stats for one run.
func NewStats() *Stats { return &Stats{} }

type statsKey struct{}

// StatsFrom returns the Stats that ctx makes a run publish its figures in (WithStats), or
// nil: so that the monitor and run.Main's progress line read one Stats.
func StatsFrom(ctx context.Context) *Stats {
	s, _ := ctx.Value(statsKey{}).(*Stats)
	return s
}

// WithStats returns a context that makes Run publish its figures in s. Without it a run
// still counts (the counts cost too little to be worth a branch) but does not time user
// code, and nobody reads the counts.
func WithStats(ctx context.Context, s *Stats) context.Context {
	return context.WithValue(ctx, statsKey{}, s)
}

// Status is what Stats.Read returns: the run's figures at one moment. Totals count from
// the start of this execution (a resumed run starts again from 0).
type Status struct {
	Flow      string
	Process   int   // this process's index in its cluster; 0 alone
	Processes int   // processes in the cluster; 1 alone
	Workers   []int // the ids of this process's workers, numbered across the cluster
	// Running is true from the start of the execution until it ends; Started and Ended
	// are its times (zero before).
	Running        bool
	Started, Ended time.Time
	// Err is how the run ended when it failed, "" otherwise.
	Err string
	// Resume is the epoch this execution started at (1 for a fresh start).
	Resume uint64
	// Steps are the plan's steps in plan order, each with its figures on each of this
	// process's workers (in Workers order).
	Steps []StepStatus
	// WorkerStatus is each of this process's workers' own figures, in Workers order.
	WorkerStatus []WorkerStatus
	// Commits is the history of the latest writes to the store (at most CommitHistory),
	// oldest first; empty without a store.
	Commits []CommitRecord
	// Errors are the errors that stopped the run (a step's failure names its step).
	Errors []ErrorRecord
	// StoreBytes is the recovery store's size on disk, when the store can tell (StoreKnown).
	StoreBytes int64
	StoreKnown bool
}

// StepStatus is one step's figures on each of this process's workers.
type StepStatus struct {
	ID   string // the step's full id, "flow.scope.step"
	Kind string // its primitive: input, output, flat_map_batch, stateful_batch...
	// FusedInto names the step whose loop runs this one's function (a chain of op.Map
	// steps runs in its first step): such a step's items are the chain's, as each of its
	// functions maps one item to one.
	FusedInto string
	Workers   []StepWorker
}

// StepWorker is one step's figures on one worker.
type StepWorker struct {
	Worker int
	// In counts the items delivered to the step, Out the items it emitted to its
	// consumers, and Batches the batches it ran on. For an input, In and Out are both the
	// items it read, and Batches the batches it read; a sink emits none (In is what it
	// wrote).
	In, Out, Batches int64
	// BatchSizes counts the batches by their item count, in powers of two: BatchSizes[i]
	// counts those of at most BatchSizeBound(i) items (and more than the bound before).
	BatchSizes [BatchSizeBuckets]int64
	// Busy is the time spent in the step's own code: the user's function, the keyed
	// logic, the connector's Next or Write. It is measured per batch, not per item, and
	// estimated from a sample of the batches when they are short (see worker.timer).
	Busy time.Duration
	// Keys and Timers are a stateful step's keys held and notifications pending on this
	// worker, as of its last activation; HasKeys is false for other steps.
	Keys, Timers int64
	HasKeys      bool
	// Lag is, for an input, each of its partitions on this worker that knows how far it is
	// behind the end of its source (source.Lagger), in partition order.
	Lag []PartitionLag
	// Unsized counts, for an input, its partitions on this worker that do not know their
	// lag or their whole size (source.Sizer): with any, the input's progress is unknown.
	Unsized int
}

// PartitionLag is how far one source partition is behind the end of its source: records
// for Kafka, bytes for files (the source's own unit).
type PartitionLag struct {
	Partition string
	Behind    int64
	// Size is the partition's whole size in Behind's unit, for a bounded source that
	// knows it (source.Sizer: files, slices); 0 when it does not.
	Size int64
}

// WorkerStatus is one worker's own figures.
type WorkerStatus struct {
	Worker int
	// Epoch is the epoch the worker's inputs are in; Committed the last epoch its
	// committer has written (0 before its first write, or without a store).
	Epoch, Committed uint64
	// InFlightBytes is the data waiting for the worker: queued for it and parked for a
	// later epoch (ParkedBytes). LimitBytes is the load it lets others queue for it.
	InFlightBytes, ParkedBytes, LimitBytes int64
	// Backpressure is the time the worker's sources were paused because its credit toward
	// some worker was used up; Paused says they are paused now. Credits is its credit
	// toward every worker of the cluster, by worker id, in bytes (at most 0 pauses it).
	Backpressure time.Duration
	Paused       bool
	Credits      []int64
	// SentBytes is, by process, the bytes (the engine's size estimates) of the batches
	// the worker sent to that process's workers; nil in one process.
	SentBytes []int64
	// Snapshot is the time taken to snapshot each epoch's state (the steps' Snapshot
	// calls), and Commit each write to the store (one write may hold several epochs).
	Snapshot, Commit Histogram
	// Commits counts the store writes, and CommitBytes the bytes of keys and states they
	// held.
	Commits, CommitBytes int64
}

// CommitRecord is one write of a worker's closed epochs to the store.
type CommitRecord struct {
	Worker   int
	Epoch    uint64 // the last epoch written
	Epochs   int    // how many epochs the write held
	Rows     int
	Bytes    int64
	Duration time.Duration
	At       time.Time // when the write completed
}

// ErrorRecord is an error that stopped the run.
type ErrorRecord struct {
	Step  string // "" when no step is to blame (the store, a peer)
	Error string
	At    time.Time
}

// CommitHistory is how many of the latest commits Status holds.
const CommitHistory = 64

// BatchSizeBuckets is the number of batch-size buckets: 1, 2, 4, ... 2^16 items and
// more.
const BatchSizeBuckets = 18

// BatchSizeBound is the largest item count that bucket i of StepWorker.BatchSizes counts;
// the last bucket has no bound (-1).
func BatchSizeBound(i int) int64 {
	if i >= BatchSizeBuckets-1 {
		return -1
	}
	return 1 << i
}

// durationBounds are the bounds, in seconds, of the snapshot and commit histograms: from
// 100 µs to 60 s, about three to a decade.
var durationBounds = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}

// Histogram is a distribution of durations in seconds, as Prometheus's: Counts[i] counts
// the observations of at most Bounds[i] (not cumulative), the last one those above every
// bound.
type Histogram struct {
	Bounds []float64
	Counts []uint64 // len(Bounds)+1
	Count  uint64
	Sum    float64
}

// histogram is a Histogram written by one goroutine and read by others.
type histogram struct {
	counts [19]atomic.Uint64 // len(durationBounds)+1
	sum    atomic.Int64      // nanoseconds
}

func (h *histogram) observe(d time.Duration) {
	s := d.Seconds()
	i, _ := slices.BinarySearch(durationBounds, s)
	h.counts[i].Add(1)
	h.sum.Add(int64(d))
}

func (h *histogram) read() Histogram {
	out := Histogram{Bounds: durationBounds, Counts: make([]uint64, len(h.counts))}
	for i := range h.counts {
		out.Counts[i] = h.counts[i].Load()
		out.Count += out.Counts[i]
	}
	out.Sum = time.Duration(h.sum.Load()).Seconds()
	return out
}

// stepCounters are one step's counters on one worker, padded to whole cache lines: a
// worker's are one array, allocated beside the other workers' (newObs), and the
// allocator places an array of a size that is a multiple of 64 bytes on a line boundary,
// while one of 208 or 416 bytes (a plan of one or two steps, unpadded) shared its first
// or last line with the next worker's (TestCountersApart).
type stepCounters struct {
	stepCounts
	_ [(cacheLine - unsafe.Sizeof(stepCounts{})%cacheLine) % cacheLine]byte
}

// cacheLine is the size of the cache lines that the workers' counters are kept apart by.
const cacheLine = 64

// stepCounts are the counters of stepCounters.
type stepCounts struct {
	in, out      atomic.Int64
	busy         atomic.Int64 // nanoseconds
	keys, timers atomic.Int64
	sizes        [BatchSizeBuckets]atomic.Int64 // whose sum is the number of batches
	// Counted by the worker and not yet added to in, out and sizes (see flushCounts); the
	// worker's alone.
	pending pendingCounts
	// The sampling of the step's calls to time (see worker.timer); the worker's alone.
	skip    int     // calls to let go untimed before the next timed one
	untimed int64   // calls not timed since the last timed one
	mean    float64 // the time of a timed call, smoothed, in nanoseconds
}

// pendingCounts are a step's counts that its worker has not published yet.
type pendingCounts struct {
	in, out int64
	sizes   [BatchSizeBuckets]int64
}

// batch counts a batch of n items delivered to the step (a counter of batches would be a
// third count; their number is the sum of the sizes' buckets), for the worker to publish.
func (c *stepCounters) batch(n int) {
	c.pending.in += int64(n)
	c.pending.sizes[sizeBucket(n)]++
}

// emitted counts n items the step passed on, for the worker to publish.
func (c *stepCounters) emitted(n int) { c.pending.out += int64(n) }

// flushEvery is how long a busy worker keeps its counts before it publishes them. An
// atomic addition costs about 5 ns on the development machine, and each batch was counted
// by several per step it went through (a step's items in, out and batch size, the run's
// items in and out): on batches of 16, the engine's time per batch of a chain of three
// maps went from 152-165 ns to 125-128 with the counts kept by the worker and published
// at most once a millisecond (BenchmarkChainSmallBatches).
const flushEvery = time.Millisecond

// flushCounts publishes the counts the worker has kept since it last did: at most
// flushEvery after them while it is busy, before it waits for more to do, and when it
// stops. Readers (Stats, the run's progress and end logs) see a busy worker's counts up
// to flushEvery late, and an idle or stopped one's exactly.
func (w *worker) flushCounts() {
	for i := range w.obs.steps {
		c := &w.obs.steps[i]
		p := &c.pending
		if p.in != 0 {
			c.in.Add(p.in)
		}
		for b, n := range p.sizes {
			if n != 0 {
				c.sizes[b].Add(n)
			}
		}
		if p.out != 0 {
			c.out.Add(p.out)
		}
		*p = pendingCounts{}
	}
	st := &w.r.stats[w.id]
	if w.readIn != 0 {
		st.in.Add(w.readIn)
	}
	if w.wroteOut != 0 {
		st.out.Add(w.wroteOut)
	}
	w.readIn, w.wroteOut, w.flushed = 0, 0, w.now
}

// sizeBucket is the BatchSizes bucket of a batch of n items.
func sizeBucket(n int) int {
	if n <= 1 {
		return 0
	}
	return min(bits.Len(uint(n-1)), BatchSizeBuckets-1)
}

// workerStats are one worker's counters for Stats, written by the worker (and its
// committer) and read by Stats.Read.
type workerStats struct {
	steps  []stepCounters // by node index
	clock  atomic.Uint64  // the epoch the worker's inputs are in
	parked atomic.Int64
	limit  atomic.Int64
	paused atomic.Int64 // nanoseconds of paused sources, before pausedAt
	// pausedAt is when the sources paused (Unix ns), 0 while they are not.
	pausedAt atomic.Int64
	sent     []atomic.Int64 // by process

	snapshot, commit     histogram
	commits, commitBytes atomic.Int64

	mu   sync.Mutex // guards lags, which partitions add as they open
	lags []lagger

	// For the sampling of calls of user code to time (see worker.timer): the clock
	// (time.Now but in tests) and the state of a xorshift generator; the worker's alone.
	now func() time.Time
	rng uint64

	_ [64]byte // keeps the next worker's counters off this one's cache line
}

// lagger is a source partition that knows its lag.
type lagger struct {
	step      int // node index
	partition string
	lag       func() (int64, bool)
	size      func() (int64, bool) // nil for a partition that cannot tell
}

// obs is the figures of a run's workers and what Stats reads beside them.
type obs struct {
	workers []*workerStats // by local worker

	mu      sync.Mutex // guards commits and errors
	commits []CommitRecord
	errs    []ErrorRecord
}

func newObs(r *runState) *obs {
	o := &obs{workers: make([]*workerStats, r.cfg.Workers)}
	for i := range o.workers {
		o.workers[i] = newWorkerStats(r)
	}
	return o
}

func newWorkerStats(r *runState) *workerStats {
	ws := &workerStats{steps: make([]stepCounters, len(r.plan.Nodes)), now: time.Now, rng: 0x9e3779b97f4a7c15}
	if c := r.cfg.Cluster; c != nil && len(c.Addresses) > 1 {
		ws.sent = make([]atomic.Int64, len(c.Addresses))
	}
	return ws
}

// observer returns the counters of worker id, which is starting, and whether to time user
// code: those of the Stats that ctx carries (WithStats), which the first worker to start
// binds to the run, or counters of its own that nobody reads.
func observer(ctx context.Context, r *runState, id int) (*workerStats, *Stats) {
	s, _ := ctx.Value(statsKey{}).(*Stats)
	if s == nil {
		return newWorkerStats(r), nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.r == nil {
		s.r, s.o, s.started, s.live = r, newObs(r), time.Now(), r.cfg.Workers
	}
	if s.r != r { // a Stats given to a second run: it describes the first
		return newWorkerStats(r), nil
	}
	return s.o.workers[id-r.first], s
}

// stopped records that one of the run's workers has returned; the run has ended when
// every one has.
func (s *Stats) stopped(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		if s.err == "" {
			s.err = err.Error()
		}
		s.o.failed(err)
	}
	if s.live--; s.live == 0 {
		s.ended = time.Now()
	}
}

func (o *obs) commit(c CommitRecord) {
	o.mu.Lock()
	if len(o.commits) == CommitHistory {
		o.commits = slices.Delete(o.commits, 0, 1)
	}
	o.commits = append(o.commits, c)
	o.mu.Unlock()
}

func (o *obs) failed(err error) {
	rec := ErrorRecord{Error: err.Error(), At: time.Now()}
	if se, ok := err.(*graph.StepError); ok {
		rec.Step = se.Step
	}
	o.mu.Lock()
	o.errs = append(o.errs, rec)
	o.mu.Unlock()
}

// Read returns the run's figures now. Before the run has started it returns a Status
// with no steps.
func (s *Stats) Read() Status {
	s.mu.Lock()
	r, o, st := s.r, s.o, Status{Started: s.started, Ended: s.ended, Err: s.err, Processes: 1}
	s.mu.Unlock()
	st.Running = !st.Started.IsZero() && st.Ended.IsZero()
	if r == nil {
		return st
	}
	st.Flow, st.Resume = r.plan.Flow, r.start
	if c := r.cfg.Cluster; c != nil {
		st.Process, st.Processes = c.Process, len(c.Addresses)
	}
	for i := range r.cfg.Workers {
		st.Workers = append(st.Workers, r.first+i)
	}
	now := time.Now()
	st.Steps = make([]StepStatus, len(r.plan.Nodes))
	for _, n := range r.plan.Nodes {
		ss := &st.Steps[n.Index]
		ss.ID, ss.Kind = n.ID, n.Kind.String()
		if n.FusedInto != nil {
			ss.FusedInto = n.FusedInto.ID
		}
		for i, ws := range o.workers {
			ss.Workers = append(ss.Workers, readStep(r.plan, n, ws, r.first+i))
		}
	}
	for i, ws := range o.workers {
		w := r.first + i
		st.WorkerStatus = append(st.WorkerStatus, readWorker(r, ws, w, now))
		ws.mu.Lock()
		lags := slices.Clone(ws.lags)
		ws.mu.Unlock()
		for _, l := range lags {
			sw := &st.Steps[l.step].Workers[i]
			b, ok := l.lag()
			if !ok {
				sw.Unsized++
				continue
			}
			pl, sized := PartitionLag{Partition: l.partition, Behind: b}, false
			if l.size != nil {
				pl.Size, sized = l.size()
			}
			if !sized {
				sw.Unsized++
			}
			sw.Lag = append(sw.Lag, pl)
		}
	}
	o.mu.Lock()
	st.Commits = slices.Clone(o.commits)
	st.Errors = slices.Clone(o.errs)
	o.mu.Unlock()
	if sz, ok := r.cfg.Store.(storeSizer); ok {
		st.StoreBytes, st.StoreKnown = sz.Size()
	}
	return st
}

// storeSizer is a store that can tell its size on disk.
type storeSizer interface {
	Size() (int64, bool)
}

// readStep reads node n's counters on worker w. A step fused into a chain runs no batch
// of its own: it shows the chain's first step's items, each function of the chain mapping
// one item to one.
func readStep(p *plan.Plan, n *plan.Node, ws *workerStats, w int) StepWorker {
	head := n
	if n.FusedInto != nil {
		head = n.FusedInto
	}
	c := &ws.steps[head.Index]
	sw := StepWorker{Worker: w, In: c.in.Load(), Out: c.out.Load()}
	for i := range sw.BatchSizes {
		sw.BatchSizes[i] = c.sizes[i].Load()
		sw.Batches += sw.BatchSizes[i]
	}
	switch {
	case n.FusedInto != nil:
		sw.Out, sw.Busy = sw.In, 0 // the chain's time is its first step's
	case n.Emit != nil && n.Emit != n:
		sw.Out = sw.In // the chain's first step: its own output never leaves the loop
		sw.Busy = time.Duration(c.busy.Load())
	default:
		sw.Busy = time.Duration(c.busy.Load())
	}
	if n.Kind == graph.Stateful {
		sw.Keys, sw.Timers, sw.HasKeys = c.keys.Load(), c.timers.Load(), true
	}
	return sw
}

func readWorker(r *runState, ws *workerStats, w int, now time.Time) WorkerStatus {
	st := WorkerStatus{Worker: w, Epoch: ws.clock.Load(), ParkedBytes: ws.parked.Load(), LimitBytes: ws.limit.Load(),
		Snapshot: ws.snapshot.read(), Commit: ws.commit.read(), Commits: ws.commits.Load(), CommitBytes: ws.commitBytes.Load()}
	st.Backpressure, st.Paused = ws.readPaused(now)
	if f := r.stats[w].written.Load(); f > 0 {
		st.Committed = f - 1
	}
	// The worker's own load: the load it accepts less its credit toward itself.
	st.InFlightBytes = max(st.LimitBytes-int64(r.mesh.Credit(w, w)), st.ParkedBytes)
	if r.total > 1 {
		st.Credits = make([]int64, r.total)
		for d := range r.total {
			st.Credits[d] = int64(r.mesh.Credit(w, d))
		}
	}
	for p := range ws.sent {
		st.SentBytes = append(st.SentBytes, ws.sent[p].Load())
	}
	return st
}

// The worker's side of Stats: what it publishes once per round, and the timing of user
// code, once per batch.

// pausing notes whether the worker's sources are paused (congested) this round, for the
// time held back by backpressure.
func (w *worker) pausing(congested bool) {
	if congested == w.paused {
		return
	}
	w.paused = congested
	now := w.now.UnixNano()
	if congested {
		w.obs.pausedAt.Store(now)
		return
	}
	// Cleared before the total grows, so that a reader who sees the time it paused at
	// twice knows the total does not hold that pause yet (see readPaused).
	at := w.obs.pausedAt.Swap(0)
	w.obs.paused.Add(max(now-at, 0))
}

// readPaused is the time ws's sources have been paused, the current pause included.
func (ws *workerStats) readPaused(now time.Time) (time.Duration, bool) {
	for {
		at := ws.pausedAt.Load()
		total := ws.paused.Load()
		if ws.pausedAt.Load() != at {
			continue // the pause ended meanwhile
		}
		if at == 0 {
			return time.Duration(total), false
		}
		return time.Duration(total + max(now.UnixNano()-at, 0)), true
	}
}

// publish publishes, once per round, what only the worker's goroutine may read: its epoch
// and its load.
//
// It runs every round, which for a busy source is every batch; the figures seldom change
// between rounds, and a load that finds the figure unchanged costs far less than an atomic
// store (an exchange of memory on amd64).
func (w *worker) publish() {
	if w.now.Sub(w.flushed) >= flushEvery {
		w.flushCounts()
	}
	if e := w.prog.epoch(); w.obs.clock.Load() != e {
		w.obs.clock.Store(e)
	}
	if held := int64(w.load.held); w.obs.parked.Load() != held {
		w.obs.parked.Store(held)
	}
	if limit := int64(w.limit); w.obs.limit.Load() != limit {
		w.obs.limit.Store(limit)
	}
}

// Timing user code. Reading the clock is not free: on the development machine, a virtual
// machine, time.Now and time.Since cost 0.3-0.6 µs together, which for a step that maps a
// batch of 1024 ints in 3 µs is a sixth more. So each step's calls are timed at random,
// about one in sampleEvery, and each timed call stands for itself and the calls of its
// step not timed since its last timed one (an estimate without bias); a step whose calls
// take at least timeEveryCall on average, of which two clock reads are a small share, has
// every call timed.
const (
	sampleEvery   = 32
	timeEveryCall = 32 * time.Microsecond
)

// timer returns the time the code of node i about to run starts, or the zero time when
// the worker does not time this call (no Stats reads it, or the sample passes it by).
func (w *worker) timer(i int) time.Time {
	if w.stats == nil {
		return time.Time{}
	}
	return w.obs.start(i)
}

// spent adds the time since start to node i's time in its code; a zero start is a call
// not timed.
func (w *worker) spent(i int, start time.Time) {
	if w.stats != nil {
		w.obs.spent(i, start)
	}
}

func (ws *workerStats) start(i int) time.Time {
	c := &ws.steps[i]
	if c.skip > 0 {
		c.skip--
		return time.Time{}
	}
	return ws.now()
}

func (ws *workerStats) spent(i int, start time.Time) {
	c := &ws.steps[i]
	if start.IsZero() {
		c.untimed++
		return
	}
	d := ws.now().Sub(start)
	c.busy.Add(int64(d) * (c.untimed + 1))
	c.untimed = 0
	if c.mean == 0 {
		c.mean = float64(d)
	} else {
		c.mean += (float64(d) - c.mean) / 4
	}
	if c.mean < float64(timeEveryCall) {
		// The next timed call is 1 to 2*sampleEvery-1 calls away, sampleEvery on average.
		ws.rng ^= ws.rng << 13
		ws.rng ^= ws.rng >> 7
		ws.rng ^= ws.rng << 17
		c.skip = int(ws.rng % (2*sampleEvery - 1))
	}
}

// snapTimer and snapDone time a snapshot, for the worker's snapshot histogram.
func (w *worker) snapTimer() time.Time {
	if w.stats == nil || w.r.cfg.Store == nil {
		return time.Time{}
	}
	return time.Now()
}

func (w *worker) snapDone(start time.Time) {
	if !start.IsZero() {
		w.snapping += time.Since(start)
	}
}

// heldCounter is a stateful runtime that can tell, cheaply, the keys it holds and the
// notifications pending (the keyed runtime can).
type heldCounter interface {
	Held() (keys, timers int)
}

// publishHeld publishes a stateful step's keys and timers after an activation, when its runtime
// can tell.
func (s *stateful) publishHeld() {
	if s.sizes != nil {
		keys, timers := s.sizes.Held()
		c := &s.w.obs.steps[s.Index]
		c.keys.Store(int64(keys))
		c.timers.Store(int64(timers))
	}
}

// lagging is a source partition that may know how far it is behind the end of its source
// (source.Lagger, which package op's partitions pass on).
type lagging interface {
	Lag() (behind int64, ok bool)
}

// sizing is a source partition that may know its whole size (source.Sizer, which package
// op's partitions pass on), in the unit of its lag.
type sizing interface {
	Size() (total int64, ok bool)
}

// addLag registers a partition of node step whose lag, and size when size is not nil,
// Stats reads.
func (ws *workerStats) addLag(step int, partition string, lag, size func() (int64, bool)) {
	ws.mu.Lock()
	ws.lags = append(ws.lags, lagger{step: step, partition: partition, lag: lag, size: size})
	ws.mu.Unlock()
}
