package op

import (
	"cmp"
	"fmt"
	"strconv"
	"time"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/internal/join"
	"github.com/weirflow/weir/internal/keyed"
)

// Opt is a value that may be missing: a join emits it for each side, with OK false for a
// side that has no value for the key, so that a missing value differs from a zero one.
type Opt[T any] struct {
	Value T
	OK    bool
}

// Some returns an Opt holding v.
func Some[T any](v T) Opt[T] { return Opt[T]{Value: v, OK: true} }

// Get returns the value and whether there is one.
func (o Opt[T]) Get() (T, bool) { return o.Value, o.OK }

// String formats the value, or "<none>" when there is none.
func (o Opt[T]) String() string {
	if !o.OK {
		return "<none>"
	}
	return fmt.Sprint(o.Value)
}

// JoinInsert says what a join keeps when a side gets several values for a key.
type JoinInsert int

// The insert modes of a join.
const (
	// InsertLast keeps a side's latest value.
	InsertLast JoinInsert = iota + 1
	// InsertFirst keeps a side's first value and ignores the later ones.
	InsertFirst
	// InsertProduct keeps every value, and the join emits the cartesian product of the
	// sides' values, like a SQL cross join.
	InsertProduct
)

// String returns the mode's name: "first", "last" or "product".
func (m JoinInsert) String() string {
	switch m {
	case InsertLast:
		return "last"
	case InsertFirst:
		return "first"
	case InsertProduct:
		return "product"
	}
	return "JoinInsert(" + strconv.Itoa(int(m)) + ")"
}

// JoinEmit says when a join emits.
type JoinEmit int

// The emit modes of a join.
const (
	// EmitComplete emits once every side has a value for the key, then drops the key's
	// values: the key's next value starts a new row. Keys still incomplete at the end of
	// the stream emit nothing (and are kept in the snapshot).
	EmitComplete JoinEmit = iota + 1
	// EmitFinal emits each key's row(s) at the end of the stream, then drops them. It is
	// for finite streams.
	EmitFinal
	// EmitRunning emits the key's row(s) after every value and keeps the values for ever.
	EmitRunning
)

// String returns the mode's name: "complete", "final" or "running".
func (m JoinEmit) String() string {
	switch m {
	case EmitComplete:
		return "complete"
	case EmitFinal:
		return "final"
	case EmitRunning:
		return "running"
	}
	return "JoinEmit(" + strconv.Itoa(int(m)) + ")"
}

// JoinOption changes how a join keeps and emits values: InsertMode or EmitMode. The
// plain joins of this package and the windowed joins of package window take the same
// options (window's through window.JoinModes), each join starting from its own defaults.
// An unknown mode is a build error of the join.
type JoinOption func(*join.Modes)

// InsertMode sets what a join keeps of a side's values. Default InsertLast.
func InsertMode(m JoinInsert) JoinOption {
	return func(c *join.Modes) {
		if m < InsertLast || m > InsertProduct {
			c.Err = cmp.Or(c.Err, fmt.Errorf("unknown join insert mode %v", m))
			return
		}
		c.Insert = int(m)
	}
}

// EmitMode sets when a join emits. Default EmitComplete for the joins of this package;
// the windowed joins of package window default to EmitFinal.
func EmitMode(m JoinEmit) JoinOption {
	return func(c *join.Modes) {
		if m < EmitComplete || m > EmitRunning {
			c.Err = cmp.Or(c.Err, fmt.Errorf("unknown join emit mode %v", m))
			return
		}
		c.Emit = int(m)
	}
}

