package op

import (
	"time"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/internal/keyed"
)

// ItemLogic is the per-key logic of a Stateful step: Logic with OnItem called once per
// value instead of OnBatch once per batch.
//
// The hooks run in the order of Logic's: OnItem for each value of the key in
// arrival order, then OnNotify when the NotifyAt time has passed, then OnEOF at the end of
// the stream. When OnItem returns discard, the logic and its state are dropped at once, and
// the key's next value, even one in the same batch, gets a fresh logic from the builder.
// The emit slices a logic returns are read before its next call, so a logic may reuse one
// buffer for them. A logic may have Logic's optional KeepsStateAtEOF() bool.
type ItemLogic[V, W, S any] interface {
	OnItem(value V) (emit []W, discard bool)
	OnNotify() (emit []W, discard bool)
	OnEOF() (emit []W, discard bool)
	NotifyAt() (time.Time, bool)
	Snapshot() S
}

// Stateful runs per-key, per-item logic with state, timers and end-of-stream handling.
// builder makes the logic of a key from its resume state (ok is false for a new key), on
// the worker that owns the key: with several workers it is called concurrently. The
// step's state lives at "id.stateful_batch".
func Stateful[V, W, S any](id string, up weir.KeyedStream[V], builder func(resume S, ok bool) ItemLogic[V, W, S]) weir.KeyedStream[W] {
	return weir.Composite(id, up, func(in weir.KeyedStream[V]) weir.KeyedStream[W] {
		return keyed.Add("stateful_batch", in, func() func(S, bool) Logic[V, W, S] {
			out := new(scratch[W])
			return func(resume S, ok bool) Logic[V, W, S] {
				return &itemShim[V, W, S]{logic: builder(resume, ok), build: builder, out: out}
			}
		})
	})
}

// itemShim adapts an ItemLogic to Logic.
type itemShim[V, W, S any] struct {
	logic ItemLogic[V, W, S] // nil after a discard, until the key's next value
	build func(S, bool) ItemLogic[V, W, S]
	out   *scratch[W]
}

func (l *itemShim[V, W, S]) OnBatch(values []V) ([]W, bool) {
	out := l.out.reset()
	for _, v := range values {
		if l.logic == nil {
			var zero S
			l.logic = l.build(zero, false)
		}
		emit, discard := l.logic.OnItem(v)
		out = append(out, emit...)
		if discard {
			l.logic = nil
		}
	}
	l.out.buf = out
	return out, l.logic == nil
}

func (l *itemShim[V, W, S]) OnNotify() ([]W, bool) { return l.logic.OnNotify() }
func (l *itemShim[V, W, S]) OnEOF() ([]W, bool)    { return l.logic.OnEOF() }
func (l *itemShim[V, W, S]) NotifyAt() (time.Time, bool) {
	return l.logic.NotifyAt()
}
func (l *itemShim[V, W, S]) Snapshot() S { return l.logic.Snapshot() }

// KeepsStateAtEOF answers for the logic the shim holds, if it says (keyed.KeepsState).
func (l *itemShim[V, W, S]) KeepsStateAtEOF() bool {
	k, ok := l.logic.(keyed.KeepsState)
	return ok && k.KeepsStateAtEOF()
}

// State is one key's state, handed to the mapper of StatefulMap and StatefulFlatMap.
// A key starts with no state.
type State[S any] struct {
	value S
	ok    bool
}

// Get returns the key's state, and false when it has none.
func (s *State[S]) Get() (S, bool) { return s.value, s.ok }

// Set replaces the key's state, also after a Discard in the same call.
func (s *State[S]) Set(v S) { s.value, s.ok = v, true }

// Discard drops the key's state once the mapper returns: the key's next value starts
// with none. A key whose mapper never calls Set keeps no state either.
func (s *State[S]) Discard() {
	var zero S
	s.value, s.ok = zero, false
}

