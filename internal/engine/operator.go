package engine

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/weirflow/weir/internal/graph"
	"github.com/weirflow/weir/internal/plan"
)

// operator is the runtime of one primitive on one worker. The worker drives every kind
// through these methods, without knowing which kind it holds, so a new primitive is a
// new type and a case in newOperator. Progress (progress.go) decides when frontiers move;
// an operator only does what a move means for its data.
type operator interface {
	// open builds the partitions the operator reads or writes and resumes the state it
	// keeps. It runs once, before anything else.
	open() error
	// deliver runs the operator on a batch of epoch, which is at or past its frontier.
	// The batch is borrowed: an operator that keeps items copies them. An error panics
	// with graph.StepPanic, which the worker's run recovers: deliver runs deep in a chain
	// of pushes that has no way back for an error, and errors end the run.
	deliver(epoch uint64, batch any)
	// advance is called as the operator's frontier moves from from to to: it closes the
	// epochs from..to-1, recording their snapshots, and applies the data it held for them
	// and for to. It runs before the frontier moves, so that the operator still sees
	// from as its frontier while it does so.
	advance(from, to uint64) error
	// close releases what open built. Its error matters only when the run ended cleanly
	// (after a failure, a resume truncates what sinks wrote past their last snapshot).
	close() error
}

// reader is an operator that brings data in: a source's partitions, read in rounds.
type reader interface {
	operator
	// poll reads one batch from each partition that is due, and reports whether any
	// batch was read.
	poll() (read bool, err error)
	// wake is when a partition is next due; ok is false when none is.
	wake() (at time.Time, ok bool)
}

// timed is an operator with work of its own at times it chooses: a stateful step's
// notifications.
type timed interface {
	operator
	// fire runs the work due by the worker's time.
	fire() error
	// wake is when work is next due; ok is false when none is.
	wake() (at time.Time, ok bool)
}

// newOperator builds node n's operator for worker w. It is the one place that knows the
// kinds of primitives.
func (w *worker) newOperator(n *plan.Node) operator {
	s := step{Node: n, w: w}
	switch n.Kind {
	case graph.Input:
		return &input{step: s, spec: n.Spec.(*graph.InputSpec), shard: w.r.shards[n.Index]}
	case graph.Output:
		return newOutput(s, n.Spec.(*graph.OutputSpec), w.r.shards[n.Index])
	case graph.FlatMapBatch:
		if n.FusedInto != nil {
			return fused{s}
		}
		if hold := n.Spec.(*graph.FlatMapSpec).Hold; hold != nil {
			return &holding{step: s, h: hold()}
		}
		if n.Spec.(*graph.FlatMapSpec).Pure && n.Emit == n && len(n.Out[0]) == 0 {
			return unread{s} // its output goes nowhere and making it has no other effect
		}
		return &flatMap{step: s, fn: n.FlatMap(), emit: n.Emit}
	case graph.Branch:
		return &branch{step: s, split: n.Spec.(*graph.BranchSpec).Split}
	case graph.Inspect:
		return &inspect{step: s, fn: n.Spec.(*graph.InspectSpec).Fn}
	case graph.Merge, graph.Redistribute:
		return pass{s}
	case graph.Stateful:
		return newStateful(s, n.Spec.(*graph.StatefulSpec))
	}
	panic(fmt.Sprintf("weir: internal error: step %s is of unknown kind %v", n.ID, n.Kind))
}

// step is what every operator has: its node and its worker. Its methods are those of an
// operator that builds nothing and holds no epochs.
type step struct {
	*plan.Node
	w *worker
}

func (step) open() error                   { return nil }
func (step) advance(from, to uint64) error { return nil }
func (step) close() error                  { return nil }

// partErr is the error of one of the step's partitions ("" for a dynamic one).
func (s step) partErr(part string, err error) error {
	return &graph.StepError{Step: s.ID, Partition: part, Cause: err}
}

// keyErr is the error of user code of the step, naming the key when the code said which
// key failed (a *graph.KeyError); doing, when not "", says what the step was doing with
// that key.
func (s step) keyErr(err error, doing string) error {
	se := &graph.StepError{Step: s.ID, Cause: err}
	var ke *graph.KeyError
	if errors.As(err, &ke) {
		se.Key, se.Cause = ke.Key, ke.Cause
		if doing != "" {
			se.Cause = fmt.Errorf("%s: %w", doing, ke.Cause)
		}
	}
	return se
}

func (s step) partInfo(name string) graph.PartInfo {
	return graph.PartInfo{Step: s.ID, Partition: name, Worker: s.w.id, Workers: s.w.n}
}

// load is the data a worker holds back and drains, which pace measures.
type load struct {
	held    int  // bytes of the batches in every operator's pending
	drained int  // bytes received or taken out of pending since the last sample
	worked  bool // this round drained something
}

// pending holds the batches of epochs past an operator's frontier until the frontier
// reaches them. Their bytes count toward the worker's load: a worker that holds too much
// parked data stops the sources as a full queue does.
type pending struct {
	ops     graph.BatchOps
	load    *load
	byEpoch map[uint64]parked
	closing []uint64 // the epochs close is closing, kept to be reused
}

// parked is the data of one epoch waiting in a pending, and the bytes it holds.
type parked struct {
	batch any
	bytes int
}

func newPending(ops graph.BatchOps, l *load) pending {
	return pending{ops: ops, load: l, byEpoch: map[uint64]parked{}}
}

func (p *pending) park(epoch uint64, batch any) {
	q := p.byEpoch[epoch]
	b := p.ops.Bytes(batch)
	q.batch = p.ops.Concat(q.batch, batch)
	q.bytes += b
	p.byEpoch[epoch] = q
	p.load.held += b
}

// unpark takes out the data of epoch e.
func (p *pending) unpark(e uint64) (any, bool) {
	q, ok := p.byEpoch[e]
	if !ok {
		return nil, false
	}
	delete(p.byEpoch, e)
	p.load.held -= q.bytes
	p.load.drained += q.bytes
	p.load.worked = true
	return q.batch, true
}

// epochCloser is an operator that holds data back in a pending and closes its epochs one
// by one: a stateful step (which snapshots its keys) and a sink (its positions, or a
// flush).
type epochCloser interface {
	// apply runs the operator on data of epoch it held back.
	apply(epoch uint64, batch any) error
	// closeEpoch ends epoch e, once its data is applied; last is true for the last epoch
	// of the stream.
	closeEpoch(e uint64, last bool) error
}

// close moves c's frontier from from to to: the data held for each epoch in between is
// applied in epoch order, each of those epochs is closed (the stream's last one as the
// last when to is never), and then the data held for to is applied.
func (p *pending) close(c epochCloser, from, to uint64) error {
	epochs := append(p.closing[:0], from)
	for e := range p.byEpoch {
		if e < to {
			epochs = append(epochs, e)
		}
	}
	slices.Sort(epochs)
	p.closing = epochs
	for i, e := range epochs {
		if b, ok := p.unpark(e); ok {
			if err := c.apply(e, b); err != nil {
				return err
			}
		}
		if err := c.closeEpoch(e, to == never && i == len(epochs)-1); err != nil {
			return err
		}
	}
	if b, ok := p.unpark(to); ok {
		return c.apply(to, b)
	}
	return nil
}
