package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"slices"
	"time"

	"github.com/weirflow/weir/internal/comm"
	"github.com/weirflow/weir/internal/graph"
	"github.com/weirflow/weir/internal/keyhash"
	"github.com/weirflow/weir/internal/plan"
	"github.com/weirflow/weir/internal/state"
)

// worker runs every step of the plan for its share of the data, on one goroutine.
type worker struct {
	r     *runState
	id    int
	n     int // workers in the cluster
	ctx   context.Context
	nodes []*node
	out   []*exchange // by edge id; nil for edges that stay local

	prog      *progress
	moved     func(i int, from, to uint64) error // w.advance, made once
	nextEpoch time.Time                          // when the inputs close their epoch
	now       time.Time                          // system time, fixed per activation
	cur       string                             // the step running user code, named in a panic's error

	msgs    []comm.Message // received; those from next on are not handled yet
	next    int
	snaps   map[uint64][]state.Snapshot
	snapped uint64     // one past the latest epoch in snaps
	commits *committer // nil without a store

	// Backpressure (see pace): bytes parked in pending, and the drain rate measured
	// while busy, from which the load this worker lets others queue for it follows.
	held    int           // bytes of the batches in every node's pending
	drained int           // bytes received or taken out of pending since the last sample
	busy    time.Duration // time spent in rounds that drained something, since the last sample
	worked  bool          // this round drained something
	rate    float64       // bytes per second of busy time, smoothed; 0 before the first sample
	limit   int           // the load this worker last reported
}

// node is the runtime of one primitive on one worker.
type node struct {
	*plan.Node

	// by kind
	parts    []*sourcePart        // Input
	flatMap  func(any) any        // FlatMapBatch
	emit     *node                // FlatMapBatch: whose consumers get what flatMap returns
	branch   func(any) (any, any) // Branch
	inspect  func(string, any, uint64, int)
	stateful graph.StatefulRuntime // Stateful
	pending  map[uint64]parked     // Stateful, partitioned Output: batches of epochs past the frontier
	sinks    []*sinkPart           // Output: by partition index (nil where not owned), or one dynamic part
	split    graph.Splitter        // partitioned Output: items by partition
	route    func(key string) int  // partitioned Output: a key's partition index
	shard    *shard
}

// parked is the data of one epoch waiting in a node's pending, and the bytes it holds.
type parked struct {
	batch any
	bytes int
}

type sourcePart struct {
	name  string
	part  graph.SourcePart
	wake  time.Time
	done  bool
	final []byte // snapshot taken when the partition ended
}

type sinkPart struct {
	name string
	part graph.SinkPart
}

// exchange is the sending side of an exchange edge on one worker: a buffer per
// destination, holding items of one epoch.
type exchange struct {
	edge  *plan.Edge
	epoch uint64
	split graph.Splitter
	dest  func(key string) int // ByKey, ByPartition; nil for Even
}

func newWorker(r *runState, id int, ctx context.Context) *worker {
	w := &worker{r: r, id: id, n: r.cfg.Workers, ctx: ctx,
		out: make([]*exchange, len(r.plan.Edges)), snaps: map[uint64][]state.Snapshot{},
		limit: min(minInFlight, r.cfg.InFlightBytes)}
	w.moved = w.advance
	if r.cfg.Store != nil {
		w.commits = startCommitter(r, id)
	}
	shape := make([]progressNode, len(r.plan.Nodes))
	for _, pn := range r.plan.Nodes {
		n := &node{Node: pn}
		shape[pn.Index] = progressNode{source: pn.Kind == graph.Input, in: make([]progressInput, len(pn.In))}
		for port, e := range pn.In {
			exchanged := e.Exchange != plan.Local && w.n > 1
			shape[pn.Index].in[port] = progressInput{from: e.From.Index, exchange: exchanged}
			if exchanged {
				w.out[e.ID] = w.newExchange(e)
			}
		}
		n.shard = r.shards[pn.Index]
		switch spec := pn.Spec.(type) {
		case *graph.FlatMapSpec:
			if pn.FusedInto == nil { // a fused node runs within the chain of the node it is fused into
				n.flatMap = pn.FlatMap()
			}
		case *graph.BranchSpec:
			n.branch = spec.Split
		case *graph.InspectSpec:
			n.inspect = spec.Fn
		case *graph.StatefulSpec:
			n.stateful = spec.New()
			if r.cfg.Store != nil {
				n.stateful.Track()
			}
			n.pending = map[uint64]parked{}
		case *graph.OutputSpec:
			n.pending = map[uint64]parked{}
			if s := n.shard; s != nil {
				parts := uint64(len(s.parts))
				n.route = func(key string) int { return int(keyhash.Of(key) % parts) }
				n.split = pn.Batch.NewSplitter(len(s.parts), 0)
			}
		}
		w.nodes = append(w.nodes, n)
	}
	for _, n := range w.nodes {
		n.emit = w.nodes[n.Emit.Index]
	}
	w.prog = newProgress(shape, w.n, id, r.start)
	return w
}

