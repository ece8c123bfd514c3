package keyed

import (
	"fmt"
	"runtime/debug"

	"github.com/weirflow/weir/internal/codec"
	"github.com/weirflow/weir/internal/graph"
	"github.com/weirflow/weir/internal/state"
)

// Snapshot encodes the state of every key touched since the last snapshot. The states go
// into one buffer, sized by the last snapshot's bytes per key: a snapshot of 100k counts
// is a few allocations rather than one or more per key, on the worker, every epoch. The
// buffer is this snapshot's own, as the committer writes it while the next epoch runs.
func (s *stateful[V, W, S]) Snapshot() ([]state.Change, error) {
	if len(s.touched) == 0 {
		return nil, nil
	}
	changes := make([]state.Change, 0, len(s.touched))
	buf := make([]byte, 0, len(s.touched)*(s.perKey+1))
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
			return nil, err
		}
		// Capped, so that nothing appended to one state runs into the next. A buffer that
		// grows leaves the states before it where they are.
		changes = append(changes, state.Change{Key: e.key(), State: buf[start:len(buf):len(buf)]})
	}
	s.perKey = len(buf) / len(s.touched)
	clear(s.touched)
	s.touched = s.touched[:0]
	return changes, nil
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
