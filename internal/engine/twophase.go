package engine

import (
	"fmt"
	"sync"
)

// twoPhase tells the parts of two-phase sinks (sink.Committer, a transactional Kafka
// sink) when their epochs commit. A part makes an epoch's writes ready at the epoch's
// close (its Prepare, whose position is recorded with the epoch); once the epoch is committed in the store
// for every worker of the run, a goroutine of its own calls Commit on every such part of
// this process, so that the writes become visible only when a resumed run would never
// redo them. The goroutine is woken by each write of the store: by this process's
// committers, and in a cluster by the other processes' notices that a worker's frontier
// is written everywhere (clusterStore.Write).
//
// The parts are closed after the last Commit, at the end of the run (finish), and not by
// their workers: a worker's last epochs may commit after the worker is done.
type twoPhase struct {
	wake chan struct{} // a store write happened; capacity 1
	stop chan struct{}
	done chan struct{}

	mu    sync.Mutex // parts, last
	parts []commitPart
	last  uint64 // the epoch the parts were last told of; below the run's start: none
}

type commitPart struct {
	out *output
	s   *sinkPart
}

// add registers a part of a two-phase sink; its worker will not close it.
func (t *twoPhase) add(o *output, s *sinkPart) {
	t.mu.Lock()
	t.parts = append(t.parts, commitPart{out: o, s: s})
	t.mu.Unlock()
}

// poke wakes the goroutine: an epoch may have committed.
func (t *twoPhase) poke() {
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

// startTwoPhase starts the goroutine that commits the two-phase sinks' epochs, in a run
// with a store.
func (r *runState) startTwoPhase() {
	t := &r.twoPhase
	t.wake, t.stop, t.done = make(chan struct{}, 1), make(chan struct{}), make(chan struct{})
	t.last = r.start - 1
	go func() {
		defer close(t.done)
		for {
			select {
			case <-t.stop:
				return
			case <-t.wake:
				if err := r.commitEpochs(); err != nil {
					r.fail(err)
					return
				}
			}
		}
	}()
}

// commitEpochs tells every two-phase part that the epochs up to the last committed one
// are committed, if that epoch is new.
func (r *runState) commitEpochs() error {
	t := &r.twoPhase
	t.mu.Lock()
	defer t.mu.Unlock()
	e := r.resumable() - 1 // every epoch below the resumable one is committed
	if e <= t.last {
		return nil
	}
	for _, p := range t.parts {
		if err := p.s.twoPhase.Commit(e); err != nil {
			return p.out.partErr(p.s.name, fmt.Errorf("committing epoch %d: %w", e, err))
		}
	}
	t.last = e
	return nil
}

// finishTwoPhase ends the goroutine once every worker's committer is done, commits what
// the run committed and has not yet told the parts of, and closes them. err is how the
// run ended; finishTwoPhase returns it, or its own first error when the run had none.
func (r *runState) finishTwoPhase(err error) error {
	t := &r.twoPhase
	if t.stop == nil {
		return err
	}
	close(t.stop)
	<-t.done
	cerr := r.commitEpochs()
	for _, p := range t.parts {
		if e := p.s.part.Close(); e != nil && cerr == nil {
			cerr = p.out.partErr(p.s.name, fmt.Errorf("closing: %w", e))
		}
	}
	if err == nil {
		err = cerr
	}
	return err
}
