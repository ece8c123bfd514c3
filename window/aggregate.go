package window

import (
	"cmp"
	"fmt"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/op"
)

// foldLogic folds a window's values into an accumulator and emits it when the window closes.
type foldLogic[V, A any] struct {
	acc    A
	has    bool // false until the first value for Reduce, which has no initial accumulator
	first  func(V) A
	folder func(A, V) A
	merger func(A, A) A
	init   func() (A, bool)
	one    [1]A
}

// reset readies the logic of a closed or merged window for a new one, as the builder
// makes it: the key logic reuses it rather than allocating a logic per window.
func (l *foldLogic[V, A]) reset() {
	l.acc, l.has = l.init()
	clear(l.one[:]) // keep nothing the last result held alive
}

func (l *foldLogic[V, A]) OnValue(v V) []A {
	if !l.has {
		l.acc, l.has = l.first(v), true
		return nil
	}
	l.acc = l.folder(l.acc, v)
	return nil
}

func (l *foldLogic[V, A]) OnMerge(original foldState[A]) []A {
	switch {
	case !original.Has:
	case !l.has:
		l.acc, l.has = original.Acc, true
	default:
		l.acc = l.merger(l.acc, original.Acc)
	}
	return nil
}

func (l *foldLogic[V, A]) OnClose() []A {
	if !l.has {
		return nil
	}
	l.one[0] = l.acc
	return l.one[:]
}

func (l *foldLogic[V, A]) Snapshot() foldState[A] { return foldState[A]{Acc: l.acc, Has: l.has} }

type foldState[A any] struct {
	Acc A
	Has bool
}

func foldWindow[V, A any](id string, up weir.KeyedStream[V], clock Clock[V], windower Windower, ordered bool, opts []Option,
	init func() (A, bool), first func(V) A, folder func(A, V) A, merger func(A, A) A) Out[V, A] {
	return window(id, up, clock, windower, foldBuilder(init, first, folder, merger), ordered, opts)
}

// foldBuilder returns the builder of a fold's window logics.
func foldBuilder[V, A any](init func() (A, bool), first func(V) A, folder func(A, V) A, merger func(A, A) A) func(foldState[A], bool) Logic[V, A, foldState[A]] {
	return func(resume foldState[A], ok bool) Logic[V, A, foldState[A]] {
		l := &foldLogic[V, A]{first: first, folder: folder, merger: merger, init: init}
		if ok {
			l.acc, l.has = resume.Acc, resume.Has
		} else {
			l.reset()
		}
		return l
	}
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
