package window

import (
	"fmt"
	"time"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/internal/join"
	"github.com/weirflow/weir/op"
)

// Join gathers, per key and window, the values of two or more keyed streams of one
// type, clock giving each value its time whatever its side. Each row it emits on Down
// has one op.Opt per side, in the order of sides, missing (OK false) for a side without
// a value in the window. The modes, given with JoinModes, say which rows and when:
//
//   - insert op.InsertLast (the default) keeps each side's latest value in the window,
//     op.InsertFirst its first, op.InsertProduct all of them, and the rows are then their
//     cartesian product;
//   - emit op.EmitFinal (the default) emits the window's rows when it closes;
//     op.EmitComplete emits them as soon as every side has a value, then clears the
//     values (not the window: its next values make new rows) and emits nothing at close;
//     op.EmitRunning emits them after every value.
//
// When sessions merge, the values of the later session are added to the earlier one's
// as if they had come one by one (first keeps the earlier's value of each side that has
// one, last the later's, product both, earlier first), and a complete or running join
// emits as it would after a value.
//
// Join is ordered by default, so first and last mean by time; Ordered(false) applies
// values as they arrive, for earlier complete and running rows, but then the order of
// values of different sides, and the rows, depend on how the sides' inputs interleave.
// In ordered mode sessions never merge: values come in time order.
//
// Late has each late value as a row with only its side set. Fewer than two sides and
// unknown modes are build errors. Steps: "id.add_names.label_N" tags each side's
// values, "id.add_names.merge" merges them, "id.join" is the window operator (with
// Window's steps: its state lives at "id.join.stateful_batch") and "id.late_rows" makes
// rows of late values. Join2 and Join3 join sides of different types.
func Join[V any](id string, sides []weir.KeyedStream[V], clock Clock[V], windower Windower, opts ...Option) Out[[]op.Opt[V], []op.Opt[V]] {
	if len(sides) == 0 {
		return Out[[]op.Opt[V], []op.Opt[V]]{}
	}
	n := len(sides)
	type U = join.Item[V]
	shape := &join.Shape[U, []op.Opt[V]]{
		Sides:  n,
		Side:   func(u U) int { return u.Side },
		NewRow: func() []op.Opt[V] { return make([]op.Opt[V], n) },
		Set:    func(r *[]op.Opt[V], u *U) { (*r)[u.Side] = op.Some(u.Value) },
	}
	tagged := clockOf(clock, func(u U) V { return u.Value })
	outer := join.SiteOf(sides)
	out, inner := joinOn(id, outer, tagged, windower, shape, opts, func(sc *weir.Scope) []weir.KeyedStream[U] {
		out := make([]weir.KeyedStream[U], n)
		for i, s := range sides {
			out[i] = op.MapValue(joinLabel(i), weir.In(sc, s), func(v V) U { return U{Side: i, Value: v} })
		}
		return out
	})
	if inner == nil {
		return Out[[]op.Opt[V], []op.Opt[V]]{}
	}
	late := op.MapValue("late_rows", out.Late, func(w Windowed[U]) Windowed[[]op.Opt[V]] {
		r := shape.NewRow()
		shape.Set(&r, &w.Value)
		return Windowed[[]op.Opt[V]]{Window: w.Window, Value: r}
	})
	return Out[[]op.Opt[V], []op.Opt[V]]{
		Down:    weir.In(outer, out.Down),
		Late:    weir.In(outer, late),
		Meta:    weir.In(outer, out.Meta),
		bounded: out.bounded,
	}
}

// Join2 is Join of two sides of different types. Its values travel as rows with one side
// set, so its clock is over rows: build an event clock from a timestamp function per
// side with RowTime2, or use SystemClock[op.Row2[A, B]]. Late has rows too, and there is
// no "id.late_rows" step.
func Join2[A, B any](id string, a weir.KeyedStream[A], b weir.KeyedStream[B], clock Clock[op.Row2[A, B]], windower Windower, opts ...Option) Out[op.Row2[A, B], op.Row2[A, B]] {
	type R = op.Row2[A, B]
	shape := &join.Shape[R, R]{
		Sides: 2,
		Side: func(r R) int {
			if r.A.OK {
				return 0
			}
			return 1
		},
		NewRow: func() R { return R{} },
		Set: func(r *R, u *R) {
			if u.A.OK {
				r.A = u.A
			} else {
				r.B = u.B
			}
		},
	}
	outer := join.Site(a.Scope(), b.Scope())
	out, inner := joinOn(id, outer, clock, windower, shape, opts, func(sc *weir.Scope) []weir.KeyedStream[R] {
		return []weir.KeyedStream[R]{
			op.MapValue(joinLabel(0), weir.In(sc, a), func(v A) R { return R{A: op.Some(v)} }),
			op.MapValue(joinLabel(1), weir.In(sc, b), func(v B) R { return R{B: op.Some(v)} }),
		}
	})
	return joinOut(outer, inner, out)
}

// Join3 is Join of three sides of different types. Its values travel as rows with one
// side set, so its clock is over rows: build an event clock with RowTime3, or use
// SystemClock[op.Row3[A, B, C]].
func Join3[A, B, C any](id string, a weir.KeyedStream[A], b weir.KeyedStream[B], c weir.KeyedStream[C], clock Clock[op.Row3[A, B, C]], windower Windower, opts ...Option) Out[op.Row3[A, B, C], op.Row3[A, B, C]] {
	type R = op.Row3[A, B, C]
	shape := &join.Shape[R, R]{
		Sides: 3,
		Side: func(r R) int {
			switch {
			case r.A.OK:
				return 0
			case r.B.OK:
				return 1
			}
			return 2
		},
		NewRow: func() R { return R{} },
		Set: func(r *R, u *R) {
			switch {
			case u.A.OK:
				r.A = u.A
			case u.B.OK:
				r.B = u.B
			default:
				r.C = u.C
			}
		},
	}
	outer := join.Site(a.Scope(), b.Scope(), c.Scope())
	out, inner := joinOn(id, outer, clock, windower, shape, opts, func(sc *weir.Scope) []weir.KeyedStream[R] {
		return []weir.KeyedStream[R]{
			op.MapValue(joinLabel(0), weir.In(sc, a), func(v A) R { return R{A: op.Some(v)} }),
			op.MapValue(joinLabel(1), weir.In(sc, b), func(v B) R { return R{B: op.Some(v)} }),
			op.MapValue(joinLabel(2), weir.In(sc, c), func(v C) R { return R{C: op.Some(v)} }),
		}
	})
	return joinOut(outer, inner, out)
}

