package op_test

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/run"
	"github.com/weirflow/weir/weirtest"
)

func ExampleStatefulMap() {
	flow := weir.NewDataflow("temps")
	keyed := op.Input("in", flow, weirtest.NewSource(
		weir.KV[int]{Key: "oven", Value: 180}, weir.KV[int]{Key: "fridge", Value: 4},
		weir.KV[int]{Key: "oven", Value: 175}, weir.KV[int]{Key: "oven", Value: 200},
	))
	maxes := op.StatefulMap("running_max", keyed, func(st *op.State[int], v int) int {
		m, ok := st.Get()
		if !ok || v > m {
			m = v
		}
		st.Set(m)
		return m
	})
	op.Inspect("max", maxes)
	if err := run.Run(context.Background(), flow); err != nil {
		fmt.Println(err)
	}
	// Output:
	// temps.max: (oven, 180)
	// temps.max: (fridge, 4)
	// temps.max: (oven, 180)
	// temps.max: (oven, 200)
}

// Every third login of a user raises an alert, and the count starts again.
func ExampleStatefulFlatMap() {
	flow := weir.NewDataflow("logins")
	users := op.Input("in", flow, weirtest.NewSource("ann", "bob", "ann", "ann", "ann", "bob"))
	keyed := op.KeyOn("user", users, func(u string) string { return u })
	alerts := op.StatefulFlatMap("every_third", keyed, func(st *op.State[int], _ string) []string {
		n, _ := st.Get()
		if n++; n < 3 {
			st.Set(n)
			return nil
		}
		st.Discard()
		return []string{"3 logins"}
	})
	op.Inspect("alert", alerts)
	if err := run.Run(context.Background(), flow); err != nil {
		fmt.Println(err)
	}
	// Output:
	// logins.alert: (ann, 3 logins)
}

// sessionLogic counts a key's items and reports the count at the end of the stream.
type sessionLogic struct{ n int }

func (l *sessionLogic) OnItem(string) ([]string, bool) {
	l.n++
	return nil, false
}
func (l *sessionLogic) OnNotify() ([]string, bool) { return nil, false }
func (l *sessionLogic) OnEOF() ([]string, bool) {
	return []string{fmt.Sprintf("%d items", l.n)}, true
}
func (l *sessionLogic) NotifyAt() (time.Time, bool) { return time.Time{}, false }
func (l *sessionLogic) Snapshot() int               { return l.n }

func ExampleStateful() {
	flow := weir.NewDataflow("clicks")
	pages := op.Input("in", flow, weirtest.NewSource("b/home", "a/home", "b/cart", "b/pay"))
	keyed := op.KeyOn("user", pages, func(p string) string { return strings.Split(p, "/")[0] })
	counts := op.Stateful("count", keyed, func(resume int, _ bool) op.ItemLogic[string, string, int] {
		return &sessionLogic{n: resume}
	})
	op.Inspect("out", counts)
	if err := run.Run(context.Background(), flow); err != nil {
		fmt.Println(err)
	}
	// Output:
	// clicks.out: (a, 1 items)
	// clicks.out: (b, 3 items)
}

func ExampleCollect() {
	flow := weir.NewDataflow("batches")
	keyed := op.KeyOn("parity", op.Input("in", flow, weirtest.NewSource(1, 2, 3, 4, 5, 6, 7)),
		func(x int) string { return map[bool]string{true: "even", false: "odd"}[x%2 == 0] })
	// Lists of up to 3 items, or what there is after a minute of quiet or at the end.
	op.Inspect("out", op.Collect("triples", keyed, time.Minute, 3))
	if err := run.Run(context.Background(), flow); err != nil {
		fmt.Println(err)
	}
	// Output:
	// batches.out: (odd, [1 3 5])
	// batches.out: (even, [2 4 6])
	// batches.out: (odd, [7])
}

func ExampleFoldFinal() {
	flow := weir.NewDataflow("words")
	words := op.Input("in", flow, weirtest.NewSource("to", "be", "or", "not", "to", "be"))
	keyed := op.KeyOn("first", words, func(w string) string { return w[:1] })
	sets := op.FoldFinal("distinct", keyed, func() []string { return nil }, func(acc []string, w string) []string {
		for _, seen := range acc {
			if seen == w {
				return acc
			}
		}
		return append(acc, w)
	})
	op.Inspect("out", sets)
	if err := run.Run(context.Background(), flow); err != nil {
		fmt.Println(err)
	}
	// Output:
	// words.out: (b, [be])
	// words.out: (n, [not])
	// words.out: (o, [or])
	// words.out: (t, [to])
}

