package engine

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/weirflow/weir/internal/comm"
	"github.com/weirflow/weir/internal/graph"
	"github.com/weirflow/weir/internal/keyhash"
	"github.com/weirflow/weir/internal/plan"
	"github.com/weirflow/weir/internal/state"
)

// never is the frontier of a node that will see no more data.
const never = math.MaxUint64

// Config is how a plan is run.
type Config struct {
	Workers       int
	EpochInterval time.Duration
	// Store receives snapshots at each epoch close; nil takes none.
	Store  state.Store
	Logger *slog.Logger
	// RecoveryDir names the Store's directory in the logs; "" for a store in memory.
	RecoveryDir string
	// LogEvery is how often Logger gets a summary of the run's progress; 0 logs none.
	LogEvery time.Duration
	// FlushItems is the size at which an outbound exchange buffer is sent before the end of
	// an activation. Default 1024.
	FlushItems int
	// InFlightBytes bounds the memory (graph.BatchOps.Bytes) queued for any worker, or
	// parked there for a later epoch, before sources pause. Default 64 MiB. A worker that
	// drains slowly lets less queue up: about what it drains in two epoch intervals.
	InFlightBytes int
	// Cluster, when set, makes this process one of several running the plan together over
	// TCP: Workers is then the count per process, and the recovery store is opened from
	// Parts rather than Store.
	Cluster *Cluster
}

// Cluster is this process's place in a cluster of processes.
type Cluster struct {
	Process   int      // this process's index, from 0
	Addresses []string // host:port of every process, by index; this one listens on its own
	// Secret, when set, must be known to every process: each proves it to the others
	// (challenge and HMAC) without sending it.
	Secret []byte
	// TLS, when set, secures the connections: it must hold this process's certificate and
	// the pool of the authority that signed every process's, which each side checks.
	TLS *tls.Config
	// StartupTimeout bounds the wait for the other processes; default 60s.
	StartupTimeout time.Duration
	// HeartbeatTimeout is how long a silent peer is taken for lost; default 10s.
	HeartbeatTimeout time.Duration
	// Parts opens this process's share of the recovery directory; nil for no recovery.
	Parts state.PartOpener
	// CreatePartitions, when positive, is the partition count to create the recovery
	// directory with when no process finds any partition.
	CreatePartitions int
	// DropRemovedSteps and BackupInterval are run's options of the same names.
	DropRemovedSteps bool
	BackupInterval   time.Duration
}

