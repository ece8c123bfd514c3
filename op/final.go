package op

import (
	"cmp"
	"time"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/internal/keyed"
)

// The operators of this file emit one value per key, only at the end of the stream, and
// then drop the key's state: they are for finite streams (use package window on endless
// ones). Until then a key's accumulator is part of every snapshot, so a resumed run
// continues the aggregate. An aborted run emits nothing. Each key's values meet the
// user's function in arrival order, but the keys of a batch in no particular order:
// nothing is emitted before the end, so the runtime need not sort them.

// FoldFinal combines each key's values into an accumulator, which builder makes when the
// key first appears, and emits the accumulator at the end of the stream. Its step id is
// "id.stateful.stateful_batch".
func FoldFinal[V, A any](id string, up weir.KeyedStream[V], builder func() A, folder func(acc A, v V) A) weir.KeyedStream[A] {
	return weir.Composite(id, up, func(in weir.KeyedStream[V]) weir.KeyedStream[A] {
		return finalStep("stateful", in, func(resume A, ok bool) Logic[V, A, A] {
			if !ok {
				resume = builder()
			}
			return &finalLogic[V, A]{acc: resume, has: true, fold: folder}
		})
	})
}

// ReduceFinal combines each key's values with reducer, the first value being the initial
// accumulator, and emits the result at the end of the stream.
//
// Each worker first reduces what it reads to one value per key ("id.pre_reduce", a
// combiner), holding these partial values across its batches until the epoch closes (or
// until it holds some thousands of keys), so that only they travel to the key's owner
// ("id.fold_final.stateful.stateful_batch"): about one item per key and epoch from each
// worker instead of every item. Nothing is held past an epoch, so snapshots and resume
// are those of the owner's step alone. reducer must therefore be associative, and, for
// the result not to depend on how items are spread over workers, commutative. With one
// worker, values meet reducer in arrival order. A panic in reducer names the step it ran
// in, pre_reduce or the owner's, and the key.
func ReduceFinal[V any](id string, up weir.KeyedStream[V], reducer func(acc, v V) V) weir.KeyedStream[V] {
	return reduceFinal(id, up, reducer, func(resume V, ok bool) Logic[V, V, V] {
		return &finalLogic[V, V]{acc: resume, has: ok, first: identity[V], fold: reducer}
	})
}

// reduceFinal is ReduceFinal with the logic of its fold_final step made by build, which
// must reduce as reducer does.
func reduceFinal[V any](id string, up weir.KeyedStream[V], reducer func(acc, v V) V, build func(resume V, ok bool) Logic[V, V, V]) weir.KeyedStream[V] {
	return weir.Composite(id, up, func(in weir.KeyedStream[V]) weir.KeyedStream[V] {
		pre := combine("pre_reduce", in, reducer)
		return weir.Composite("fold_final", pre, func(in weir.KeyedStream[V]) weir.KeyedStream[V] {
			return finalStep("stateful", in, build)
		})
	})
}

// CountFinal counts the items of each key, key(item) giving the key, and emits the counts
// at the end of the stream. It maps every item to (key, 1) ("id.init_count") and sums
// as ReduceFinal does ("id.sum": the same steps and snapshots, with the addition written
// out), so each worker counts what it reads in an epoch before the exchange.
func CountFinal[X any](id string, up weir.Stream[X], key func(X) string) weir.KeyedStream[int] {
	return weir.Composite(id, up, func(in weir.Stream[X]) weir.KeyedStream[int] {
		ones := Map("init_count", in, func(x X) weir.KV[int] { return weir.KV[int]{Key: key(x), Value: 1} })
		return reduceFinal("sum", ones, func(a, b int) int { return a + b }, func(resume int, _ bool) Logic[int, int, int] {
			return &sumLogic{n: resume}
		})
	})
}

// MaxFinal emits, at the end of the stream, each key's value with the largest by(value)
// (cmp.Compare order: a NaN is smaller than any number). It emits the whole winning
// value; among equal ones the first to arrive wins with one worker, any of them with
// several. It is ReduceFinal ("id.reduce_final") with a comparison.
func MaxFinal[V any, K cmp.Ordered](id string, up weir.KeyedStream[V], by func(V) K) weir.KeyedStream[V] {
	return weir.Composite(id, up, func(in weir.KeyedStream[V]) weir.KeyedStream[V] {
		return ReduceFinal("reduce_final", in, func(a, b V) V {
			if cmp.Less(by(a), by(b)) {
				return b
			}
			return a
		})
	})
}