func ExampleCountFinal() {
	flow := weir.NewDataflow("wordcount")
	words := op.Input("in", flow, weirtest.NewSource(strings.Fields("a rose is a rose is a rose")...))
	op.Inspect("out", op.CountFinal("count", words, func(w string) string { return w }))
	if err := run.Run(context.Background(), flow); err != nil {
		fmt.Println(err)
	}
	// Output:
	// wordcount.out: (a, 3)
	// wordcount.out: (is, 2)
	// wordcount.out: (rose, 3)
}

func ExampleMaxFinal() {
	type trade struct {
		Symbol string
		Price  float64
		ID     int
	}
	flow := weir.NewDataflow("trades")
	trades := op.Input("in", flow, weirtest.NewSource(
		trade{"ACME", 10.5, 1}, trade{"INIT", 3, 2}, trade{"ACME", 12, 3}, trade{"ACME", 9, 4},
	))
	keyed := op.KeyOn("symbol", trades, func(t trade) string { return t.Symbol })
	price := func(t trade) float64 { return t.Price }
	// The whole winning trade comes out, not just its price.
	op.Inspect("max", op.MaxFinal("highest", keyed, price))
	op.Inspect("min", op.MinFinal("lowest", keyed, price))
	op.Inspect("sum", op.ReduceFinal("volume", op.MapValue("price", keyed, price), func(a, b float64) float64 { return a + b }))
	if err := run.Run(context.Background(), flow); err != nil {
		fmt.Println(err)
	}
	// Unordered output:
	// trades.max: (ACME, {ACME 12 3})
	// trades.max: (INIT, {INIT 3 2})
	// trades.min: (ACME, {ACME 9 4})
	// trades.min: (INIT, {INIT 3 2})
	// trades.sum: (ACME, 31.5)
	// trades.sum: (INIT, 3)
}

func ExampleJoin() {
	flow := weir.NewDataflow("orders")
	names := op.Input("names", flow, weirtest.NewSource(weir.KV[string]{Key: "o1", Value: "tea"}, weir.KV[string]{Key: "o2", Value: "cake"}))
	paid := op.Input("paid", flow, weirtest.NewSource(weir.KV[string]{Key: "o1", Value: "card"}))
	// Rows at end of stream, missing sides included.
	rows := op.Join("order", []weir.KeyedStream[string]{names, paid}, op.EmitMode(op.EmitFinal))
	op.Inspect("out", rows)
	if err := run.Run(context.Background(), flow); err != nil {
		fmt.Println(err)
	}
	// Output:
	// orders.out: (o1, [tea card])
	// orders.out: (o2, [cake <none>])
}

func ExampleJoin2() {
	type user struct{ Name string }
	flow := weir.NewDataflow("logins")
	users := op.Input("users", flow, weirtest.NewSource(weir.KV[user]{Key: "u1", Value: user{"ann"}}))
	logins := op.Input("logins", flow, weirtest.NewSource(weir.KV[int]{Key: "u1", Value: 0}, weir.KV[int]{Key: "u2", Value: 7}))
	rows := op.Join2("who", users, logins, op.EmitMode(op.EmitFinal))
	lines := op.MapValue("describe", rows, func(r op.Row2[user, int]) string {
		name, ok := r.A.Get()
		if !ok {
			return fmt.Sprintf("unknown user, %d logins", r.B.Value)
		}
		return fmt.Sprintf("%s, %d logins", name.Name, r.B.Value)
	})
	op.Inspect("out", lines)
	if err := run.Run(context.Background(), flow); err != nil {
		fmt.Println(err)
	}
	// Output:
	// logins.out: (u1, ann, 0 logins)
	// logins.out: (u2, unknown user, 7 logins)
}

func ExampleInsertMode() {
	flow := weir.NewDataflow("pairs")
	left := op.Input("left", flow, weirtest.NewSource(weir.KV[string]{Key: "k", Value: "a"}, weir.KV[string]{Key: "k", Value: "b"}))
	right := op.Input("right", flow, weirtest.NewSource(weir.KV[string]{Key: "k", Value: "x"}, weir.KV[string]{Key: "k", Value: "y"}))
	// Every value is kept and the rows are the cartesian product of the sides.
	rows := op.Join("cross", []weir.KeyedStream[string]{left, right}, op.InsertMode(op.InsertProduct), op.EmitMode(op.EmitFinal))
	op.Inspect("out", rows)
	if err := run.Run(context.Background(), flow); err != nil {
		fmt.Println(err)
	}
	// Output:
	// pairs.out: (k, [a x])
	// pairs.out: (k, [a y])
	// pairs.out: (k, [b x])
	// pairs.out: (k, [b y])
}