func (w *worker) newExchange(e *plan.Edge) *exchange {
	x := &exchange{edge: e, split: e.To.Batch.NewSplitter(w.n, w.r.cfg.FlushItems)}
	switch e.Exchange {
	case plan.ByKey:
		n := uint64(w.n)
		x.dest = func(key string) int { return int(keyhash.Of(key) % n) }
	case plan.ByPartition:
		s := w.r.shards[e.To.Index]
		n := uint64(len(s.parts))
		x.dest = func(key string) int { return s.owner[keyhash.Of(key)%n] } // the partition's owner
	}
	return x
}

// run is the worker's loop: receive, read sources, fire timers, send, advance frontiers,
// and sleep until there is something to do.
func (w *worker) run() (err error) {
	defer func() {
		if r := recover(); r != nil {
			if sp, ok := r.(graph.StepPanic); ok {
				err = sp.Err
			} else {
				err = &graph.StepError{Step: w.cur, Cause: &graph.PanicError{Value: r, Stack: debug.Stack()}}
			}
		}
		w.closeAll(err == nil && w.ctx.Err() == nil)
	}()
	if err := w.open(); err != nil {
		return err
	}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	w.now = time.Now()
	w.nextEpoch = w.now.Add(w.r.cfg.EpochInterval)
	for {
		if w.ctx.Err() != nil {
			return nil
		}
		w.now = time.Now()
		if err := w.receive(); err != nil {
			return err
		}
		// Notifications due by now run before more input is read: a logic that asks to be
		// notified at once after an item sees the notification before the next item, however
		// busy its source is.
		if err := w.fireTimers(); err != nil {
			return err
		}
		congested := w.congested()
		read := false
		if !congested {
			var err error
			if read, err = w.poll(); err != nil {
				return err
			}
		}
		// Close the epoch after reading, so that the first batches are in epoch 1. An
		// interval of 0 gives every round that read something an epoch of its own (and
		// idle rounds none, or an idle flow would spin through epochs).
		//
		// A worker whose epochs are behind another's (its rounds are long, or it reads
		// nothing without an interval) catches up to it when it closes an epoch, and at once
		// when congested: data of the later epochs waits for its progress, parked where it
		// counts toward the in-flight limit, and a slow step would otherwise idle while
		// its worker's clock, moving one epoch per round, lags ever further behind.
		catchUp := congested && w.prog.behind()
		if w.prog.sourcesLive() && ((w.r.cfg.EpochInterval == 0 && read) || catchUp ||
			(w.r.cfg.EpochInterval > 0 && !w.now.Before(w.nextEpoch))) {
			w.prog.tick()
			w.nextEpoch = w.now.Add(w.r.cfg.EpochInterval)
		}
		if err := w.fireTimers(); err != nil {
			return err
		}
		w.flush()
		for w.prog.changed {
			if err := w.progress(); err != nil {
				return err
			}
		}
		if w.prog.done() {
			return nil
		}
		w.pace()
		if w.next < len(w.msgs) {
			continue // more received to handle: no sleep
		}
		// What this round drained or parked may have ended or started a congestion.
		congested = w.congested()
		if wake, ok := w.nextWake(congested); ok {
			if d := time.Until(wake); d > 0 {
				timer.Reset(d)
				select {
				case <-w.ctx.Done():
				case <-w.r.mesh.Wake(w.id):
				case <-timer.C:
				}
				timer.Stop()
			}
		} else {
			select {
			case <-w.ctx.Done():
			case <-w.r.mesh.Wake(w.id):
			}
		}
	}
}