// RowTime2 returns the timestamp function of an event clock for Join2: a gives the time
// of side A's values, b of side B's.
func RowTime2[A, B any](a func(A) time.Time, b func(B) time.Time) func(op.Row2[A, B]) time.Time {
	return func(r op.Row2[A, B]) time.Time {
		if r.A.OK {
			return a(r.A.Value)
		}
		return b(r.B.Value)
	}
}

// RowTime3 returns the timestamp function of an event clock for Join3: a, b and c give
// the times of the values of sides A, B and C.
func RowTime3[A, B, C any](a func(A) time.Time, b func(B) time.Time, c func(C) time.Time) func(op.Row3[A, B, C]) time.Time {
	return func(r op.Row3[A, B, C]) time.Time {
		switch {
		case r.A.OK:
			return a(r.A.Value)
		case r.B.OK:
			return b(r.B.Value)
		}
		return c(r.C.Value)
	}
}

func joinLabel(i int) string { return fmt.Sprintf("label_%d", i) }

// joinOut moves a join's streams from its inner scope to outer.
func joinOut[V, W any](outer, inner *weir.Scope, out Out[V, W]) Out[V, W] {
	if inner == nil {
		return Out[V, W]{}
	}
	return Out[V, W]{Down: weir.In(outer, out.Down), Late: weir.In(outer, out.Late), Meta: weir.In(outer, out.Meta), bounded: out.bounded}
}

// joinOn builds a windowed join in scope "id" of outer: label tags the sides' values in
// "id.add_names", and the window operator "id.join" keeps each window's values per side.
// It returns the window's streams, still in the inner scope, and that scope (nil when
// there is nothing to build in).
func joinOn[U, R any](id string, outer *weir.Scope, clock Clock[U], windower Windower, shape *join.Shape[U, R], opts []Option, label func(*weir.Scope) []weir.KeyedStream[U]) (Out[U, R], *weir.Scope) {
	if outer == nil {
		return Out[U, R]{}, nil
	}
	cfg := newConfig(true, opts)
	defaults := join.Modes{Insert: int(op.InsertLast), Emit: int(op.EmitFinal)}
	modes := defaults
	for _, o := range cfg.modes {
		o(&modes)
	}
	fail := func(err error) { outer.Flow().Fail(fmt.Errorf("weir: step %s.%s: %w", outer.Path(), id, err)) }
	if modes.Err != nil {
		fail(modes.Err)
		modes = defaults
	}
	if shape.Sides < 2 {
		fail(fmt.Errorf("a join needs at least two sides, not %d", shape.Sides))
	}
	// Report a bad windower or clock under the join's own id, before the window operator
	// inside reports it under "id.join" (a flow keeps its first build error).
	if err := check(clock, windower); err != nil {
		fail(err)
	}
	k := &joinKind[U, R]{shape: shape, keep: join.Keep(modes.Insert), emit: op.JoinEmit(modes.Emit)}
	inner := outer.Nest(id)
	names := inner.Nest("add_names")
	merged := weir.In(inner, op.Merge("merge", label(names)...))
	// The modes were read here: the window operator inside gets only the order.
	return window("join", merged, clock, windower, k.logic, nil, cfg.ordered, nil), inner
}

// joinKind is a windowed join's configuration, shared by all its windows.
type joinKind[U, R any] struct {
	shape *join.Shape[U, R]
	keep  join.Keep
	emit  op.JoinEmit
}

func (k *joinKind[U, R]) logic(resume join.Values[U], _ bool) Logic[U, R, join.Values[U]] {
	resume.Init(k.shape.Sides)
	return &joinLogic[U, R]{joinKind: k, vals: resume}
}

// joinLogic is the Logic of one window of a join.
type joinLogic[U, R any] struct {
	*joinKind[U, R]
	vals join.Values[U]
	out  []R // the window operator copies what a logic returns before calling it again
}

func (l *joinLogic[U, R]) OnValue(u U) []R {
	l.vals.Add(l.keep, l.shape.Side(u), &u)
	return l.changed()
}

func (l *joinLogic[U, R]) OnMerge(later join.Values[U]) []R {
	l.vals.Merge(l.keep, later)
	return l.changed()
}

// changed emits what the emit mode asks for after the values changed.
func (l *joinLogic[U, R]) changed() []R {
	switch l.emit {
	case op.EmitComplete:
		if !l.vals.Complete() {
			return nil
		}
		out := l.rows()
		l.vals.Clear()
		return out
	case op.EmitRunning:
		return l.rows()
	}
	return nil
}

func (l *joinLogic[U, R]) OnClose() []R {
	if l.emit != op.EmitFinal || l.vals.Empty() {
		return nil
	}
	return l.rows()
}

func (l *joinLogic[U, R]) rows() []R {
	clear(l.out)
	l.out = l.shape.Rows(l.out[:0], &l.vals)
	return l.out
}

func (l *joinLogic[U, R]) Snapshot() join.Values[U] { return l.vals }
