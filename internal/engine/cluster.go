package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/weirflow/weir/internal/comm"
	"github.com/weirflow/weir/internal/graph"
	"github.com/weirflow/weir/internal/plan"
	"github.com/weirflow/weir/internal/state"
)

// A cluster runs one plan on several processes. Each runs Config.Workers workers,
// numbered across the cluster (process p has p*Workers to p*Workers+Workers-1), joined by
// a TCP mesh (comm.Join) that carries batches, progress markers and credit between them,
// and the setup below. Keys and partitions are owned by global workers, so everything
// above the mesh is as in one process: a worker's loop does not know where its peers are.
//
// Setup goes in lock step, each step an all-to-all exchange whose payload may carry an
// error instead, so that a process that is refused (its partitions are damaged, its
// store holds another dataflow's state) stops every process with the reason:
//
//  1. partitions of the partitioned inputs and sinks, as each process lists them; each
//     goes to a worker of a process that listed it (files on one machine's disk are read
//     there);
//  2. the recovery directory: which partition files each process finds, who holds each
//     (exactly once between them), then what each partition says of the last execution,
//     from which every process computes the same resume epoch;
//  3. the loaded state and positions, routed to the processes of the workers that own
//     them now (positions go to every process, which all check them against the
//     partitions listed now).
//
// Snapshots: a worker's commit writes the rows of each partition at the process that
// holds it (a call over the mesh) and its frontier to every partition, so that an epoch
// is committed once every partition has every worker's frontier past it, as in one
// process.

// Tags of the setup exchanges, used once each in this order.
const (
	tagParts uint32 = 1 + iota
	tagFound
	tagCreated
	tagFoundAgain
	tagOpened
	tagViews
	tagRows
	tagDone // the end of a clean run: every process's committers are done
)

// cluster is this process's side of a cluster run.
type cluster struct {
	mesh    *comm.TCP
	process int
	procs   int
	workers int // per process

	// The recovery directory's share this process holds, nil without recovery.
	parts   state.Parts
	store   state.Store // parts, checking the loaded steps
	holder  []int       // by partition: the process that holds it
	started chan struct{}
	// written records another process's worker's frontier, written at every process.
	written func(worker int, frontier uint64, final bool)
	stopGC  func() error
	backup  time.Duration
}