// Join gathers the values of each key from two or more keyed streams of one type. Each
// row it emits has one Opt per side, in the order of sides; when and how many rows come
// out depends on the options (default InsertLast and EmitComplete: one row as soon as
// every side has a value, after which the key starts afresh).
//
// Fewer than two sides is a build error. Steps: "id.add_names.label_N" tags each side's values, "id.add_names.merge" merges
// them and "id.join.stateful_batch" keeps the per-key state. Join2 and Join3 join sides of
// different types.
func Join[V any](id string, sides []weir.KeyedStream[V], opts ...JoinOption) weir.KeyedStream[[]Opt[V]] {
	if len(sides) == 0 {
		return weir.KeyedStream[[]Opt[V]]{}
	}
	n := len(sides)
	shape := &join.Shape[join.Item[V], []Opt[V]]{
		Sides:  n,
		Side:   func(u join.Item[V]) int { return u.Side },
		NewRow: func() []Opt[V] { return make([]Opt[V], n) },
		Set:    func(r *[]Opt[V], u *join.Item[V]) { (*r)[u.Side] = Opt[V]{Value: u.Value, OK: true} },
	}
	return joinOn(id, join.SiteOf(sides), shape, opts, func(sc *weir.Scope) []weir.KeyedStream[join.Item[V]] {
		out := make([]weir.KeyedStream[join.Item[V]], n)
		for i, s := range sides {
			out[i] = MapValue(labelID(i), weir.In(sc, s), func(v V) join.Item[V] { return join.Item[V]{Side: i, Value: v} })
		}
		return out
	})
}

// Row2 is a row of Join2: one Opt per side.
type Row2[A, B any] struct {
	A Opt[A]
	B Opt[B]
}

// Row3 is a row of Join3: one Opt per side.
type Row3[A, B, C any] struct {
	A Opt[A]
	B Opt[B]
	C Opt[C]
}

// Join2 is Join of two sides of different types.
func Join2[A, B any](id string, a weir.KeyedStream[A], b weir.KeyedStream[B], opts ...JoinOption) weir.KeyedStream[Row2[A, B]] {
	type U = union3[A, B, struct{}]
	shape := &join.Shape[U, Row2[A, B]]{
		Sides:  2,
		Side:   func(u U) int { return int(u.Side) },
		NewRow: func() Row2[A, B] { return Row2[A, B]{} },
		Set: func(r *Row2[A, B], u *U) {
			if u.Side == 0 {
				r.A = Opt[A]{Value: u.A, OK: true}
			} else {
				r.B = Opt[B]{Value: u.B, OK: true}
			}
		},
	}
	return joinOn(id, join.Site(a.Scope(), b.Scope()), shape, opts, func(sc *weir.Scope) []weir.KeyedStream[U] {
		return []weir.KeyedStream[U]{
			MapValue(labelID(0), weir.In(sc, a), func(v A) U { return U{Side: 0, A: v} }),
			MapValue(labelID(1), weir.In(sc, b), func(v B) U { return U{Side: 1, B: v} }),
		}
	})
}

// Join3 is Join of three sides of different types.
func Join3[A, B, C any](id string, a weir.KeyedStream[A], b weir.KeyedStream[B], c weir.KeyedStream[C], opts ...JoinOption) weir.KeyedStream[Row3[A, B, C]] {
	type U = union3[A, B, C]
	shape := &join.Shape[U, Row3[A, B, C]]{
		Sides:  3,
		Side:   func(u U) int { return int(u.Side) },
		NewRow: func() Row3[A, B, C] { return Row3[A, B, C]{} },
		Set: func(r *Row3[A, B, C], u *U) {
			switch u.Side {
			case 0:
				r.A = Opt[A]{Value: u.A, OK: true}
			case 1:
				r.B = Opt[B]{Value: u.B, OK: true}
			default:
				r.C = Opt[C]{Value: u.C, OK: true}
			}
		},
	}
	return joinOn(id, join.Site(a.Scope(), b.Scope(), c.Scope()), shape, opts, func(sc *weir.Scope) []weir.KeyedStream[U] {
		return []weir.KeyedStream[U]{
			MapValue(labelID(0), weir.In(sc, a), func(v A) U { return U{Side: 0, A: v} }),
			MapValue(labelID(1), weir.In(sc, b), func(v B) U { return U{Side: 1, B: v} }),
			MapValue(labelID(2), weir.In(sc, c), func(v C) U { return U{Side: 2, C: v} }),
		}
	})
}