// open builds this worker's source and sink partitions.
func (w *worker) open() error {
	for _, n := range w.nodes {
		switch n.Kind {
		case graph.Stateful:
			// Any order will do: the runtime orders keys itself where it matters.
			states := w.r.states[w.id][n.Index]
			delete(w.r.states[w.id], n.Index) // let the loaded bytes go as keys resume
			for i := range states {
				c := &states[i]
				err := n.stateful.Resume(c.Key, c.State)
				*c = state.Change{}
				if err != nil {
					var ke *graph.KeyError
					if errors.As(err, &ke) {
						return &graph.StepError{Step: n.ID, Key: ke.Key, Cause: fmt.Errorf("resuming: %w", ke.Cause)}
					}
					return &graph.StepError{Step: n.ID, Cause: err}
				}
			}
		case graph.Input:
			spec := n.Spec.(*graph.InputSpec)
			for _, name := range w.owned(n) {
				p, err := spec.Build(w.ctx, w.partInfo(n, name), w.r.positions[w.id][n.Index][name])
				if err != nil {
					return w.partErr(n, name, fmt.Errorf("building partition: %w", err))
				}
				n.parts = append(n.parts, &sourcePart{name: name, part: p})
			}
			if len(n.parts) == 0 {
				w.prog.end(n.Index) // a partitioned input with no partition on this worker
			}
		case graph.Output:
			spec := n.Spec.(*graph.OutputSpec)
			if n.shard == nil {
				p, err := spec.Build(w.ctx, w.partInfo(n, ""), nil)
				if err != nil {
					return w.partErr(n, "", fmt.Errorf("building sink: %w", err))
				}
				n.sinks = []*sinkPart{{part: p}}
				continue
			}
			n.sinks = make([]*sinkPart, len(n.shard.parts))
			for i, name := range n.shard.parts {
				if n.shard.owner[i] != w.id {
					continue
				}
				p, err := spec.Build(w.ctx, w.partInfo(n, name), w.r.positions[w.id][n.Index][name])
				if err != nil {
					return w.partErr(n, name, fmt.Errorf("building partition: %w", err))
				}
				n.sinks[i] = &sinkPart{name: name, part: p}
			}
		}
	}
	return nil
}

// owned lists the partitions of an input this worker reads: its share of a partitioned
// source, or its single instance ("") of a dynamic one.
func (w *worker) owned(n *node) []string {
	if n.shard == nil {
		return []string{""}
	}
	var names []string
	for i, name := range n.shard.parts {
		if n.shard.owner[i] == w.id {
			names = append(names, name)
		}
	}
	return names
}

func (w *worker) partInfo(n *node, name string) graph.PartInfo {
	return graph.PartInfo{Step: n.ID, Partition: name, Worker: w.id, Workers: w.n}
}

func (w *worker) partErr(n *node, part string, err error) error {
	return &graph.StepError{Step: n.ID, Partition: part, Cause: err}
}

// closeAll closes every partition. After a failure or an abort the sinks are closed too:
// a resume truncates what they wrote past their last snapshot.
func (w *worker) closeAll(clean bool) {
	for _, n := range w.nodes {
		for _, p := range n.parts {
			if !p.done {
				p.part.Close()
			}
		}
		for _, s := range n.sinks {
			if s == nil {
				continue
			}
			if err := s.part.Close(); err != nil && clean {
				w.r.fail(w.partErr(n, s.name, fmt.Errorf("closing: %w", err)))
			}
		}
	}
}

// congested reports whether the sources should pause: some worker is loaded past its limit.
func (w *worker) congested() bool {
	return w.n > 1 && w.r.mesh.Congested(w.id)
}

