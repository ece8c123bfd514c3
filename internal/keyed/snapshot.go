package keyed

import (
	"fmt"
	"runtime/debug"
	"slices"
	"sync"

	"github.com/weirflow/weir/internal/codec"
	"github.com/weirflow/weir/internal/graph"
	"github.com/weirflow/weir/internal/state"
)

// Snapshot encodes the state of every key touched since the last snapshot. The states go
// into one buffer, sized by the last snapshot's bytes per key: a snapshot of 100k counts
// is a few allocations rather than one or more per key, on the worker, every epoch. The
// buffer is this snapshot's own, as the committer writes it while the next epoch runs.
// Once a store has written it and kept nothing, the returned function gives its changes
// and buffer back (spare): the next snapshot fills them, and the worker's snapshots make
// no garbage for the collector to chase.
func (s *stateful[V, W, S]) Snapshot() ([]state.Change, func(), error) {
	if len(s.touched) == 0 {
		return nil, nil, nil
	}
	changes, buf := s.spare.take()
	if oversized(cap(changes), len(s.touched)) {
		changes = nil
	}
	changes = slices.Grow(changes, len(s.touched))
	if need := len(s.touched) * (s.perKey + 1); cap(buf) < need || oversized(cap(buf), need) {
		buf = make([]byte, 0, need)
	}
	for _, e := range s.touched {
		e.dirty = false
		if e.dead() {
			// A key discarded and started again in this epoch: its new entry has the say.
			if live := s.keys[e.key()]; live != nil && live.dirty {
				continue
			}
			changes = append(changes, state.Change{Key: e.key(), Deleted: true})
			continue
		}
		start := len(buf)
		var err error
		if buf, err = appendSnapshot(s.codec, buf, e.key(), e.logic); err != nil {
			return nil, nil, err
		}
		// Capped, so that nothing appended to one state runs into the next. A buffer that
		// grows leaves the states before it where they are.
		changes = append(changes, state.Change{Key: e.key(), State: buf[start:len(buf):len(buf)]})
	}
	s.perKey = len(buf) / len(s.touched)
	clear(s.touched)
	s.touched = s.touched[:0]
	return changes, func() { s.spare.put(changes, buf) }, nil
}

// oversized reports whether a spare of capacity have is far larger than the need of this
// snapshot: it is then let go, so that an epoch that touched many keys does not hold its
// memory for every later, smaller one.
func oversized(have, need int) bool { return have > 4*need+256 }

// spare keeps the memory of a written snapshot for the next one: its list of changes,
// emptied, and its buffer of states (the last one, if it grew). The committer puts, the
// worker takes, each once an epoch.
type spare struct {
	mu      sync.Mutex
	changes []state.Change
	buf     []byte
}

// take returns the spare list and buffer, empty, or nils, and leaves none.
func (p *spare) take() ([]state.Change, []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	changes, buf := p.changes, p.buf
	p.changes, p.buf = nil, nil
	return changes, buf
}

// put keeps changes and buf for the next snapshot, unless the spares already kept are
// larger. The list is zeroed first, so that it holds on to no key.
func (p *spare) put(changes []state.Change, buf []byte) {
	clear(changes)
	p.mu.Lock()
	defer p.mu.Unlock()
	if cap(changes) > cap(p.changes) {
		p.changes = changes[:0]
	}
	if cap(buf) > cap(p.buf) {
		p.buf = buf[:0]
	}
}

// appendSnapshot appends the encoded snapshot of l, the logic of key, to buf. A panic in
// the logic's Snapshot or in a registered codec is the key's error.
func appendSnapshot[V, W, S any](c codec.Typed[S], buf []byte, key string, l Logic[V, W, S]) (_ []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &graph.KeyError{Key: key, Cause: &graph.PanicError{Value: r, Stack: debug.Stack()}}
		}
	}()
	out, err := c.AppendEncode(buf, l.Snapshot())
	if err != nil {
		return buf, &graph.KeyError{Key: key, Cause: fmt.Errorf("encoding snapshot: %w", err)}
	}
	return out, nil
}
