package engine

import (
	"context"
	"runtime/debug"
	"slices"
	"time"

	"github.com/weirflow/weir/internal/comm"
	"github.com/weirflow/weir/internal/graph"
	"github.com/weirflow/weir/internal/plan"
	"github.com/weirflow/weir/internal/state"
)

// worker runs every step of the plan for its share of the data, on one goroutine.
type worker struct {
	r       *runState
	id      int
	n       int // workers in the cluster
	ctx     context.Context
	ops     []operator  // by node index
	readers []reader    // the sources, in declared order
	timed   []timed     // the operators with notifications
	out     []*exchange // by edge id; nil for edges that stay local
	local   bool        // no edge is exchanged: nothing goes to or comes from other workers

	prog      *progress
	moved     func(i int, from, to uint64) error // w.advance, made once
	nextEpoch time.Time                          // when the inputs close their epoch
	now       time.Time                          // system time, fixed per activation
	anchor    time.Time                          // the clock's last full reading (clock)
	cur       string                             // the step running user code, named in a panic's error

	// Reading ahead (readAhead): how many times a round may poll the sources, and whether
	// the last round ended in a wait.
	ahead  int
	waited bool

	msgs    []comm.Message // received; those from next on are not handled yet
	next    int
	snaps   map[uint64][]state.Snapshot
	snapped uint64     // one past the latest epoch in snaps
	commits *committer // nil without a store
	spans   *spans     // OpenTelemetry spans (trace.go); nil without a tracer

	// Backpressure (see pace): the data held back and drained, and the drain rate
	// measured while busy, from which the load this worker lets others queue for it
	// follows.
	load  load
	busy  time.Duration // time spent in rounds that drained something, since the last sample
	rate  float64       // bytes per second of busy time, smoothed; 0 before the first sample
	limit int           // the load this worker last reported

	// Figures for Stats (stats.go): the worker's counters, the Stats that reads them (nil
	// when none does: user code is then not timed), whether the sources are paused now,
	// and the time spent snapshotting since the last epochs went to the committer.
	obs      *workerStats
	stats    *Stats
	paused   bool
	snapping time.Duration

	// Items read and written since the worker last published its counts (flushCounts),
	// for the run's counters (runState.stats); the steps' are in their stepCounts.
	readIn, wroteOut int64
	flushed          time.Time // when the counts were last published
}

// exchange is the sending side of an exchange edge on one worker: a buffer per
// destination, holding items of one epoch.
type exchange struct {
	edge  *plan.Edge
	epoch uint64
	split graph.Splitter
	route graph.Route // ByKey, ByPartition; Mod is 0 for Even
}

func newWorker(r *runState, id int, ctx context.Context) *worker {
	w := &worker{r: r, id: id, n: r.total, ctx: ctx,
		out: make([]*exchange, len(r.plan.Edges)), snaps: map[uint64][]state.Snapshot{},
		limit: min(minInFlight, r.cfg.InFlightBytes)}
	w.moved = w.advance
	w.obs, w.stats = observer(ctx, r, id)
	w.spans = newSpans(ctx, id)
	if r.cfg.Store != nil {
		w.commits = startCommitter(r, id, w.obs, w.stats, w.spans)
	}
	shape := make([]progressNode, len(r.plan.Nodes))
	for _, pn := range r.plan.Nodes {
		op := w.newOperator(pn)
		w.ops = append(w.ops, op)
		rd, isSource := op.(reader)
		if isSource {
			w.readers = append(w.readers, rd)
		}
		if t, ok := op.(timed); ok {
			w.timed = append(w.timed, t)
		}
		shape[pn.Index] = progressNode{source: isSource, in: make([]progressInput, len(pn.In))}
		for port, e := range pn.In {
			exchanged := e.Exchange != plan.Local && w.n > 1
			shape[pn.Index].in[port] = progressInput{from: e.From.Index, exchange: exchanged}
			if exchanged {
				w.out[e.ID] = w.newExchange(e)
			}
		}
	}
	w.prog = newProgress(shape, w.n, id, r.start)
	w.local = !slices.ContainsFunc(w.out, func(x *exchange) bool { return x != nil })
	w.ahead = 1
	return w
}