// nextWake returns the earliest time something is due: an epoch close, a source wake-up
// (unless congested), a stateful timer. ok is false when only messages can wake us.
func (w *worker) nextWake(congested bool) (at time.Time, ok bool) {
	earliest := func(t time.Time) {
		if !ok || t.Before(at) {
			at, ok = t, true
		}
	}
	if w.prog.sourcesLive() && w.r.cfg.EpochInterval > 0 {
		earliest(w.nextEpoch)
	}
	for _, n := range w.nodes {
		switch n.Kind {
		case graph.Input:
			if congested {
				continue
			}
			for _, p := range n.parts {
				if !p.done {
					earliest(p.wake)
				}
			}
		case graph.Stateful:
			if w.prog.frontier(n.Index) != never {
				if t, due := n.stateful.NextNotify(); due {
					earliest(t)
				}
			}
		}
	}
	return at, ok
}

// Backpressure pacing (see pace).
const (
	// minInFlight is the least load a worker lets others queue for it, however slowly it
	// drains (unless InFlightBytes is lower): a few messages, so that a slow worker has
	// its next batch at hand.
	minInFlight = 64 << 10
	// paceWindow is the busy time over which a drain rate is measured; the first sample
	// takes a tenth of it, so that a fast worker soon lets more queue up.
	paceWindow = 20 * time.Millisecond
)

// backlog is how long the data a worker lets others queue for it should take it to drain:
// twice the epoch interval (so that an epoch waits behind about two others at a slow
// step, and epochs keep committing at about their interval), within 20 ms and 1 s.
func (w *worker) backlog() time.Duration {
	return min(max(2*w.r.cfg.EpochInterval, 20*time.Millisecond), time.Second)
}

// pace measures how fast this worker drains its load (bytes received or taken out of
// pending, over the time of the rounds that drained any: idle time does not count; a
// batch received and then parked counts twice, so the rate may be up to twice too high)
// and reports to the mesh the load it lets others queue for it: what it drains in
// backlog(), between minInFlight and InFlightBytes. This is Flink's buffer debloating: in
// front of a slow step only about backlog() of data waits, so the memory it holds stays
// small and an epoch closes there soon after its interval, instead of waiting for
// InFlightBytes of earlier data to be written. It starts at minInFlight and grows as the
// rate is measured. It also reports the bytes parked in pending, which count toward the
// load.
func (w *worker) pace() {
	if w.n == 1 {
		return // nobody to pause
	}
	if w.worked {
		w.worked = false
		w.busy += time.Since(w.now)
		window := paceWindow
		if w.rate == 0 {
			window /= 10
		}
		if w.busy >= window {
			sample := float64(w.drained) / w.busy.Seconds()
			if w.rate == 0 {
				w.rate = sample
			} else {
				w.rate = (w.rate + sample) / 2
			}
			w.drained, w.busy = 0, 0
			w.limit = int(min(max(w.rate*w.backlog().Seconds(), minInFlight), float64(w.r.cfg.InFlightBytes)))
		}
	}
	w.r.mesh.Report(w.id, w.held, w.limit)
	if observeLoad != nil {
		observeLoad(w.id, w.r.mesh, w.held)
	}
}

// observeLoad, when set (by tests), sees every worker's mesh and parked bytes at the end
// of each round.
var observeLoad func(worker int, m comm.Mesh, held int)

// poll reads one batch from every partition that is due, inputs in declared order, and
// reports whether any batch was read.
func (w *worker) poll() (read bool, err error) {
	for _, n := range w.nodes {
		if n.Kind != graph.Input || w.prog.frontier(n.Index) == never {
			continue
		}
		for _, p := range n.parts {
			if p.done || p.wake.After(w.now) {
				continue
			}
			w.cur = n.ID
			batch, err := p.part.Next(w.ctx)
			if batch != nil {
				read = true
				st := &w.r.stats[w.id] // per batch, for the run's summary
				st.in.Add(int64(n.Batch.Len(batch)))
				st.epoch.Store(w.prog.epoch())
				w.push(n, 0, w.prog.epoch(), batch)
			}
			switch {
			case err == nil:
				p.wake = p.part.NextAwake()
				if p.wake.IsZero() && batch == nil {
					p.wake = w.now.Add(time.Millisecond)
				}
			case errors.Is(err, io.EOF):
				p.done = true
				if w.r.cfg.Store != nil {
					p.final = p.part.Snapshot()
				}
				if err := p.part.Close(); err != nil {
					return read, w.partErr(n, p.name, fmt.Errorf("closing: %w", err))
				}
				if !slices.ContainsFunc(n.parts, func(p *sourcePart) bool { return !p.done }) {
					w.prog.end(n.Index)
				}
			case errors.Is(err, graph.ErrAbort):
				w.r.abort()
				return read, nil
			default:
				if w.ctx.Err() != nil {
					return read, nil
				}
				return read, w.partErr(n, p.name, err)
			}
		}
	}
	return read, nil
}