// Run runs p until every input ends, a source aborts, a step fails or ctx is done. It
// returns nil after an abort, the step's error after a failure, and ctx's error when ctx
// ends the run.
//
// Once the execution has started, it logs one line saying so, then one saying how it
// ended (see report.go); a run refused before it starts logs nothing and returns why.
func Run(ctx context.Context, p *plan.Plan, cfg Config) error {
	if cfg.Workers < 1 {
		cfg.Workers = 1
	}
	if cfg.FlushItems <= 0 {
		cfg.FlushItems = 1024
	}
	if cfg.InFlightBytes <= 0 {
		cfg.InFlightBytes = 64 << 20
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	r := &runState{cfg: cfg, plan: p, cancel: cancel, spares: make([]*spares, len(p.Edges)), total: cfg.Workers}
	for i := range r.spares {
		r.spares[i] = &spares{}
	}
	var c *cluster
	if cfg.Cluster != nil {
		var err error
		if c, err = joinCluster(runCtx, r); err != nil {
			return err
		}
		go c.watch(runCtx, r)
	} else {
		r.mesh = comm.NewLocal(cfg.Workers, cfg.InFlightBytes)
	}
	r.stats = make([]counters, r.total)
	for i := range cfg.Workers { // until each has measured how fast it drains
		r.mesh.Report(r.first+i, 0, min(minInFlight, cfg.InFlightBytes))
	}
	if err := r.setup(runCtx, c); err != nil {
		if c != nil {
			err = c.finish(err, false, false)
		}
		return err
	}
	if r.cfg.Store != nil { // in a cluster, setup made it
		r.startTwoPhase()
	}
	began := time.Now()
	r.logStart(ctx)
	stopSummary := func() {}
	if cfg.LogEvery > 0 {
		stop, done := make(chan struct{}), make(chan struct{})
		go func() {
			defer close(done)
			r.summarize(ctx, cfg.LogEvery, stop)
		}()
		stopSummary = func() { close(stop); <-done }
	}
	stopWatch, watchDone := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(watchDone)
		r.watchCalls(runCtx, stopWatch)
	}()

	var wg sync.WaitGroup
	for i := range cfg.Workers {
		wg.Go(func() {
			w := newWorker(r, r.first+i, runCtx)
			if err := w.run(); err != nil {
				r.fail(err)
			}
			// Epochs closed before a failure or an abort are complete: they are written too.
			if w.commits != nil {
				if err := w.commits.close(); err != nil {
					r.fail(err)
				}
			}
		})
	}
	wg.Wait()
	close(stopWatch)
	<-watchDone
	stopSummary() // no summary after the end line
	// The mesh's watcher and the two-phase sinks' goroutine may still fail or abort the
	// run: read its outcome once.
	runErr, aborted := r.outcome()
	if ctx.Err() != nil && errors.Is(runErr, comm.ErrPeerInterrupted) {
		// Stopped too, this process ends by its own interruption, not by the peer's that
		// a call or a store write met first (as the mesh's watcher judges it).
		runErr = nil
	}
	err := ctx.Err()
	switch {
	case runErr != nil:
		err = runErr
	case aborted:
		err = nil
	}
	if c != nil {
		err = c.finish(err, aborted && runErr == nil, ctx.Err() != nil)
	}
	err = r.finishTwoPhase(err)
	r.logEnd(ctx, began, err)
	endStats(ctx, r, err)
	return err
}

// isLocal reports whether worker w runs in this process.
func (r *runState) isLocal(w int) bool { return w >= r.first && w < r.first+r.cfg.Workers }

// setup assigns the partitions of the partitioned inputs and sinks to workers and loads
// what each worker of this process resumes: in one process directly, in a cluster
// together with the other processes (see cluster.go).
func (r *runState) setup(ctx context.Context, c *cluster) (err error) {
	if c == nil {
		if r.shards, err = r.assign(ctx); err != nil {
			return err
		}
		return r.resume()
	}
	if r.shards, err = r.assignCluster(ctx, c); err != nil {
		return err
	}
	if err := r.setupStore(ctx, c); err != nil {
		return err
	}
	if c.parts != nil {
		r.cfg.Store = &clusterStore{Store: c.store, c: c, ctx: ctx}
	}
	return nil
}

// runState is what the workers of one process share: only setup, the mesh and the outcome.
type runState struct {
	cfg    Config
	plan   *plan.Plan
	mesh   comm.Mesh
	first  int            // this process's first worker, numbered across the cluster
	total  int            // workers in the cluster
	shards map[int]*shard // by node index, for partitioned inputs and sinks

	// The epoch this execution starts at, and what each worker resumes: by worker, by
	// node index, the state of each key (stateful steps) or partition (inputs, sinks).
	start     uint64
	states    []map[int]*loaded           // keyed state of stateful steps (loaded.go)
	resumers  []*resumer                  // by worker, while the load goes on
	positions []map[int]map[string][]byte // by partition name, of inputs and sinks
	// spares holds, by edge, batches that receivers are done with, for senders to fill
	// again (spares.go).
	spares []*spares
	// twoPhase commits the epochs of two-phase sinks once the store has them (twophase.go).
	twoPhase twoPhase
	// stats holds each worker's counters, for the periodic summary and the end line.
	stats []counters

	mu      sync.Mutex
	err     error
	aborted bool
	cancel  context.CancelFunc
}

