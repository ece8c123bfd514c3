package window

import (
	"cmp"
	"fmt"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/op"
)

// folds are the functions of a fold (Collect, Fold, Reduce, Count, Max, Min), shared by
// its windows: a window of a fold needs no logic of its own, only its accumulator, which
// the key's logic holds beside the window's id (windowLogic). So a key of tumbling windows
// is one object, and a window allocates nothing as it opens and closes.
type folds[V, A, S any] struct {
	init   func() (A, bool) // a new window's accumulator; false for Reduce, which has none
	first  func(V) A        // the accumulator of a first value, when init gave none
	folder func(A, V) A
	merger func(A, A) A
	state  func(A, bool) S // a window's snapshot (S is foldState[A])
	resume func(S) (A, bool)
}

// add folds v into window w.
func (f *folds[V, A, S]) add(w *windowLogic[V, A, S], v V) {
	if !w.has {
		w.acc, w.has = f.first(v), true
		return
	}
	w.acc = f.folder(w.acc, v)
}

// merge folds the accumulator of a session merged away, from, into the earlier one's.
func (f *folds[V, A, S]) merge(into, from *windowLogic[V, A, S]) {
	switch {
	case !from.has:
	case !into.has:
		into.acc, into.has = from.acc, true
	default:
		into.acc = f.merger(into.acc, from.acc)
	}
}

// foldState is the snapshot of a fold's window.
type foldState[A any] struct {
	Acc A
	Has bool
}

// newFolds returns the functions of a fold.
func newFolds[V, A any](init func() (A, bool), first func(V) A, folder func(A, V) A, merger func(A, A) A) *folds[V, A, foldState[A]] {
	return &folds[V, A, foldState[A]]{init: init, first: first, folder: folder, merger: merger,
		state:  func(acc A, has bool) foldState[A] { return foldState[A]{Acc: acc, Has: has} },
		resume: func(s foldState[A]) (A, bool) { return s.Acc, s.Has },
	}
}

func foldWindow[V, A any](id string, up weir.KeyedStream[V], clock Clock[V], windower Windower, ordered bool, opts []Option,
	init func() (A, bool), first func(V) A, folder func(A, V) A, merger func(A, A) A) Out[V, A] {
	return window(id, up, clock, windower, nil, newFolds(init, first, folder, merger), ordered, opts)
}

// Fold combines each window's values into an accumulator that builder makes, and emits it
// when the window closes. merger combines the accumulators of merging sessions (the
// earlier one first). Ordered by default.
func Fold[V, A any](id string, up weir.KeyedStream[V], clock Clock[V], windower Windower, builder func() A, folder func(A, V) A, merger func(A, A) A, opts ...Option) Out[V, A] {
	return foldWindow(id, up, clock, windower, true, opts,
		func() (A, bool) { return builder(), true }, nil, folder, merger)
}

// Collect gathers each window's values into a slice, emitted when the window closes.
// Ordered by default, so the values are in timestamp order.
func Collect[V any](id string, up weir.KeyedStream[V], clock Clock[V], windower Windower, opts ...Option) Out[V, []V] {
	return Fold(id, up, clock, windower, func() []V { return nil },
		func(acc []V, v V) []V { return append(acc, v) },
		func(a, b []V) []V { return append(a, b...) }, opts...)
}

// Reduce combines each window's values with reducer, the first value being the initial
// accumulator, and emits the result when the window closes. Items are applied as they
// arrive by default.
func Reduce[V any](id string, up weir.KeyedStream[V], clock Clock[V], windower Windower, reducer func(acc, v V) V, opts ...Option) Out[V, V] {
	return foldWindow(id, up, clock, windower, false, opts,
		func() (V, bool) { var zero V; return zero, false }, func(v V) V { return v }, reducer, reducer)
}

// Count counts each window's items per key, key(item) giving the key. Items are applied as
// they arrive by default.
func Count[X any](id string, up weir.Stream[X], clock Clock[X], windower Windower, key func(X) string, opts ...Option) Out[X, int] {
	outer := up.Scope()
	if outer == nil {
		return Out[X, int]{}
	}
	// Report a bad clock, windower or option under Count's own id, before the window
	// operator inside reports it under "id.sum" (a flow keeps its first build error).
	err := check(clock, windower)
	if err == nil {
		err = newConfig(false, opts).notJoin()
	}
	if err != nil {
		outer.Flow().Fail(fmt.Errorf("weir: step %s.%s: %w", outer.Path(), id, err))
	}
	inner := outer.Nest(id)
	keyed := op.KeyOn("keyed", weir.In(inner, up), key)
	out := foldWindow("sum", keyed, clock, windower, false, opts,
		func() (int, bool) { return 0, true }, nil, func(n int, _ X) int { return n + 1 }, func(a, b int) int { return a + b })
	return Out[X, int]{Down: weir.In(outer, out.Down), Late: weir.In(outer, out.Late), Meta: weir.In(outer, out.Meta), bounded: out.bounded}
}

// Max emits, when each window closes, its value with the largest by(value) (the first of
// equal ones, in arrival order by default).
func Max[V any, K cmp.Ordered](id string, up weir.KeyedStream[V], clock Clock[V], windower Windower, by func(V) K, opts ...Option) Out[V, V] {
	return Reduce(id, up, clock, windower, func(a, b V) V {
		if cmp.Less(by(a), by(b)) {
			return b
		}
		return a
	}, opts...)
}

// Min emits, when each window closes, its value with the smallest by(value). See Max.
func Min[V any, K cmp.Ordered](id string, up weir.KeyedStream[V], clock Clock[V], windower Windower, by func(V) K, opts ...Option) Out[V, V] {
	return Reduce(id, up, clock, windower, func(a, b V) V {
		if cmp.Less(by(b), by(a)) {
			return b
		}
		return a
	}, opts...)
}
