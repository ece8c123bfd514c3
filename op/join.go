package op

import (
	"fmt"
	"strconv"
	"time"

	"github.com/weirflow/weir"
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

// JoinConfig is how a join keeps and emits values. Join options set it; a joining
// operator starts from its own defaults.
type JoinConfig struct {
	Insert JoinInsert
	Emit   JoinEmit
}

// Validate reports an unknown mode.
func (c JoinConfig) Validate() error {
	if c.Insert < InsertLast || c.Insert > InsertProduct {
		return fmt.Errorf("weir: unknown join insert mode %v", c.Insert)
	}
	if c.Emit < EmitComplete || c.Emit > EmitRunning {
		return fmt.Errorf("weir: unknown join emit mode %v", c.Emit)
	}
	return nil
}

// JoinOption changes one setting of a join.
type JoinOption func(*JoinConfig)

// InsertMode sets what a join keeps of a side's values, overriding the default of
// InsertLast.
func InsertMode(m JoinInsert) JoinOption { return func(c *JoinConfig) { c.Insert = m } }

// EmitMode sets when a join emits, overriding the default of EmitComplete (for the
// plain joins of this package; windowed joins default to EmitFinal).
func EmitMode(m JoinEmit) JoinOption { return func(c *JoinConfig) { c.Emit = m } }

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
	shape := &joinShape[joinItem[V], []Opt[V]]{
		sides:  n,
		side:   func(u *joinItem[V]) int { return u.Side },
		newRow: func() []Opt[V] { return make([]Opt[V], n) },
		set:    func(r *[]Opt[V], u *joinItem[V]) { (*r)[u.Side] = Opt[V]{Value: u.Value, OK: true} },
	}
	return joinOn(id, sides[0].Scope(), shape, opts, func(sc *weir.Scope) []weir.KeyedStream[joinItem[V]] {
		out := make([]weir.KeyedStream[joinItem[V]], n)
		for i, s := range sides {
			out[i] = MapValue(labelID(i), weir.In(sc, s), func(v V) joinItem[V] { return joinItem[V]{Side: i, Value: v} })
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
	shape := &joinShape[U, Row2[A, B]]{
		sides:  2,
		side:   func(u *U) int { return int(u.Side) },
		newRow: func() Row2[A, B] { return Row2[A, B]{} },
		set: func(r *Row2[A, B], u *U) {
			if u.Side == 0 {
				r.A = Opt[A]{Value: u.A, OK: true}
			} else {
				r.B = Opt[B]{Value: u.B, OK: true}
			}
		},
	}
	return joinOn(id, a.Scope(), shape, opts, func(sc *weir.Scope) []weir.KeyedStream[U] {
		return []weir.KeyedStream[U]{
			MapValue(labelID(0), weir.In(sc, a), func(v A) U { return U{Side: 0, A: v} }),
			MapValue(labelID(1), weir.In(sc, b), func(v B) U { return U{Side: 1, B: v} }),
		}
	})
}

// Join3 is Join of three sides of different types.
func Join3[A, B, C any](id string, a weir.KeyedStream[A], b weir.KeyedStream[B], c weir.KeyedStream[C], opts ...JoinOption) weir.KeyedStream[Row3[A, B, C]] {
	type U = union3[A, B, C]
	shape := &joinShape[U, Row3[A, B, C]]{
		sides:  3,
		side:   func(u *U) int { return int(u.Side) },
		newRow: func() Row3[A, B, C] { return Row3[A, B, C]{} },
		set: func(r *Row3[A, B, C], u *U) {
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
	return joinOn(id, a.Scope(), shape, opts, func(sc *weir.Scope) []weir.KeyedStream[U] {
		return []weir.KeyedStream[U]{
			MapValue(labelID(0), weir.In(sc, a), func(v A) U { return U{Side: 0, A: v} }),
			MapValue(labelID(1), weir.In(sc, b), func(v B) U { return U{Side: 1, B: v} }),
			MapValue(labelID(2), weir.In(sc, c), func(v C) U { return U{Side: 2, C: v} }),
		}
	})
}

func labelID(i int) string { return "label_" + strconv.Itoa(i) }

// joinItem is a value of side Side of a Join: the sides' values travel merged, as a
// plain struct, so that no value is boxed.
type joinItem[V any] struct {
	Side  int
	Value V
}

// union3 is a value of one side of Join2 or Join3: only the field of side Side is set.
type union3[A, B, C any] struct {
	Side uint8
	A    A
	B    B
	C    C
}

// joinShape is what the join core needs to know of a join's item type U (one side's
// value, tagged) and row type R.
type joinShape[U, R any] struct {
	sides  int
	side   func(*U) int
	newRow func() R         // a row with every side missing
	set    func(r *R, u *U) // sets u's side in r
}

// joinOn builds a join: label tags the sides' values in the add_names scope, and one
// stateful step keeps each key's values per side.
func joinOn[U, R any](id string, outer *weir.Scope, shape *joinShape[U, R], opts []JoinOption, label func(*weir.Scope) []weir.KeyedStream[U]) weir.KeyedStream[R] {
	if outer == nil {
		return weir.KeyedStream[R]{}
	}
	cfg := JoinConfig{Insert: InsertLast, Emit: EmitComplete}
	for _, o := range opts {
		o(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		outer.Flow().Fail(fmt.Errorf("weir: step %s.%s: %w", outer.Path(), id, err))
		cfg = JoinConfig{Insert: InsertLast, Emit: EmitComplete}
	}
	if shape.sides < 2 {
		outer.Flow().Fail(fmt.Errorf("weir: step %s.%s: a join needs at least two sides, not %d", outer.Path(), id, shape.sides))
	}
	inner := outer.Nest(id)
	names := inner.Nest("add_names")
	merged := weir.In(inner, Merge("merge", label(names)...))
	joined := weir.Composite("join", merged, func(in weir.KeyedStream[U]) weir.KeyedStream[R] {
		return statefulPerWorker("stateful_batch", in, func() func(joinState[U], bool) Logic[U, R, joinState[U]] {
			w := &joinWorker[R]{idx: make([]int, shape.sides)}
			return func(resume joinState[U], ok bool) Logic[U, R, joinState[U]] {
				if len(resume.Sides) < shape.sides {
					resume.Sides = append(resume.Sides, make([][]U, shape.sides-len(resume.Sides))...)
				}
				return &joinLogic[U, R]{st: resume, cfg: cfg, shape: shape, w: w}
			}
		})
	})
	return weir.In(outer, joined)
}

// joinState is a key's values, per side.
type joinState[U any] struct {
	Sides [][]U
}

// joinWorker is a worker's scratch space, shared by its keys' logics.
type joinWorker[R any] struct {
	scratch[R]
	idx []int
}

type joinLogic[U, R any] struct {
	st    joinState[U]
	cfg   JoinConfig
	shape *joinShape[U, R]
	w     *joinWorker[R]
}

func (l *joinLogic[U, R]) OnBatch(values []U) ([]R, bool) {
	out := l.w.reset()
	for i := range values {
		u := &values[i]
		s := l.shape.side(u)
		vals := l.st.Sides[s]
		switch l.cfg.Insert {
		case InsertFirst:
			if len(vals) == 0 {
				vals = append(vals, *u)
			}
		case InsertLast:
			clear(vals)
			vals = append(vals[:0], *u)
		case InsertProduct:
			vals = append(vals, *u)
		}
		l.st.Sides[s] = vals
		switch l.cfg.Emit {
		case EmitComplete:
			if l.complete() {
				out = l.rows(out)
				// The key starts afresh: its next value, in this batch or later, opens a new row.
				for s := range l.st.Sides {
					clear(l.st.Sides[s])
					l.st.Sides[s] = l.st.Sides[s][:0]
				}
			}
		case EmitRunning:
			out = l.rows(out)
		}
	}
	l.w.buf = out
	return out, l.empty()
}

func (l *joinLogic[U, R]) OnNotify() ([]R, bool) { return nil, false }

func (l *joinLogic[U, R]) OnEOF() ([]R, bool) {
	if l.cfg.Emit != EmitFinal {
		return nil, false
	}
	out := l.rows(l.w.reset())
	l.w.buf = out
	return out, true
}

func (l *joinLogic[U, R]) NotifyAt() (time.Time, bool) { return time.Time{}, false }

// Timeless tells the runtime not to ask NotifyAt after every activation.
func (l *joinLogic[U, R]) Timeless()              {}
func (l *joinLogic[U, R]) Snapshot() joinState[U] { return l.st }

func (l *joinLogic[U, R]) complete() bool {
	for _, vals := range l.st.Sides {
		if len(vals) == 0 {
			return false
		}
	}
	return true
}

func (l *joinLogic[U, R]) empty() bool {
	for _, vals := range l.st.Sides {
		if len(vals) > 0 {
			return false
		}
	}
	return true
}

// rows appends the cartesian product of the sides' values to out, a side without values
// counting as one missing value; the last side varies fastest.
func (l *joinLogic[U, R]) rows(out []R) []R {
	sides := l.st.Sides
	if l.cfg.Insert != InsertProduct {
		// At most one value per side: exactly one row.
		r := l.shape.newRow()
		for _, vals := range sides {
			if len(vals) > 0 {
				l.shape.set(&r, &vals[0])
			}
		}
		return append(out, r)
	}
	idx := l.w.idx
	clear(idx)
	for {
		r := l.shape.newRow()
		for s, vals := range sides {
			if len(vals) > 0 {
				l.shape.set(&r, &vals[idx[s]])
			}
		}
		out = append(out, r)
		// Advance the odometer, last side first.
		s := len(sides) - 1
		for ; s >= 0; s-- {
			if idx[s]+1 < len(sides[s]) {
				idx[s]++
				break
			}
			idx[s] = 0
		}
		if s < 0 {
			return out
		}
	}
}