// MinFinal emits, at the end of the stream, each key's value with the smallest by(value).
// See MaxFinal.
func MinFinal[V any, K cmp.Ordered](id string, up weir.KeyedStream[V], by func(V) K) weir.KeyedStream[V] {
	return weir.Composite(id, up, func(in weir.KeyedStream[V]) weir.KeyedStream[V] {
		return ReduceFinal("reduce_final", in, func(a, b V) V {
			if cmp.Less(by(b), by(a)) {
				return b
			}
			return a
		})
	})
}

// finalStep is the stateful composite "id.stateful_batch" under the Final operators.
// Its logics share one emit buffer per worker (finalOut).
func finalStep[V, A any](id string, up weir.KeyedStream[V], build func(resume A, ok bool) Logic[V, A, A]) weir.KeyedStream[A] {
	return weir.Composite(id, up, func(in weir.KeyedStream[V]) weir.KeyedStream[A] {
		return keyed.Add("stateful_batch", in, func() func(A, bool) Logic[V, A, A] {
			out := new(scratch[A])
			return func(resume A, ok bool) Logic[V, A, A] {
				l := build(resume, ok)
				l.(finalOut[A]).setOut(out)
				return l
			}
		})
	})
}

// finalOut is implemented by the Final operators' logics, which emit through a buffer
// their step's runtime gives them.
type finalOut[A any] interface{ setOut(out *scratch[A]) }

// finalLogic folds a key's values into acc. Until has is set (ReduceFinal's new keys),
// the first value makes the accumulator instead.
type finalLogic[V, A any] struct {
	acc   A
	has   bool
	first func(V) A
	fold  func(A, V) A
	out   *scratch[A]
}

func identity[V any](v V) V { return v }

func (l *finalLogic[V, A]) setOut(out *scratch[A]) { l.out = out }

func (l *finalLogic[V, A]) OnBatch(values []V) ([]A, bool) {
	if !l.has && len(values) > 0 {
		l.acc, l.has = l.first(values[0]), true
		values = values[1:]
	}
	for _, v := range values {
		l.acc = l.fold(l.acc, v)
	}
	return nil, false
}

// The Final operators' logics fold each item as it comes (keyed.Folding).
var _ keyed.Folding[int] = (*finalLogic[int, int])(nil)

// FoldOne is OnBatch of one value, which the runtime calls as each item comes
// (keyed.Folding), without gathering a key's values first.
func (l *finalLogic[V, A]) FoldOne(v V) {
	if !l.has {
		l.acc, l.has = l.first(v), true
		return
	}
	l.acc = l.fold(l.acc, v)
}

func (l *finalLogic[V, A]) OnNotify() ([]A, bool)       { return nil, false }
func (l *finalLogic[V, A]) OnEOF() ([]A, bool)          { return l.out.one(l.acc), true }
func (l *finalLogic[V, A]) NotifyAt() (time.Time, bool) { return time.Time{}, false }

// Timeless tells the runtime not to ask NotifyAt after every activation.
func (l *finalLogic[V, A]) Timeless() {}

// Quiet tells the runtime that OnBatch emits nothing, so that keys need not run in key
// order: the fold of each key still gets its values in arrival order.
func (l *finalLogic[V, A]) Quiet()      {}
func (l *finalLogic[V, A]) Snapshot() A { return l.acc }

// sumLogic is finalLogic for CountFinal's sum written out: the runtime folds every item
// with FoldOne, and an addition in place costs a good share less than a call of the
// reducer through a func value. A new key starts at 0, which adds up to what ReduceFinal's
// first value would give, so its snapshots are the same.
type sumLogic struct {
	n   int
	out *scratch[int]
}

// The logic of CountFinal folds each item as it comes (keyed.Folding).
var _ keyed.Folding[int] = (*sumLogic)(nil)

func (l *sumLogic) setOut(out *scratch[int]) { l.out = out }

func (l *sumLogic) OnBatch(values []int) ([]int, bool) {
	for _, v := range values {
		l.n += v
	}
	return nil, false
}

// FoldOne is OnBatch of one value (keyed.Folding).
func (l *sumLogic) FoldOne(v int)               { l.n += v }
func (l *sumLogic) OnNotify() ([]int, bool)     { return nil, false }
func (l *sumLogic) OnEOF() ([]int, bool)        { return l.out.one(l.n), true }
func (l *sumLogic) NotifyAt() (time.Time, bool) { return time.Time{}, false }
func (l *sumLogic) Timeless()                   {}
func (l *sumLogic) Quiet()                      {}
func (l *sumLogic) Snapshot() int               { return l.n }
