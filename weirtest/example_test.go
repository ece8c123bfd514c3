package weirtest_test

import (
	"context"
	"fmt"
	"os"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/recovery"
	"github.com/weirflow/weir/run"
	"github.com/weirflow/weir/weirtest"
)

// A test feeds a flow from a scripted source and checks what the capture sink received.
// In a test function, weirtest.Run(t, flow, 1) replaces the run.Run call.
func Example() {
	flow := weir.NewDataflow("double")
	in := op.Input("in", flow, weirtest.NewSource(1, 2, 3))
	out := weirtest.NewSink[int]()
	op.Output("out", op.Map("double", in, func(x int) int { return 2 * x }), out)

	if err := run.Run(context.Background(), flow); err != nil {
		fmt.Println(err)
	}
	fmt.Println(out.Items())
	// Output: [2 4 6]
}

// An Abort marker stops the first run as a crash would. The same Source remembers that it
// fired, so running the flow again goes past it. (Without a recovery store the second run
// starts over; with one it would resume from the last snapshot.)
func ExampleSource_Abort() {
	flow := weir.NewDataflow("flow")
	out := weirtest.NewSink[string]()
	op.Output("out", op.Input("in", flow, weirtest.NewSource("a", "b").Abort().Then("c")), out)

	for range 2 {
		out.Clear()
		if err := run.Run(context.Background(), flow); err != nil {
			fmt.Println(err)
		}
		fmt.Println(out.Items())
	}
	// Output:
	// [a b]
	// [a b c]
}

// An EOF marker ends the stream for this run; a run resumed from its snapshot would
// continue with the items after it.
func ExampleSource_EOF() {
	flow := weir.NewDataflow("flow")
	out := weirtest.NewSink[int]()
	op.Output("out", op.Input("in", flow, weirtest.NewSource(1, 2).EOF().Then(3)), out)

	if err := run.Run(context.Background(), flow); err != nil {
		fmt.Println(err)
	}
	fmt.Println(out.Items())
	// Output: [1 2]
}

// BatchSize sets how many items travel down the flow together.
func ExampleSource_BatchSize() {
	flow := weir.NewDataflow("flow")
	in := op.Input("in", flow, weirtest.NewSource(1, 2, 3, 4, 5).BatchSize(2))
	out := weirtest.NewSink[int]()
	op.Output("out", op.FlatMapBatch("sizes", in, func(batch []int) []int { return []int{len(batch)} }), out)

	if err := run.Run(context.Background(), flow); err != nil {
		fmt.Println(err)
	}
	fmt.Println(out.Items())
	// Output: [2 2 1]
}

// A flow run again on the same recovery directory resumes where the last run stopped: the
// Abort marker crashes the first run, and the second goes on with the items after it and
// the sums the first run left. In a test, the directory comes from
//
//	rec := weirtest.NewRecovery(t, 2)
//
// and rec.Run(t, flow, 1) replaces each run.Run call.
func ExampleRecovery() {
	dir, err := os.MkdirTemp("", "weirtest-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	if err := recovery.Init(dir, 2); err != nil {
		panic(err)
	}

	flow := weir.NewDataflow("sums")
	src := weirtest.NewSource(weir.KV[int]{Key: "k", Value: 1}, weir.KV[int]{Key: "k", Value: 2}).
		Abort().
		Then(weir.KV[int]{Key: "k", Value: 3}, weir.KV[int]{Key: "k", Value: 4})
	sums := op.StatefulMap("sum", op.Input("in", flow, src), func(st *op.State[int], v int) int {
		s, _ := st.Get()
		st.Set(s + v)
		return s + v
	})
	out := weirtest.NewSink[weir.KV[int]]()
	op.Output("out", sums, out)

	for range 2 {
		out.Clear()
		if err := run.Run(context.Background(), flow, run.EpochInterval(0), run.Recovery(dir)); err != nil {
			fmt.Println(err)
		}
		fmt.Println(out.Items())
	}
	// Output:
	// [(k, 1) (k, 3)]
	// [(k, 6) (k, 10)]
}