// fireTimers runs OnNotify for stateful steps whose earliest notification is due.
func (w *worker) fireTimers() error {
	for _, n := range w.nodes {
		f := w.prog.frontier(n.Index)
		if n.Kind != graph.Stateful || f == never {
			continue
		}
		if at, ok := n.stateful.NextNotify(); ok && !at.After(w.now) {
			if err := w.activate(n, nil, f, false); err != nil {
				return err
			}
		}
	}
	return nil
}

// push hands a batch from an output port to every consumer.
func (w *worker) push(n *node, port int, epoch uint64, batch any) {
	for _, e := range n.Out[port] {
		if x := w.out[e.ID]; x != nil {
			w.exchange(x, epoch, batch)
		} else {
			w.deliver(w.nodes[e.To.Index], epoch, batch)
		}
	}
}

// exchange routes a batch over an exchange edge: this worker's share is delivered at
// once, the rest is buffered per destination and sent when full or at the end of the
// activation.
func (w *worker) exchange(x *exchange, epoch uint64, batch any) {
	if x.epoch != epoch {
		w.flushEdge(x)
		x.epoch = epoch
	}
	if x.dest != nil {
		x.split.ByKey(batch, x.dest)
	} else {
		x.split.Even(batch)
	}
	if mine := x.split.Peek(w.id); mine != nil {
		w.deliver(w.nodes[x.edge.To.Index], epoch, mine)
		x.split.Reset(w.id)
	}
	for d := range w.n {
		if d != w.id && x.split.Len(d) >= w.r.cfg.FlushItems {
			w.send(x, d)
		}
	}
}

func (w *worker) send(x *exchange, d int) {
	b := x.split.Take(d, w.r.spares[x.edge.ID].Get())
	w.r.mesh.Send(d, comm.Message{Edge: x.edge.ID, From: w.id, Epoch: x.epoch, Batch: b, Bytes: x.edge.To.Batch.Bytes(b)})
}

func (w *worker) flushEdge(x *exchange) {
	for d := range w.n {
		if x.split.Len(d) > 0 {
			w.send(x, d)
		}
	}
}

func (w *worker) flush() {
	for _, x := range w.out {
		if x != nil {
			w.flushEdge(x)
		}
	}
}

// receive handles the messages other workers sent, for at most about roundBudget: the
// rest wait for the next round, so that epochs close and commit between the batches of a
// long queue (a slow step's), not only once all of it is handled.
func (w *worker) receive() error {
	if w.next == len(w.msgs) {
		w.msgs = w.r.mesh.Receive(w.id, w.msgs[:0])
		w.next = 0
	}
	budget := w.roundBudget()
	for w.next < len(w.msgs) {
		m := &w.msgs[w.next]
		w.next++
		e := w.r.plan.Edges[m.Edge]
		to := w.nodes[e.To.Index]
		if m.Batch == nil {
			w.prog.mark(to.Index, e.In, m.From, m.Frontier)
			continue
		}
		w.deliver(to, m.Epoch, m.Batch)
		w.r.spares[m.Edge].Put(m.Batch) // borrowed by deliver only: free to refill
		w.r.mesh.Done(w.id, m.Bytes)
		w.drained += m.Bytes
		w.worked = true
		*m = comm.Message{} // let the batch go
		if w.ctx.Err() != nil {
			return nil
		}
		if time.Since(w.now) > budget {
			break
		}
	}
	return nil
}

// roundBudget is how long a round handles received messages before it lets epochs close:
// half the epoch interval, within 1 ms and 100 ms.
func (w *worker) roundBudget() time.Duration {
	return min(max(w.r.cfg.EpochInterval/2, time.Millisecond), 100*time.Millisecond)
}