// fingerprint identifies the dataflow a process runs: its steps, their kinds and item
// types, and its edges with their exchanges. Processes of one cluster must agree on it.
func fingerprint(p *plan.Plan) string {
	h := sha256.New()
	for _, n := range p.Nodes {
		fmt.Fprintf(h, "node %s %v %T\n", n.ID, n.Kind, n.Batch)
	}
	for _, e := range p.Edges {
		fmt.Fprintf(h, "edge %s:%d %s:%d %d\n", e.From.ID, e.Port, e.To.ID, e.In, e.Exchange)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// joinCluster joins the cluster cfg.Cluster describes and makes its mesh r's.
func joinCluster(ctx context.Context, r *runState) (*cluster, error) {
	cc := r.cfg.Cluster
	if cc.Process < 0 || cc.Process >= len(cc.Addresses) {
		return nil, fmt.Errorf("weir: cluster: process id %d is not among the %d addresses", cc.Process, len(cc.Addresses))
	}
	codecs := make([]comm.Codec, len(r.plan.Edges))
	names := make([]string, len(r.plan.Edges))
	for _, e := range r.plan.Edges {
		names[e.ID] = e.From.ID + " -> " + e.To.ID
		if e.Exchange != plan.Local {
			codecs[e.ID] = e.To.Batch
		}
	}
	mesh, err := comm.Join(ctx, comm.ClusterConfig{
		Process: cc.Process, Addresses: cc.Addresses, Workers: r.cfg.Workers,
		Fingerprint: fingerprint(r.plan), Secret: cc.Secret, TLS: cc.TLS,
		StartupTimeout: cc.StartupTimeout, HeartbeatTimeout: cc.HeartbeatTimeout,
		Limit: r.cfg.InFlightBytes, Initial: min(minInFlight, r.cfg.InFlightBytes),
		Codecs: codecs, EdgeNames: names, Logger: r.cfg.Logger,
	})
	if err != nil {
		return nil, err
	}
	c := &cluster{mesh: mesh, process: cc.Process, procs: len(cc.Addresses), workers: r.cfg.Workers,
		started: make(chan struct{})}
	c.written = func(worker int, frontier uint64, final bool) {
		s := &r.stats[worker]
		if frontier > s.written.Load() {
			s.final.Store(final)
			s.written.Store(frontier)
		}
		r.twoPhase.poke()
	}
	mesh.Handle(c.serve)
	r.mesh = mesh
	r.first = cc.Process * r.cfg.Workers
	r.total = len(cc.Addresses) * r.cfg.Workers
	return c, nil
}

// watch stops the run when the mesh fails: a peer lost, or stopped by an error (or an
// abort, which fail takes for this process's abort).
func (c *cluster) watch(ctx context.Context, r *runState) {
	select {
	case <-ctx.Done():
	case <-c.mesh.Failed():
		err := c.mesh.Err()
		switch {
		case errors.Is(err, comm.ErrPeerInterrupted):
			// A platform stops every process at about the same time (Kubernetes sends
			// each pod SIGTERM): a peer's stop followed soon by this process's own is
			// this process's clean stop too, not a failure.
			grace := time.NewTimer(interruptGrace)
			defer grace.Stop()
			select {
			case <-ctx.Done():
			case <-grace.C:
				r.fail(err)
			}
		default:
			r.fail(err)
		}
	}
}

// interruptGrace is how long after a peer's interruption a process waits for its own
// before it fails with the peer's.
const interruptGrace = 2 * time.Second

// finish ends this process's part once its workers and committers are done: it leaves the
// mesh (after a clean end, waiting until every peer is done too, since peers write their
// snapshot rows to the partitions held here until then), then collects and closes the
// recovery partitions. err is how the run ended; finish returns it, or the first error of
// its own.
func (c *cluster) finish(err error, aborted bool, interrupted bool) error {
	cause := err
	switch {
	case aborted:
		cause = comm.ErrAborted
	case err == nil && interrupted:
		cause = context.Canceled
	}
	if cause == nil {
		// Peers call here with their snapshot rows until their committers are done: the
		// processes agree that all are done before any says goodbye (the mesh would still
		// answer calls after a goodbye; this also makes a peer's abort met at the end
		// this process's abort, not its error).
		_, berr := c.mesh.Exchange(context.Background(), tagDone, make([][]byte, c.procs))
		switch {
		case errors.Is(berr, comm.ErrPeerAborted):
			cause = comm.ErrAborted // a peer's abort stops this process too, without an error
		case berr != nil:
			err, cause = berr, berr
		}
	}
	if leaveErr := c.mesh.Leave(cause); err == nil && !aborted {
		err = leaveErr
	}
	if c.parts == nil {
		return err
	}
	if c.stopGC != nil {
		if gcErr := c.stopGC(); err == nil {
			err = gcErr
		}
		if err == nil || interrupted && errors.Is(err, context.Canceled) {
			if gcErr := c.parts.GC(c.backup); gcErr != nil && err == nil {
				err = gcErr
			}
		}
	}
	if cerr := c.parts.Close(); err == nil {
		err = cerr
	}
	return err
}

// gcInterval is how often a cluster process collects its recovery partitions, as run does
// for one process.
const gcInterval = 10 * time.Second

// exchange sends out[q] to every process q and returns what each sent; or, when this
// process or another failed its part (mine), the error: this process's own as it is,
// another's as its text.
func (c *cluster) exchange(ctx context.Context, tag uint32, out [][]byte, mine error) ([][]byte, error) {
	msgs := make([][]byte, c.procs)
	for q := range msgs {
		if mine != nil {
			msgs[q] = append([]byte{1}, mine.Error()...)
		} else {
			msgs[q] = append([]byte{0}, out[q]...)
		}
	}
	in, err := c.mesh.Exchange(ctx, tag, msgs)
	if err != nil {
		return nil, err
	}
	if mine != nil {
		return nil, mine
	}
	for q, b := range in {
		if len(b) == 0 {
			return nil, fmt.Errorf("weir: cluster: process %d sent an empty setup message", q)
		}
		if b[0] == 1 {
			return nil, fmt.Errorf("weir: cluster: process %d: %s", q, b[1:])
		}
		in[q] = b[1:]
	}
	return in, nil
}

// gather sends the same value, as JSON, to every process and decodes what each sent.
func gather[T any](ctx context.Context, c *cluster, tag uint32, v T, mine error) ([]T, error) {
	var b []byte
	if mine == nil {
		if b, mine = json.Marshal(v); mine != nil {
			mine = fmt.Errorf("weir: cluster: %w", mine)
		}
	}
	out := make([][]byte, c.procs)
	for q := range out {
		out[q] = b
	}
	in, err := c.exchange(ctx, tag, out, mine)
	if err != nil {
		return nil, err
	}
	all := make([]T, len(in))
	for q, b := range in {
		if err := json.Unmarshal(b, &all[q]); err != nil {
			return nil, fmt.Errorf("weir: cluster: process %d's setup message: %w", q, err)
		}
	}
	return all, nil
}

// assignCluster lists the partitions of every partitioned input and sink in this process,
// learns the others' lists, and gives each partition to a worker of a process that
// listed it: partitions listed by the fewest processes first, each to the least-loaded
// worker among theirs, so that every process computes the same assignment.
func (r *runState) assignCluster(ctx context.Context, c *cluster) (map[int]*shard, error) {
	lists := map[int][]string{}
	err := r.eachSharded(ctx, func(n *plan.Node, parts []string) { lists[n.Index] = parts })
	all, err := gather(ctx, c, tagParts, lists, err)
	if err != nil {
		return nil, err
	}
	shards := map[int]*shard{}
	for _, n := range r.plan.Nodes {
		if !n.Sharded {
			continue
		}
		holders := map[string][]int{} // partition → the processes that listed it
		for q, l := range all {
			for _, part := range l[n.Index] {
				holders[part] = append(holders[part], q)
			}
		}
		s, err := assignParts(n, holders, c.workers)
		if err != nil {
			return nil, err
		}
		shards[n.Index] = s
	}
	return shards, nil
}

// setupStore opens this process's share of the recovery directory, agrees with the other
// processes on the execution, and loads what the local workers resume, as resume does in
// one process.
func (r *runState) setupStore(ctx context.Context, c *cluster) error {
	cc := r.cfg.Cluster
	if cc.Parts == nil {
		close(c.started)
		return r.resume()
	}
	c.backup = cc.BackupInterval
	dir := cc.Parts.Dir()
	type found struct {
		Dir   string
		Parts []state.Found
	}
	scan := func(tag uint32) ([]found, error) {
		f, err := cc.Parts.Scan()
		return gather(ctx, c, tag, found{dir, f}, err)
	}
	all, err := scan(tagFound)
	if err != nil {
		return err
	}
	none := true
	for _, f := range all {
		none = none && len(f.Parts) == 0
	}
	var created error
	if none && cc.CreatePartitions > 0 {
		// Each process makes its share in its own directory: in one shared directory
		// they make it all between them.
		var mine []int
		for i := c.process; i < cc.CreatePartitions; i += c.procs {
			mine = append(mine, i)
		}
		created = cc.Parts.Create(cc.CreatePartitions, mine)
	}
	if none {
		if _, err := gather(ctx, c, tagCreated, true, created); err != nil {
			return err
		}
		if cc.CreatePartitions <= 0 {
			return fmt.Errorf("%w: no process of the cluster found partitions in its recovery directory (this one's: %s); create them (weir recovery init), or have the run create them with --recovery-partitions N (run.RecoveryPartitions)", state.ErrNoPartitions, dir)
		}
		if all, err = scan(tagFoundAgain); err != nil {
			return err
		}
	}
	dirs := make([]string, len(all))
	files := make([][]state.Found, len(all))
	for q, f := range all {
		dirs[q], files[q] = f.Dir, f.Parts
	}
	count, held, err := c.hold(dirs, files)
	var parts state.Parts
	if err == nil {
		parts, err = cc.Parts.Open(count, held)
	}
	if _, err = gather(ctx, c, tagOpened, true, err); err != nil {
		if parts != nil {
			parts.Close()
		}
		return err
	}
	c.parts = parts
	ids := make([]string, len(r.plan.Nodes))
	for i, n := range r.plan.Nodes {
		ids[i] = n.ID
	}
	c.store = state.KnownSteps(parts, ids, cc.DropRemovedSteps, func(steps []string) {
		r.cfg.Logger.Warn("weir: recovery: dropped the state of steps this dataflow no longer has (--drop-removed-steps)",
			"dir", dir, "steps", steps)
	})
	views, err := parts.Views()
	allViews, err := gather(ctx, c, tagViews, views, err)
	if err != nil {
		return err
	}
	resume, number, err := state.PlanViews(dir, slices.Concat(allViews...))
	if err != nil {
		return err
	}
	if err := parts.BeginAt(r.total, resume, number); err != nil {
		return err
	}
	r.start = resume
	if err := r.loadCluster(ctx, c); err != nil {
		return err
	}
	if err := c.store.Start(); err != nil {
		return err
	}
	close(c.started)
	c.stopGC = parts.CollectEvery(gcInterval, cc.BackupInterval)
	return nil
}

// hold decides, from the partition files every process found, which process holds each
// partition: the same file seen by several processes (a shared directory) goes to one of
// them, spread by the partition's number; two distinct files of one partition, or none,
// is a *state.PartitionsHeldError. It returns the directory's partition count and the
// partitions this process holds.
func (c *cluster) hold(dirs []string, found [][]state.Found) (count int, held []int, err error) {
	for q, fs := range found {
		for _, f := range fs {
			if count != 0 && f.Count != count {
				return 0, nil, fmt.Errorf("weir: recovery: the processes' partition files were made for different partition counts: %d, and %d (partition %d in %s of process %d)", count, f.Count, f.Index, dirs[q], q)
			}
			count = f.Count
		}
	}
	ids := make([]map[string][]int, count) // by partition: file id → processes that see it
	for q, fs := range found {
		for _, f := range fs {
			if f.Index < 0 || f.Index >= count {
				return 0, nil, fmt.Errorf("weir: recovery: partition %d in %s of process %d is beyond the %d partitions", f.Index, dirs[q], q, count)
			}
			if ids[f.Index] == nil {
				ids[f.Index] = map[string][]int{}
			}
			ids[f.Index][f.ID] = append(ids[f.Index][f.ID], q)
		}
	}
	bad := &state.PartitionsHeldError{Count: count}
	c.holder = make([]int, count)
	for i, files := range ids {
		switch len(files) {
		case 0:
			bad.Missing = append(bad.Missing, i)
		case 1:
			for _, procs := range files {
				c.holder[i] = procs[i%len(procs)]
			}
		default:
			if bad.Doubled == nil {
				bad.Doubled = map[int][]string{}
			}
			for _, procs := range files {
				bad.Doubled[i] = append(bad.Doubled[i], fmt.Sprintf("process %d: %s", procs[0], dirs[procs[0]]))
			}
			slices.Sort(bad.Doubled[i])
		}
		if c.holder[i] == c.process && len(files) == 1 {
			held = append(held, i)
		}
	}
	if bad.Missing != nil || bad.Doubled != nil {
		return 0, nil, bad
	}
	return count, held, nil
}

// loadCluster loads the rows of the partitions held here and sends each to the process of
// the worker that owns it now; positions go to every process, so that each can tell the
// partitions that moved.
func (r *runState) loadCluster(ctx context.Context, c *cluster) error {
	defer raiseGC()() // see loadgc.go
	out := make([][]byte, c.procs)
	byID := map[string]*plan.Node{}
	for _, n := range r.plan.Nodes {
		byID[n.ID] = n
	}
	err := c.store.Load(func(step, key string, b []byte) error {
		n, ok := byID[step]
		if !ok {
			return fmt.Errorf("weir: recovery: the store has state for step %s, which this dataflow does not have", step)
		}
		switch {
		case n.Kind == graph.Stateful:
			q := r.ownerOf(key) / c.workers
			out[q] = appendRow(out[q], n.Index, key, b)
		case n.Sharded:
			for q := range out {
				out[q] = appendRow(out[q], n.Index, key, b)
			}
		}
		return nil
	})
	in, err := c.exchange(ctx, tagRows, out, err)
	if err != nil {
		return err
	}
	r.initResume()
	gone := map[int][]string{}
	for _, b := range in {
		if err := eachRow(b, func(node int, key string, st []byte) error {
			if node < 0 || node >= len(r.plan.Nodes) {
				return fmt.Errorf("weir: cluster: loaded row of node %d of %d", node, len(r.plan.Nodes))
			}
			r.route(r.plan.Nodes[node], key, st, gone)
			return nil
		}); err != nil {
			r.finishResume(true)
			return err
		}
	}
	r.finishResume(false)
	return r.partitionsChanged(gone)
}

// serve handles another process's call: a worker's snapshot rows for the partitions held
// here, or the notice that a worker's frontier is written everywhere.
func (c *cluster) serve(from int, req []byte) ([]byte, error) {
	<-c.started
	if c.parts == nil {
		return nil, errors.New("weir: cluster: snapshot rows sent to a process without a recovery directory")
	}
	if len(req) == 0 {
		return nil, fmt.Errorf("weir: cluster: an empty call from process %d", from)
	}
	switch req[0] {
	case callRows:
		worker, epochs, err := decodeEpochs(req[1:])
		if err != nil {
			return nil, fmt.Errorf("weir: cluster: snapshot rows from process %d: %w", from, err)
		}
		return nil, c.parts.Write(worker, epochs)
	case callWritten:
		worker, frontier, final, err := decodeWritten(req[1:])
		if err == nil && worker/c.workers != from {
			err = fmt.Errorf("worker %d is not one of its workers", worker)
		}
		if err != nil {
			return nil, fmt.Errorf("weir: cluster: a frontier notice from process %d: %w", from, err)
		}
		c.written(worker, frontier, final)
		return nil, nil
	}
	return nil, fmt.Errorf("weir: cluster: a call of unknown kind %d from process %d", req[0], from)
}

// clusterStore is the Store a worker's committer writes to in a cluster: each partition's
// rows go to the process that holds it, and every process gets the worker's frontier.
type clusterStore struct {
	state.Store // Begin, Load, Start: not used by committers
	c           *cluster
	ctx         context.Context
}

// CopiesWrites implements state.Copier: the rows for other processes are encoded into
// calls, and those of the partitions held here are written by the process's store.
func (s *clusterStore) CopiesWrites() bool {
	cp, ok := s.c.parts.(state.Copier)
	return ok && cp.CopiesWrites()
}

func (s *clusterStore) Write(worker int, epochs []state.Epoch) error {
	c := s.c
	count := len(c.holder)
	byProc := make([][]state.Epoch, c.procs)
	for q := range byProc {
		byProc[q] = make([]state.Epoch, len(epochs))
	}
	for i, e := range epochs {
		for q := range byProc {
			byProc[q][i] = state.Epoch{Epoch: e.Epoch, Final: e.Final}
		}
		for _, sn := range e.Snaps {
			h := state.HashStep(sn.Step)
			for _, ch := range sn.Changes {
				q := c.holder[h.Partition(ch.Key, count)]
				ep := &byProc[q][i]
				if k := len(ep.Snaps); k == 0 || ep.Snaps[k-1].Step != sn.Step {
					ep.Snaps = append(ep.Snaps, state.Snapshot{Step: sn.Step})
				}
				k := len(ep.Snaps) - 1
				ep.Snaps[k].Changes = append(ep.Snaps[k].Changes, ch)
			}
		}
	}
	errs := make([]error, c.procs)
	var wg sync.WaitGroup
	for q := range c.procs {
		if q == c.process {
			continue
		}
		wg.Go(func() {
			_, errs[q] = c.mesh.Call(s.ctx, q, appendEpochs([]byte{callRows}, worker, byProc[q]))
		})
	}
	errs[c.process] = c.parts.Write(worker, byProc[c.process])
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	// Every partition has the worker's frontier now. The other processes count it only
	// from here on: their two-phase sinks make an epoch visible once it is committed in
	// every partition.
	last := epochs[len(epochs)-1]
	notice := appendWritten([]byte{callWritten}, worker, last.Epoch+1, last.Final)
	for q := range c.procs {
		if q != c.process {
			wg.Go(func() { _, errs[q] = c.mesh.Call(s.ctx, q, notice) })
		}
	}
	wg.Wait()
	return errors.Join(errs...)
}