func (r *runState) fail(err error) {
	if errors.Is(err, comm.ErrPeerAborted) {
		// However it reaches this process (the mesh, or a call or exchange that the
		// peer's leaving cut short), a peer's abort stops the run as an abort here does.
		r.abort()
		return
	}
	r.mu.Lock()
	if r.err == nil && !r.aborted {
		r.err = err
	}
	r.mu.Unlock()
	r.cancel()
}

// outcome returns the error that stopped the run, or whether it was aborted.
func (r *runState) outcome() (error, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err, r.aborted
}

func (r *runState) abort() {
	r.mu.Lock()
	if r.err == nil {
		r.aborted = true
	}
	r.mu.Unlock()
	r.cancel()
}

// shard is the assignment of a partitioned input's or sink's partitions to workers.
type shard struct {
	parts []string // sorted
	owner []int    // by partition index
}

// eachSharded lists the partitions of every partitioned input and sink, in plan order.
func (r *runState) eachSharded(ctx context.Context, fn func(n *plan.Node, parts []string)) error {
	for _, n := range r.plan.Nodes {
		if !n.Sharded {
			continue
		}
		var list func(context.Context) ([]string, error)
		if n.Kind == graph.Input {
			list = n.Spec.(*graph.InputSpec).Partitions
		} else {
			list = n.Spec.(*graph.OutputSpec).Partitions
		}
		parts, err := list(ctx)
		if err != nil {
			return &graph.StepError{Step: n.ID, Cause: fmt.Errorf("listing partitions: %w", err)}
		}
		parts = slices.Clone(parts)
		slices.Sort(parts)
		if len(slices.Compact(slices.Clone(parts))) != len(parts) {
			return &graph.StepError{Step: n.ID, Cause: errors.New("duplicate partition names")}
		}
		fn(n, parts)
	}
	return nil
}

// assign gives every partition of the partitioned inputs and sinks to one worker of this
// process (see assignParts).
func (r *runState) assign(ctx context.Context) (map[int]*shard, error) {
	shards := map[int]*shard{}
	var bad error
	err := r.eachSharded(ctx, func(n *plan.Node, parts []string) {
		holders := make(map[string][]int, len(parts))
		for _, part := range parts {
			holders[part] = []int{0}
		}
		s, err := assignParts(n, holders, r.cfg.Workers)
		if err != nil && bad == nil {
			bad = err
		}
		shards[n.Index] = s
	})
	if err != nil {
		return nil, err
	}
	return shards, bad
}

// assignParts gives each partition of node n, listed by the processes holders names, to
// one worker of those processes (workers of each): partitions held by the fewest
// processes first, then by name, each to the least-loaded worker that can reach it. In
// one process every worker holds every partition, so this balances them evenly.
func assignParts(n *plan.Node, holders map[string][]int, workers int) (*shard, error) {
	s := &shard{parts: slices.Sorted(maps.Keys(holders))}
	if n.Kind == graph.Output && len(s.parts) == 0 {
		return nil, &graph.StepError{Step: n.ID, Cause: errors.New("partitioned sink has no partitions")}
	}
	order := slices.Clone(s.parts)
	slices.SortStableFunc(order, func(a, b string) int { return len(holders[a]) - len(holders[b]) })
	index := make(map[string]int, len(s.parts))
	for i, part := range s.parts {
		index[part] = i
	}
	s.owner = make([]int, len(s.parts))
	load := map[int]int{}
	for _, part := range order {
		best := -1
		for _, q := range holders[part] {
			for w := q * workers; w < (q+1)*workers; w++ {
				if best < 0 || load[w] < load[best] {
					best = w
				}
			}
		}
		s.owner[index[part]] = best
		load[best]++
	}
	return s, nil
}