func labelID(i int) string { return "label_" + strconv.Itoa(i) }

// union3 is a value of one side of Join2 or Join3: only the field of side Side is set.
type union3[A, B, C any] struct {
	Side uint8
	A    A
	B    B
	C    C
}

// joinOn builds a join: label tags the sides' values in the add_names scope, and one
// stateful step keeps each key's values per side.
func joinOn[U, R any](id string, outer *weir.Scope, shape *join.Shape[U, R], opts []JoinOption, label func(*weir.Scope) []weir.KeyedStream[U]) weir.KeyedStream[R] {
	if outer == nil {
		return weir.KeyedStream[R]{}
	}
	defaults := join.Modes{Insert: int(InsertLast), Emit: int(EmitComplete)}
	modes := defaults
	for _, o := range opts {
		o(&modes)
	}
	if modes.Err != nil {
		outer.Flow().Fail(fmt.Errorf("weir: step %s.%s: %w", outer.Path(), id, modes.Err))
		modes = defaults
	}
	if shape.Sides < 2 {
		outer.Flow().Fail(fmt.Errorf("weir: step %s.%s: a join needs at least two sides, not %d", outer.Path(), id, shape.Sides))
	}
	inner := outer.Nest(id)
	names := inner.Nest("add_names")
	merged := weir.In(inner, Merge("merge", label(names)...))
	joined := weir.Composite("join", merged, func(in weir.KeyedStream[U]) weir.KeyedStream[R] {
		return keyed.Add("stateful_batch", in, func() func(join.Values[U], bool) Logic[U, R, join.Values[U]] {
			out := new(scratch[R])
			return func(resume join.Values[U], ok bool) Logic[U, R, join.Values[U]] {
				resume.Init(shape.Sides)
				return &joinLogic[U, R]{vals: resume, emit: JoinEmit(modes.Emit), keep: join.Keep(modes.Insert), shape: shape, out: out}
			}
		})
	})
	return weir.In(outer, joined)
}

type joinLogic[U, R any] struct {
	vals  join.Values[U]
	emit  JoinEmit
	keep  join.Keep
	shape *join.Shape[U, R]
	out   *scratch[R]
}

func (l *joinLogic[U, R]) OnBatch(values []U) ([]R, bool) {
	out := l.out.reset()
	for i := range values {
		u := &values[i]
		l.vals.Add(l.keep, l.shape.Side(*u), u)
		switch l.emit {
		case EmitComplete:
			if l.vals.Complete() {
				out = l.shape.Rows(out, &l.vals)
				// The key starts afresh: its next value, in this batch or later, opens a new row.
				l.vals.Clear()
			}
		case EmitRunning:
			out = l.shape.Rows(out, &l.vals)
		}
	}
	l.out.buf = out
	return out, l.vals.Empty()
}

func (l *joinLogic[U, R]) OnNotify() ([]R, bool) { return nil, false }

func (l *joinLogic[U, R]) OnEOF() ([]R, bool) {
	if l.emit != EmitFinal {
		return nil, false
	}
	out := l.shape.Rows(l.out.reset(), &l.vals)
	l.out.buf = out
	return out, true
}

func (l *joinLogic[U, R]) NotifyAt() (time.Time, bool) { return time.Time{}, false }

// Timeless tells the runtime not to ask NotifyAt after every activation.
func (l *joinLogic[U, R]) Timeless() {}

// KeepsStateAtEOF tells the runtime that OnEOF leaves the state as it is unless it discards
// the key (EmitFinal), so that the end of the stream does not snapshot every key again.
func (l *joinLogic[U, R]) KeepsStateAtEOF() bool    { return true }
func (l *joinLogic[U, R]) Snapshot() join.Values[U] { return l.vals }