func (w *worker) newExchange(e *plan.Edge) *exchange {
	x := &exchange{edge: e, split: e.To.Batch.NewSplitter(w.n, w.r.cfg.FlushItems)}
	switch e.Exchange {
	case plan.ByKey:
		x.route = graph.Route{Mod: uint64(w.n)}
	case plan.ByPartition:
		s := w.r.shards[e.To.Index]
		x.route = graph.Route{Mod: uint64(len(s.parts)), Owner: s.owner} // the partition's owner
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
		w.flushCounts()
		w.spans.epochClosed()
		if w.stats != nil {
			w.stats.stopped(err)
		}
	}()
	if err := w.open(); err != nil {
		return err
	}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	w.now = w.clock()
	w.nextEpoch = w.now.Add(w.r.cfg.EpochInterval)
	w.spans.epochOpened(w.prog.epoch())
	for {
		if w.ctx.Err() != nil {
			return nil
		}
		last := w.now
		w.now = w.clock()
		w.tuneAhead(w.now.Sub(last))
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
		w.pausing(congested)
		read := false
		if !congested {
			var err error
			if read, err = w.poll(); err != nil {
				return err
			}
			if read {
				if err := w.readAhead(); err != nil {
					return err
				}
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
			w.spans.epochOpened(w.prog.epoch())
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
		w.publish()
		if w.next < len(w.msgs) {
			continue // more received to handle: no sleep
		}
		// What this round drained or parked may have ended or started a congestion.
		congested = w.congested()
		if congested && w.prog.sourcesLive() && w.prog.behind() {
			// Congested now but not at the round's start, so this round did not catch up,
			// and no wake may come for it: the congestion can be this worker's own (what
			// it parked this round, reported by pace, whose crossing wakes only the
			// others) or come from another worker's Send (which wakes only its receiver),
			// while the parked data waits for this worker's epochs. Without an epoch
			// interval a congested worker waits without a timer, and would wait for ever.
			// Go round again, which catches up.
			continue
		}
		if wake, ok := w.nextWake(congested); ok {
			// A wake-up due by the round's start is past without reading the clock again,
			// which a source always due (read as fast as it goes) would pay per batch.
			var d time.Duration
			if wake.After(w.now) {
				d = time.Until(wake)
			}
			if d > 0 {
				w.flushCounts()
				w.waited = true
				timer.Reset(d)
				select {
				case <-w.ctx.Done():
				case <-w.r.mesh.Wake(w.id):
				case <-timer.C:
				}
				timer.Stop()
			}
		} else {
			w.flushCounts()
			w.waited = true
			select {
			case <-w.ctx.Done():
			case <-w.r.mesh.Wake(w.id):
			}
		}
	}
}

// clock returns the time for a round: time.Now at most every anchorEvery, and in between
// that reading advanced by the monotonic clock alone. time.Now reads two clocks, the wall
// clock and the monotonic one: 41 ns a round on the development VM against 24 for the
// monotonic alone (where the kernel offers no fast clock source, each read is a system
// call; not measured here). A step of the wall clock (set by NTP) shows at the next full
// reading, within anchorEvery; the monotonic reading, by which Go compares and subtracts
// times, is always current.
func (w *worker) clock() time.Time {
	if d := time.Since(w.anchor); d < anchorEvery {
		return w.anchor.Add(d)
	}
	w.anchor = time.Now()
	return w.anchor
}

// anchorEvery is how often a worker reads the wall clock (see clock).
const anchorEvery = 100 * time.Millisecond

// readAhead polls the sources again after a round's first poll read something, up to
// w.ahead polls in the round, while each reads something and nothing else is due first:
// a round's own work (the clock, receiving, the checks of epochs and timers, the flush)
// is then paid once for several batches, not once a batch: about 50 of the 120 ns of
// engine work a batch of 16 items took on the development VM. It reads ahead only on a
// worker whose edges all stay local: data from other workers would wait for the next
// round, and what it sends for the round's flush. Notifications due fire before each
// poll, as before each round, by a fresh clock reading (a logic may ask for one at
// time.Now). Otherwise the round's reading stands for every poll, and an epoch due by
// then closes before the next poll: without an epoch interval every round that reads
// closes one, so such a round reads once. Sources that ended read nothing, which ends the
// loop. tuneAhead keeps rounds short enough that the reading stays current.
func (w *worker) readAhead() error {
	if !w.local {
		return nil
	}
	for range w.ahead - 1 {
		if len(w.timed) > 0 {
			// A logic may ask to be notified at once by the clock, not by the round's time:
			// each poll is then a round of its own for the notifications.
			w.now = w.clock()
			if err := w.fireTimers(); err != nil {
				return err
			}
		}
		if w.ctx.Err() != nil || !w.now.Before(w.nextEpoch) {
			return nil
		}
		read, err := w.poll()
		if err != nil || !read {
			return err
		}
	}
	return nil
}

// tuneAhead sets how many times the next round may poll the sources (readAhead) from d,
// the time since the last round's last clock reading: it doubles, up to maxAhead, while d
// is under half of aheadSpan, stays while d is under aheadSpan, and falls back to one
// poll after a longer round or one that ended in a wait. A batch that suddenly takes long
// (a slow call, a source that blocks) delays the round's checks by at most maxAhead such
// batches, once.
func (w *worker) tuneAhead(d time.Duration) {
	switch {
	case w.waited || d > aheadSpan:
		w.waited, w.ahead = false, 1
	case d < aheadSpan/2 && w.ahead < maxAhead:
		w.ahead *= 2
	}
}

// Reading ahead (see readAhead, tuneAhead).
const (
	aheadSpan = 50 * time.Microsecond
	maxAhead  = 8
)

// open builds every operator's partitions and resumes their state.
func (w *worker) open() error {
	for _, op := range w.ops {
		if err := op.open(); err != nil {
			return err
		}
	}
	return nil
}

// closeAll closes every partition. After a failure or an abort the sinks are closed too:
// a resume truncates what they wrote past their last snapshot.
func (w *worker) closeAll(clean bool) {
	for _, op := range w.ops {
		if err := op.close(); err != nil && clean {
			w.r.fail(err)
		}
	}
}

// congested reports whether the sources should pause: this worker's credit toward some
// worker is used up. Its credit toward itself counts too: the bytes it holds parked for a
// later epoch are load like any other, and a worker above its own limit stops reading.
func (w *worker) congested() bool {
	if w.n == 1 {
		return false
	}
	for d := range w.n {
		if w.r.mesh.Credit(w.id, d) <= 0 {
			return true
		}
	}
	return false
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
	if !congested {
		for _, rd := range w.readers {
			if t, due := rd.wake(); due {
				earliest(t)
			}
		}
	}
	for _, tm := range w.timed {
		if t, due := tm.wake(); due {
			earliest(t)
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
	if w.load.worked {
		w.load.worked = false
		w.busy += time.Since(w.now)
		window := paceWindow
		if w.rate == 0 {
			window /= 10
		}
		if w.busy >= window {
			sample := float64(w.load.drained) / w.busy.Seconds()
			if w.rate == 0 {
				w.rate = sample
			} else {
				w.rate = (w.rate + sample) / 2
			}
			w.load.drained, w.busy = 0, 0
			w.limit = int(min(max(w.rate*w.backlog().Seconds(), minInFlight), float64(w.r.cfg.InFlightBytes)))
		}
	}
	w.r.mesh.Report(w.id, w.load.held, w.limit)
	if observeLoad != nil {
		observeLoad(w.id, w.r.mesh, w.load.held)
	}
}

// observeLoad, when set (by tests), sees every worker's mesh and parked bytes at the end
// of each round.
var observeLoad func(worker int, m comm.Mesh, held int)

// poll reads one batch from every partition that is due, inputs in declared order, and
// reports whether any batch was read.
func (w *worker) poll() (read bool, err error) {
	for _, rd := range w.readers {
		r, err := rd.poll()
		read = read || r
		if err != nil || w.ctx.Err() != nil {
			return read, err
		}
	}
	return read, nil
}

// fireTimers runs the notifications that are due.
func (w *worker) fireTimers() error {
	for _, t := range w.timed {
		if err := t.fire(); err != nil {
			return err
		}
	}
	return nil
}

// push hands a batch from an output port of node n to every consumer.
func (w *worker) push(n *plan.Node, port int, epoch uint64, batch any) {
	edges := n.Out[port]
	if len(edges) == 0 {
		return
	}
	items := edges[0].To.Batch.Len(batch) // counted once per batch, for every consumer
	w.obs.steps[n.Index].emitted(items)
	for _, e := range edges {
		if x := w.out[e.ID]; x != nil {
			w.exchange(x, epoch, batch)
		} else {
			w.obs.steps[e.To.Index].batch(items)
			w.ops[e.To.Index].deliver(epoch, batch)
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
	if x.route.Mod != 0 {
		x.split.ByKey(batch, x.route)
	} else {
		x.split.Even(batch)
	}
	if mine := x.split.Peek(w.id); mine != nil {
		to := x.edge.To
		w.obs.steps[to.Index].batch(to.Batch.Len(mine))
		w.ops[to.Index].deliver(epoch, mine)
		x.split.Reset(w.id)
	}
	for d := range w.n {
		if d != w.id && x.split.Len(d) >= w.r.cfg.FlushItems {
			w.send(x, d)
		}
	}
}

func (w *worker) send(x *exchange, d int) {
	b := x.split.Take(d, w.r.spares[x.edge.ID].get())
	local := w.r.isLocal(d)
	// A batch that crosses as it is holds its whole array; one sent to another process
	// holds there only what its items need, whatever room the buffer had.
	var bytes int
	if local {
		bytes = x.edge.To.Batch.Bytes(b)
	} else {
		bytes = x.edge.To.Batch.DecodedBytes(b)
	}
	w.r.mesh.Send(d, comm.Message{Edge: x.edge.ID, From: w.id, Epoch: x.epoch, Batch: b, Bytes: bytes})
	if !local {
		w.obs.sent[d/w.r.cfg.Workers].Add(int64(bytes))
		// A mesh between processes has encoded the batch by the time Send returns: its
		// buffer is free to fill again, as a local receiver's is once it is done.
		w.r.spares[x.edge.ID].put(b, bytes)
	}
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
		if m.Batch == nil {
			w.prog.mark(e.To.Index, e.In, m.From, m.Frontier)
			continue
		}
		w.obs.steps[e.To.Index].batch(e.To.Batch.Len(m.Batch))
		w.ops[e.To.Index].deliver(m.Epoch, m.Batch)
		w.r.spares[m.Edge].put(m.Batch, m.Bytes) // borrowed by deliver only: free to refill
		w.r.mesh.Done(w.id, m.Bytes)
		w.load.drained += m.Bytes
		w.load.worked = true
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

// progress moves the frontiers of the nodes that progress allows, closing their epochs,
// and commits what every node has closed.
func (w *worker) progress() error {
	if err := w.prog.update(w.moved); err != nil {
		return err
	}
	return w.commit()
}

// advance is what the worker does as node i's frontier moves from old to f: the
// operator closes the epochs in between (see operator.advance), then f goes as a marker
// to the other workers over the node's exchange outputs.
func (w *worker) advance(i int, old, f uint64) error {
	if err := w.ops[i].advance(old, f); err != nil {
		return err
	}
	// Data before progress: a receiver must have every batch below f when it sees f.
	for _, edges := range w.r.plan.Nodes[i].Out {
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

// record keeps a step's snapshot of epoch, for the commit of that epoch.
func (w *worker) record(step string, epoch uint64, changes []state.Change, release func()) {
	if w.r.cfg.Store == nil || len(changes) == 0 {
		return
	}
	w.snaps[epoch] = append(w.snaps[epoch], state.Snapshot{Step: step, Changes: changes, Release: release})
	w.snapped = max(w.snapped, epoch+1)
}

// commit hands to the committer every epoch that progress says is complete.
func (w *worker) commit() error {
	if w.r.cfg.Store == nil {
		return nil
	}
	from, to, final := w.prog.commit(w.snapped)
	if to > from {
		w.obs.snapshot.observe(w.snapping)
		w.snapping = 0
		w.flushCounts() // the committer may make the worker wait
	}
	for e := from; e < to; e++ {
		if err := w.commits.add(state.Epoch{Epoch: e, Snaps: w.snaps[e], Final: final && e == to-1}); err != nil {
			return err
		}
		delete(w.snaps, e)
	}
	return nil
}
