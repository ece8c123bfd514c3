package engine

import (
	"fmt"
	"time"

	"github.com/weirflow/weir/internal/graph"
)

// stateful runs a stateful step's keyed runtime on this worker's keys. Its state is
// snapshotted per epoch, so it holds data of later epochs back until it has closed the
// earlier ones: state is exactly-once.
type stateful struct {
	step
	rt    graph.StatefulRuntime
	held  pending
	sizes heldCounter // rt, if it can tell its keys and timers

	resumeErr error // the first key that failed to resume, reported by open
}

func newStateful(s step, spec *graph.StatefulSpec) *stateful {
	st := &stateful{step: s, held: newPending(s.Batch, &s.w.load)}
	// The keys this worker owns now were resumed while the store loaded them (loaded.go):
	// the runtime they went into is this step's.
	if l := s.w.r.states[s.w.id][s.Index]; l != nil {
		delete(s.w.r.states[s.w.id], s.Index)
		st.rt, st.resumeErr = l.rt, l.err
	}
	if st.rt == nil {
		st.rt = spec.New()
	}
	st.sizes, _ = st.rt.(heldCounter)
	if s.w.r.cfg.Store != nil {
		st.rt.Track()
	}
	return st
}

// open reports how resuming the keys this worker owns went: they were resumed before
// the workers started, in the order of the store's Load (for the SQLite store byte-wise,
// which spares the keyed runtime a sort; any order will do, as the runtime orders keys
// itself where it matters).
func (s *stateful) open() error {
	if err := s.resumeErr; err != nil {
		if _, ok := err.(*graph.StepError); ok {
			return err // a panic, already the step's
		}
		return s.keyErr(err, "resuming")
	}
	s.publishHeld()
	return nil
}

func (s *stateful) deliver(epoch uint64, batch any) {
	if epoch > s.w.prog.frontier(s.Index) {
		s.held.park(epoch, batch)
		return
	}
	if err := s.activate(batch, epoch, false); err != nil {
		panic(graph.StepPanic{Err: err})
	}
}

// activate runs one activation of the runtime and pushes what it emits, in epoch.
func (s *stateful) activate(batch any, epoch uint64, eof bool) error {
	w := s.w
	if f := w.prog.frontier(s.Index); epoch < f {
		panic(fmt.Sprintf("weir: internal error: step %s got epoch %d below its frontier %d", s.ID, epoch, f))
	}
	start := w.timer(s.Index)
	out, err := s.rt.Activate(batch, w.now, eof)
	w.spent(s.Index, start)
	s.publishHeld()
	if err != nil {
		return s.keyErr(err, "")
	}
	if out != nil {
		w.push(s.Node, 0, epoch, out)
	}
	return nil
}

// fire runs the notifications due by now, in the frontier's epoch: the earliest this
// step may still emit in.
func (s *stateful) fire() error {
	f := s.w.prog.frontier(s.Index)
	if f == never {
		return nil
	}
	if at, ok := s.rt.NextNotify(); ok && !at.After(s.w.now) {
		return s.activate(nil, f, false)
	}
	return nil
}

func (s *stateful) wake() (time.Time, bool) {
	if s.w.prog.frontier(s.Index) == never {
		return time.Time{}, false
	}
	return s.rt.NextNotify()
}

func (s *stateful) advance(from, to uint64) error { return s.held.close(s, from, to) }

func (s *stateful) apply(epoch uint64, batch any) error { return s.activate(batch, epoch, false) }

// closeEpoch snapshots the keys touched in epoch e; at the end of the stream OnEOF runs
// first, in the last epoch, so that what it emits and the keys it discards are in it.
func (s *stateful) closeEpoch(e uint64, last bool) error {
	if last {
		if err := s.activate(nil, e, true); err != nil {
			return err
		}
	}
	if s.w.r.cfg.Store == nil {
		return nil
	}
	start, span := s.w.snapTimer(), s.w.spans.snapshot(s.ID, e)
	changes, release, err := s.rt.Snapshot()
	s.w.snapDone(start)
	endSnapshot(span, len(changes), err)
	if err != nil {
		return &graph.StepError{Step: s.ID, Cause: err}
	}
	s.w.record(s.ID, e, changes, release)
	return nil
}