// deliver runs node n on one batch of epoch.
func (w *worker) deliver(n *node, epoch uint64, batch any) {
	switch n.Kind {
	case graph.FlatMapBatch:
		w.cur = n.ID
		if out := n.flatMap(batch); out != nil {
			w.push(n.emit, 0, epoch, out)
		}
	case graph.Branch:
		w.cur = n.ID
		yes, no := n.branch(batch)
		if yes != nil {
			w.push(n, 0, epoch, yes)
		}
		if no != nil {
			w.push(n, 1, epoch, no)
		}
	case graph.Inspect:
		w.cur = n.ID
		n.inspect(n.ID, batch, epoch, w.id)
		w.push(n, 0, epoch, batch)
	case graph.Merge, graph.Redistribute:
		w.push(n, 0, epoch, batch)
	case graph.Stateful:
		if epoch > w.prog.frontier(n.Index) {
			w.park(n, epoch, batch)
			return
		}
		if err := w.activate(n, batch, epoch, false); err != nil {
			panic(graph.StepPanic{Err: err})
		}
	case graph.Output:
		if n.shard != nil && epoch > w.prog.frontier(n.Index) {
			w.park(n, epoch, batch)
			return
		}
		if err := w.write(n, batch); err != nil {
			panic(graph.StepPanic{Err: err})
		}
	}
}

// park keeps a batch of an epoch past n's frontier until n reaches it. Its bytes count
// toward this worker's load: a worker that holds too much parked data stops the sources
// as a full queue does.
func (w *worker) park(n *node, epoch uint64, batch any) {
	p := n.pending[epoch]
	b := n.Batch.Bytes(batch)
	p.batch = n.Batch.Concat(p.batch, batch)
	p.bytes += b
	n.pending[epoch] = p
	w.held += b
}

// unpark takes the data of epoch e out of n's pending.
func (w *worker) unpark(n *node, e uint64) (any, bool) {
	p, ok := n.pending[e]
	if !ok {
		return nil, false
	}
	delete(n.pending, e)
	w.held -= p.bytes
	w.drained += p.bytes
	w.worked = true
	return p.batch, true
}

// activate runs one activation of a stateful step and pushes what it emits, in epoch.
func (w *worker) activate(n *node, batch any, epoch uint64, eof bool) error {
	if f := w.prog.frontier(n.Index); epoch < f {
		panic(fmt.Sprintf("weir: internal error: step %s got epoch %d below its frontier %d", n.ID, epoch, f))
	}
	out, err := n.stateful.Activate(batch, w.now, eof)
	if err != nil {
		se := &graph.StepError{Step: n.ID, Cause: err}
		var ke *graph.KeyError
		if errors.As(err, &ke) {
			se.Key, se.Cause = ke.Key, ke.Cause
		}
		return se
	}
	if out != nil {
		w.push(n, 0, epoch, out)
	}
	return nil
}

// write writes a batch to this worker's partitions of a sink.
func (w *worker) write(n *node, batch any) error {
	w.cur = n.ID
	w.r.stats[w.id].out.Add(int64(n.Batch.Len(batch)))
	if n.shard == nil {
		if err := n.sinks[0].part.Write(batch); err != nil {
			return w.partErr(n, "", err)
		}
		return nil
	}
	n.split.ByKey(batch, n.route)
	for i, s := range n.sinks {
		b := n.split.Peek(i)
		if b == nil {
			continue
		}
		if s == nil {
			panic(fmt.Sprintf("weir: internal error: step %s got items of partition %q it does not own", n.ID, n.shard.parts[i]))
		}
		err := s.part.Write(b)
		n.split.Reset(i)
		if err != nil {
			return w.partErr(n, s.name, err)
		}
	}
	return nil
}

// progress moves the frontiers of the nodes that progress allows, closing their epochs,
// and commits what every node has closed.
func (w *worker) progress() error {
	if err := w.prog.update(w.moved); err != nil {
		return err
	}
	return w.commit()
}

