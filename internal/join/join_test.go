package join_test

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/weirflow/weir/internal/codec"
	"github.com/weirflow/weir/internal/join"
	"github.com/weirflow/weir/op"
)

// TestKeepNumbering pins the numbering that op and window rely on to convert insert
// modes with join.Keep(m).
func TestKeepNumbering(t *testing.T) {
	for m, want := range map[op.JoinInsert]join.Keep{op.InsertLast: join.Last, op.InsertFirst: join.First, op.InsertProduct: join.All} {
		if got := join.Keep(m); got != want {
			t.Errorf("join.Keep(%v) = %d, want %d", m, got, want)
		}
	}
}

type item = join.Item[int]

var shape = &join.Shape[item, string]{
	Sides:  3,
	Side:   func(u item) int { return u.Side },
	NewRow: func() string { return "" },
	Set:    func(r *string, u *item) { *r += fmt.Sprintf("%d:%d ", u.Side, u.Value) },
}

// values adds items, given as (side, value) pairs, to fresh values.
func values(keep join.Keep, pairs ...int) join.Values[item] {
	var v join.Values[item]
	v.Init(3)
	for i := 0; i < len(pairs); i += 2 {
		v.Add(keep, pairs[i], &item{Side: pairs[i], Value: pairs[i+1]})
	}
	return v
}

func TestAddMergeRows(t *testing.T) {
	tests := []struct {
		keep         join.Keep
		earlier      []int
		later        []int
		rows, merged string
	}{
		{join.Last, []int{0, 1, 0, 2, 2, 5}, []int{0, 3, 1, 4}, "[0:2 2:5 ]", "[0:3 1:4 2:5 ]"},
		{join.First, []int{0, 1, 0, 2, 2, 5}, []int{0, 3, 1, 4}, "[0:1 2:5 ]", "[0:1 1:4 2:5 ]"},
		{join.All, []int{0, 1, 0, 2, 2, 5}, []int{0, 3, 1, 4}, "[0:1 2:5  0:2 2:5 ]", "[0:1 1:4 2:5  0:2 1:4 2:5  0:3 1:4 2:5 ]"},
		{join.All, nil, nil, "[]", "[]"},
		{join.All, nil, []int{1, 1, 1, 2}, "[]", "[1:1  1:2 ]"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.keep, tt.earlier), func(t *testing.T) {
			v := values(tt.keep, tt.earlier...)
			rows := "[]"
			if !v.Empty() {
				rows = fmt.Sprint(shape.Rows(nil, &v))
			}
			if rows != tt.rows {
				t.Errorf("rows = %q, want %q", rows, tt.rows)
			}
			v.Merge(tt.keep, values(tt.keep, tt.later...))
			merged := "[]"
			if !v.Empty() {
				merged = fmt.Sprint(shape.Rows(nil, &v))
			}
			if merged != tt.merged {
				t.Errorf("merged rows = %q, want %q", merged, tt.merged)
			}
		})
	}
}

func TestCompleteClear(t *testing.T) {
	v := values(join.Last, 0, 1, 1, 2)
	if v.Complete() {
		t.Error("complete without side 2")
	}
	v.Add(join.Last, 2, &item{Side: 2, Value: 3})
	if !v.Complete() {
		t.Error("not complete with every side")
	}
	v.Clear()
	if !v.Empty() || v.Complete() || len(v.Sides) != 3 {
		t.Errorf("after Clear: %+v", v)
	}
}

// TestRowsManySides checks the odometer past the sides it keeps on the stack.
func TestRowsManySides(t *testing.T) {
	sh := &join.Shape[item, int]{Sides: 10, Side: shape.Side, NewRow: func() int { return 0 }, Set: func(r *int, u *item) { *r += u.Value }}
	var v join.Values[item]
	v.Init(10)
	for s := range 10 {
		v.Add(join.All, s, &item{Side: s, Value: 1})
		v.Add(join.All, s, &item{Side: s, Value: 10})
	}
	rows := sh.Rows(nil, &v)
	if len(rows) != 1024 || rows[0] != 10 || rows[1023] != 100 {
		t.Errorf("%d rows, first %d, last %d", len(rows), rows[0], rows[1023])
	}
}

// TestValuesSnapshot round-trips the join states of op and window through the snapshot
// codec: tagged values of one type, and rows with one side set.
func TestValuesSnapshot(t *testing.T) {
	roundTrip(t, values(join.All, 0, 1, 0, 2, 2, 0))
	rows := join.Values[op.Row2[int, string]]{Sides: [][]op.Row2[int, string]{{{A: op.Some(0)}}, {{B: op.Some("")}, {B: op.Some("x")}}}}
	roundTrip(t, rows)
}

func roundTrip[U any](t *testing.T, v join.Values[U]) {
	t.Helper()
	data, err := codec.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var got join.Values[U]
	if err := codec.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	got.Init(len(v.Sides))
	if d := cmp.Diff(v, got, cmp.Comparer(func(a, b []U) bool { return len(a) == 0 && len(b) == 0 || cmp.Equal(a, b) })); d != "" {
		t.Errorf("round trip (-want +got):\n%s", d)
	}
}
