package stdio_test

import (
	"context"
	"fmt"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/connectors/stdio"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/run"
	"github.com/weirflow/weir/weirtest"
)

func ExampleNewSink() {
	flow := weir.NewDataflow("flow")
	in := op.Input("in", flow, weirtest.NewSource("hello", "world"))
	op.Output("print", in, stdio.NewSink[string]())
	if err := run.Run(context.Background(), flow); err != nil {
		fmt.Println(err)
	}
	// Output:
	// hello
	// world
}