// advance moves node i's frontier from old to f, closing the epochs in between: buffered
// data of each is applied in epoch order, each closed epoch is snapshotted, and at the end
// of the stream (f == never) OnEOF runs in the last epoch before its snapshot. Then it
// sends f on as a marker over the node's exchange outputs.
func (w *worker) advance(i int, old, f uint64) error {
	n := w.nodes[i]
	if err := w.closeEpochs(n, old, f); err != nil {
		return err
	}
	// Data before progress: a receiver must have every batch below f when it sees f.
	for _, edges := range n.Out {
		for _, e := range edges {
			if x := w.out[e.ID]; x != nil {
				w.flushEdge(x)
				for d := range w.n {
					if d != w.id {
						w.r.mesh.Send(d, comm.Message{Edge: e.ID, From: w.id, Frontier: f})
					}
				}
			}
		}
	}
	return nil
}

func (w *worker) closeEpochs(n *node, old, f uint64) error {
	switch n.Kind {
	case graph.Input:
		w.record(n, old, w.sourceSnapshots(n))
	case graph.Stateful, graph.Output:
		epochs := []uint64{old}
		for e := range n.pending {
			if e < f {
				epochs = append(epochs, e)
			}
		}
		slices.Sort(epochs)
		for i, e := range epochs {
			if b, ok := w.unpark(n, e); ok {
				if err := w.apply(n, e, b); err != nil {
					return err
				}
			}
			if n.Kind == graph.Stateful {
				if f == never && i == len(epochs)-1 {
					if err := w.activate(n, nil, e, true); err != nil {
						return err
					}
				}
				if w.r.cfg.Store != nil {
					changes, err := n.stateful.Snapshot()
					if err != nil {
						return &graph.StepError{Step: n.ID, Cause: err}
					}
					w.record(n, e, changes)
				}
			} else if err := w.closeSinkEpoch(n, e); err != nil {
				return err
			}
		}
	}
	if b, ok := w.unpark(n, f); ok {
		return w.apply(n, f, b)
	}
	return nil
}

func (w *worker) apply(n *node, epoch uint64, b any) error {
	if n.Kind == graph.Stateful {
		return w.activate(n, b, epoch, false)
	}
	return w.write(n, b)
}

func (w *worker) sourceSnapshots(n *node) []state.Change {
	if w.r.cfg.Store == nil || n.shard == nil {
		return nil
	}
	var cs []state.Change
	for _, p := range n.parts {
		s := p.final
		if !p.done {
			s = p.part.Snapshot()
		}
		cs = append(cs, state.Change{Key: p.name, State: s})
	}
	return cs
}

// closeSinkEpoch ends epoch e at a sink's partitions on this worker: with a store, a
// partitioned sink's positions are snapshotted (which makes its writes durable); otherwise
// each partition flushes, so that output appears as epochs close and not only at the end.
func (w *worker) closeSinkEpoch(n *node, e uint64) error {
	if w.r.cfg.Store != nil && n.shard != nil {
		var cs []state.Change
		for _, s := range n.sinks {
			if s != nil {
				cs = append(cs, state.Change{Key: s.name, State: s.part.Snapshot()})
			}
		}
		w.record(n, e, cs)
		return nil
	}
	for _, s := range n.sinks {
		if s == nil {
			continue
		}
		w.cur = n.ID
		if err := s.part.Flush(); err != nil {
			return w.partErr(n, s.name, fmt.Errorf("flushing: %w", err))
		}
	}
	return nil
}

func (w *worker) record(n *node, epoch uint64, changes []state.Change) {
	if w.r.cfg.Store == nil || len(changes) == 0 {
		return
	}
	w.snaps[epoch] = append(w.snaps[epoch], state.Snapshot{Step: n.ID, Changes: changes})
	w.snapped = max(w.snapped, epoch+1)
}

// commit hands to the committer every epoch that progress says is complete.
func (w *worker) commit() error {
	if w.r.cfg.Store == nil {
		return nil
	}
	from, to, final := w.prog.commit(w.snapped)
	for e := from; e < to; e++ {
		if err := w.commits.add(state.Epoch{Epoch: e, Snaps: w.snaps[e], Final: final && e == to-1}); err != nil {
			return err
		}
		delete(w.snaps, e)
	}
	return nil
}
