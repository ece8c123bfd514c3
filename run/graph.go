package run

import (
	"fmt"
	"io"
	"strings"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/internal/flowview"
	"github.com/weirflow/weir/internal/graph"
)

// graphCommand is the name of Main's sub-command that prints the planned dataflow.
const graphCommand = "graph"

// graphFormats lists the formats of the graph sub-command, the default first.
var graphFormats = []string{string(flowview.Mermaid), string(flowview.DOT), string(flowview.JSON)}

// subcommand takes the graph sub-command and its --format off the front of args: "graph",
// then optionally --format F (or --format=F, -format F, -f F), then the program's flags
// and arguments as for a run, so that the program builds the very flow it would run. It
// returns the rest of args. Only the first argument can be the sub-command: a program
// whose first argument is a file named "graph" is run as "prog -- graph" or "prog ./graph".
func (cl *commandLine) subcommand(args []string) ([]string, error) {
	cl.graph = ""
	if len(args) == 0 || args[0] != graphCommand {
		return args, nil
	}
	cl.graph, args = graphFormats[0], args[1:]
	if len(args) == 0 {
		return args, nil
	}
	name, value, hasValue := strings.Cut(strings.TrimLeft(args[0], "-"), "=")
	if !strings.HasPrefix(args[0], "-") || (name != "format" && name != "f") {
		return args, nil
	}
	args = args[1:]
	if !hasValue {
		if len(args) == 0 {
			return nil, fmt.Errorf("graph: --format needs a format: %s", strings.Join(graphFormats, ", "))
		}
		value, args = args[0], args[1:]
	}
	value = strings.ToLower(strings.TrimSpace(value))
	for _, f := range graphFormats {
		if value == f {
			cl.graph = value
			return args, nil
		}
	}
	return nil, fmt.Errorf("graph: unknown format %q: want %s", value, strings.Join(graphFormats, ", "))
}

// printGraph plans flow and prints its description in format to stdout, without running
// it. A flow that does not plan (its build error, no input or output) is an error.
func printGraph(w io.Writer, flow *weir.Dataflow, format string) error {
	if err := flow.Err(); err != nil {
		return err
	}
	g, err := flowview.DescribeFlow(graph.FlowOf(flow))
	if err != nil {
		return err
	}
	return flowview.Write(w, g, flowview.Format(format))
}