// StatefulMap transforms values one to one with a state per key: mapper gets the key's
// state handle and a value, and returns the value to emit. The state is kept until the
// mapper discards it, and snapshotted at epoch closes for recovery, so S must be a type
// the codec can encode (exported fields). Its step id is "id.stateful_flat_map.stateful.stateful_batch".
func StatefulMap[V, W, S any](id string, up weir.KeyedStream[V], mapper func(st *State[S], v V) W) weir.KeyedStream[W] {
	return weir.Composite(id, up, func(in weir.KeyedStream[V]) weir.KeyedStream[W] {
		return weir.Composite("stateful_flat_map", in, func(in weir.KeyedStream[V]) weir.KeyedStream[W] {
			return stateMapper(in, func(out []W, st *State[S], v V) []W {
				return append(out, mapper(st, v))
			})
		})
	})
}

// StatefulFlatMap transforms values one to many with a state per key: mapper gets the
// key's state handle and a value, and returns the values to emit (read before the next
// call, so the mapper may reuse one slice). See StatefulMap for the state's life. Its step
// id is "id.stateful.stateful_batch".
func StatefulFlatMap[V, W, S any](id string, up weir.KeyedStream[V], mapper func(st *State[S], v V) []W) weir.KeyedStream[W] {
	return weir.Composite(id, up, func(in weir.KeyedStream[V]) weir.KeyedStream[W] {
		return stateMapper(in, func(out []W, st *State[S], v V) []W {
			return append(out, mapper(st, v)...)
		})
	})
}

// stateMapper declares the composite "stateful" under StatefulMap and StatefulFlatMap. It
// runs the mapper over a key's whole batch directly, not through ItemLogic: one call per
// item, not two.
func stateMapper[V, W, S any](up weir.KeyedStream[V], apply func(out []W, st *State[S], v V) []W) weir.KeyedStream[W] {
	return weir.Composite("stateful", up, func(in weir.KeyedStream[V]) weir.KeyedStream[W] {
		return keyed.Add("stateful_batch", in, func() func(S, bool) Logic[V, W, S] {
			out := new(scratch[W])
			return func(resume S, ok bool) Logic[V, W, S] {
				return &mapLogic[V, W, S]{st: State[S]{value: resume, ok: ok}, apply: apply, out: out}
			}
		})
	})
}

type mapLogic[V, W, S any] struct {
	st    State[S]
	apply func(out []W, st *State[S], v V) []W
	out   *scratch[W]
}

func (l *mapLogic[V, W, S]) OnBatch(values []V) ([]W, bool) {
	out := l.out.reset()
	for _, v := range values {
		out = l.apply(out, &l.st, v)
	}
	l.out.buf = out
	return out, !l.st.ok
}

func (l *mapLogic[V, W, S]) OnNotify() ([]W, bool)       { return nil, false }
func (l *mapLogic[V, W, S]) OnEOF() ([]W, bool)          { return nil, false }
func (l *mapLogic[V, W, S]) NotifyAt() (time.Time, bool) { return time.Time{}, false }

// Timeless tells the runtime not to ask NotifyAt after every activation.
func (l *mapLogic[V, W, S]) Timeless()   {}
func (l *mapLogic[V, W, S]) Snapshot() S { return l.st.value }

// KeepsStateAtEOF tells the runtime that OnEOF leaves the state as it is, as Bytewax's
// stateful_map does, so that the end of the stream does not snapshot every key again.
func (l *mapLogic[V, W, S]) KeepsStateAtEOF() bool { return true }

// scratch is a worker's reusable emit buffer, shared by the logics of all its keys: the
// stateful runtime copies what a logic emits before it calls the next one (graph.stateful's
// finish), so one buffer per worker is enough and no key holds one of its own.
type scratch[W any] struct{ buf []W }

// reset empties the buffer, clearing the old items so they do not outlive their use.
func (s *scratch[W]) reset() []W {
	clear(s.buf)
	return s.buf[:0]
}

// one returns a one-item emit slice in the buffer.
func (s *scratch[W]) one(w W) []W {
	s.buf = append(s.reset(), w)
	return s.buf
}
