package run_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/connectors/stdio"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/run"
	"github.com/weirflow/weir/source"
)

// A program's main: its own flag and arguments beside weir's flags, then Main, which runs
// the flow and exits (go run . -w 2 --upper words.txt). Not run here: Main exits.
func ExampleMain() {
	upper := run.Flags().Bool("upper", false, "print the words in upper case")
	args := run.Args() // parses the command line; exits on --help or a bad flag
	text := "to be or not to be"
	if len(args) > 0 {
		text = strings.Join(args, " ")
	}
	flow := weir.NewDataflow("words")
	words := op.FlatMap("split", op.Input("text", flow, source.Lines(text)), strings.Fields)
	if *upper {
		words = op.Map("upper", words, strings.ToUpper)
	}
	op.Output("print", words, stdio.NewSink[string]())
	run.Main(flow)
}

// Run runs a flow in code, with options in place of flags.
func ExampleRun() {
	flow := weir.NewDataflow("double")
	doubled := op.Map("double", op.Input("in", flow, source.FromSlice(1, 2, 3)), func(x int) int { return 2 * x })
	op.Output("print", doubled, stdio.NewSink[int]())
	if err := run.Run(context.Background(), flow, run.Workers(1)); err != nil {
		fmt.Println(err)
	}
	// Output:
	// 2
	// 4
	// 6
}