// resume starts a new execution in the store and routes what it loads to the workers that
// own it now: a key to hash(key) % workers, a partition to the worker it is assigned to.
// Routing by the current worker count is what lets a job be rescaled between runs.
func (r *runState) resume() error {
	r.start = 1
	r.initResume()
	if r.cfg.Store == nil {
		return nil
	}
	start, err := r.cfg.Store.Begin(r.total)
	if err != nil {
		return err // the store's errors name the directory
	}
	r.start = start
	byID := map[string]*plan.Node{}
	for _, n := range r.plan.Nodes {
		byID[n.ID] = n
	}
	gone := map[int][]string{}
	var last *plan.Node  // rows come a step at a time: look a step's name up once
	endLoad := raiseGC() // see loadgc.go
	defer endLoad()
	err = r.cfg.Store.Load(func(step, key string, b []byte) error {
		n := last
		if n == nil || n.ID != step {
			var ok bool
			if n, ok = byID[step]; !ok {
				return fmt.Errorf("weir: recovery: the store has state for step %s, which this dataflow does not have", step)
			}
			last = n
		}
		r.route(n, key, b, gone)
		return nil
	})
	r.finishResume(err != nil)
	endLoad()
	if err != nil {
		return err
	}
	if err := r.partitionsChanged(gone); err != nil {
		return err
	}
	// Only a run that will go ahead is recorded: a refused one leaves the store as it was.
	return r.cfg.Store.Start()
}

// initResume makes the maps of what each worker resumes.
func (r *runState) initResume() {
	r.states = make([]map[int]*loaded, r.total)
	r.resumers = make([]*resumer, r.total)
	r.positions = make([]map[int]map[string][]byte, r.total)
	for w := range r.total {
		r.states[w] = map[int]*loaded{}
		r.positions[w] = map[int]map[string][]byte{}
	}
}

// ownerOf is the worker that owns key's state. One worker owns every key, unhashed: a
// resume routes every loaded key through here.
func (r *runState) ownerOf(key string) int {
	if r.total == 1 {
		return 0
	}
	return int(keyhash.Of(key) % uint64(r.total))
}

// route gives a loaded row of node n to the worker of this process that resumes it: a
// stateful step's key to its owner, a partition's position to the worker it is assigned
// to, and records in gone the partitions with a position that n no longer lists.
func (r *runState) route(n *plan.Node, key string, b []byte, gone map[int][]string) {
	var w int
	switch {
	case n.Kind == graph.Stateful:
		w = r.ownerOf(key)
		l := r.states[w][n.Index]
		if l == nil {
			l = &loaded{node: n}
			r.states[w][n.Index] = l
		}
		r.addLoaded(w, l, state.Change{Key: key, State: b})
		return
	case n.Sharded:
		s := r.shards[n.Index]
		i, found := slices.BinarySearch(s.parts, key)
		if !found {
			gone[n.Index] = append(gone[n.Index], key)
			return
		}
		w = s.owner[i]
	default:
		return // dynamic sources and sinks keep no position
	}
	m := r.positions[w][n.Index]
	if m == nil {
		m = map[string][]byte{}
		r.positions[w][n.Index] = m
	}
	m[key] = b
}

// partitionsChanged returns the *state.PartitionsChangedError of the first node with
// stored positions of partitions it no longer lists (gone).
func (r *runState) partitionsChanged(gone map[int][]string) error {
	for _, n := range r.plan.Nodes {
		missing := gone[n.Index]
		if missing == nil {
			continue
		}
		slices.Sort(missing)
		// The partitions listed now that have no position are likely where they went.
		var added []string
		for _, p := range r.shards[n.Index].parts {
			if !positioned(r.positions, n.Index, p) {
				added = append(added, p)
			}
		}
		return &state.PartitionsChangedError{Step: n.ID, Missing: missing, New: added}
	}
	return nil
}

// positioned reports whether some worker resumes partition part of node index.
func positioned(positions []map[int]map[string][]byte, index int, part string) bool {
	for _, byNode := range positions {
		if _, ok := byNode[index][part]; ok {
			return true
		}
	}
	return false
}
