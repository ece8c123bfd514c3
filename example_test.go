package weir_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/run"
	"github.com/weirflow/weir/weirtest"
)

// Doubled is a user's composite operator: its inner steps are nested under its own id.
func Doubled(id string, up weir.Stream[int]) weir.Stream[int] {
	return weir.Composite(id, up, func(in weir.Stream[int]) weir.Stream[int] {
		return op.Map("double", in, func(x int) int { return 2 * x })
	})
}

func ExampleComposite() {
	flow := weir.NewDataflow("flow")
	nums := op.Input("inp", flow, weirtest.NewSource(1, 2, 3))
	twice := Doubled("twice", nums)
	op.InspectDebug("show", twice, func(step string, x int, _ uint64, _ int) { fmt.Println(step, x) })
	if err := run.Run(context.Background(), flow); err != nil {
		fmt.Println(err)
	}
	// A second use of the same id in the same scope is a build error.
	Doubled("twice", nums)
	fmt.Println(flow.Err())
	// Output:
	// flow.show 2
	// flow.show 4
	// flow.show 6
	// weir: duplicate step id "flow.twice"
}

// A panic in user code stops the run with an error naming the full step id.
func ExampleStepError() {
	flow := weir.NewDataflow("flow")
	nums := op.Input("inp", flow, weirtest.NewSource(1, 0))
	inv := op.Map("invert", nums, func(x int) int { return 10 / x })
	op.Output("out", inv, weirtest.NewSink[int]())
	err := run.Run(context.Background(), flow)
	fmt.Println(err)
	var se *weir.StepError
	if errors.As(err, &se) {
		fmt.Println("step:", se.Step)
	}
	// Output:
	// weir: step flow.invert.flat_map_batch: panic: runtime error: integer divide by zero
	// step: flow.invert.flat_map_batch
}

// A stream that no operator declared, here a variable never assigned, is a build error:
// the Merge that meets it beside a real stream reports it, naming the first step it was
// given to.
func ExampleStream_zero() {
	flow := weir.NewDataflow("flow")
	nums := op.Input("inp", flow, weirtest.NewSource(1, 2))
	var more weir.Stream[int] // never assigned
	all := op.Merge("all", nums, op.Map("double", more, func(x int) int { return 2 * x }))
	op.Output("out", all, weirtest.NewSink[int]())
	fmt.Println(run.Run(context.Background(), flow))
	// Output:
	// weir: step double: its input is the zero Stream (declared by no operator)
}
