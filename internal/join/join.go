// Package join is the core that the plain join of package op and the windowed join of
// package window share: a key's (or a window's) values per side, what each insert mode
// keeps of them, and the rows they make.
//
// A join's values travel tagged with their side, as one type U per join (a plain struct,
// so no value is boxed); Shape tells the core how to read the side of a U and how to put
// it into a row of type R.
package join

// Keep is what a side keeps of its values. Its numbering is op.JoinInsert's, so that op
// and window convert a mode with Keep(m).
type Keep uint8

// The insert modes.
const (
	Last Keep = iota + 1
	First
	All
)

// Item is a value of side Side of a join whose sides share one type: the sides' values
// travel merged as this plain struct, so that no value is boxed.
type Item[V any] struct {
	Side  int
	Value V
}

// Shape is what the core needs to know of a join's tagged value type U and row type R.
type Shape[U, R any] struct {
	Sides  int
	Side   func(U) int      // by value: a pointer passed to a func value escapes
	NewRow func() R         // a row with every side missing
	Set    func(r *R, u *U) // sets u's side in r
}

// Values are the values of one key or window, per side. It is snapshot state: the codec
// encodes its exported field.
type Values[U any] struct {
	Sides [][]U
}

// Init makes room for n sides, keeping the values of a resumed state.
func (v *Values[U]) Init(n int) {
	if len(v.Sides) < n {
		v.Sides = append(v.Sides, make([][]U, n-len(v.Sides))...)
	}
}

// Add inserts u, a value of side s, as keep says.
func (v *Values[U]) Add(keep Keep, s int, u *U) {
	vals := v.Sides[s]
	switch keep {
	case First:
		if len(vals) == 0 {
			vals = append(vals, *u)
		}
	case Last:
		clear(vals)
		vals = append(vals[:0], *u)
	case All:
		vals = append(vals, *u)
	}
	v.Sides[s] = vals
}

// Merge adds the values of later, whose values all come after v's, to v, as if they had
// been added one by one: First keeps v's value of a side that has one, Last takes later's,
// All appends later's. v may keep later's slices.
func (v *Values[U]) Merge(keep Keep, later Values[U]) {
	for s, vals := range later.Sides {
		if s >= len(v.Sides) || len(vals) == 0 {
			continue
		}
		switch {
		case len(v.Sides[s]) == 0:
			v.Sides[s] = vals
		case keep == First:
		case keep == Last:
			clear(v.Sides[s])
			v.Sides[s] = vals
		default:
			v.Sides[s] = append(v.Sides[s], vals...)
		}
	}
}

// Complete reports whether every side has a value.
func (v *Values[U]) Complete() bool {
	for _, vals := range v.Sides {
		if len(vals) == 0 {
			return false
		}
	}
	return true
}

// Empty reports whether no side has a value.
func (v *Values[U]) Empty() bool {
	for _, vals := range v.Sides {
		if len(vals) > 0 {
			return false
		}
	}
	return true
}

// Clear drops every value, keeping the slices for the next ones.
func (v *Values[U]) Clear() {
	for s := range v.Sides {
		clear(v.Sides[s])
		v.Sides[s] = v.Sides[s][:0]
	}
}

// Rows appends the rows of v to out: the cartesian product of the sides' values, a side
// without values counting as one missing value, the last side varying fastest. With at
// most one value per side (every mode but All) that is exactly one row.
func (sh *Shape[U, R]) Rows(out []R, v *Values[U]) []R {
	sides := v.Sides
	// An odometer over the sides' values; on the stack for the usual few sides.
	var buf [8]int
	var idx []int
	if len(sides) > len(buf) {
		idx = make([]int, len(sides))
	} else {
		idx = buf[:len(sides)]
	}
	for {
		r := sh.NewRow()
		for s, vals := range sides {
			if len(vals) > 0 {
				sh.Set(&r, &vals[idx[s]])
			}
		}
		out = append(out, r)
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
