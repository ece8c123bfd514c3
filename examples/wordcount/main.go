// Command wordcount counts the words of a text: the bundled weir.txt by default, a file
// given as an argument, or standard input with "-".
//
//	go run ./examples/wordcount
//	go run ./examples/wordcount -w 2 path/to/file.txt
//	echo "to be or not to be" | go run ./examples/wordcount -
package main

import (
	_ "embed"
	"strings"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/connectors/files"
	"github.com/weirflow/weir/connectors/stdio"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/run"
	"github.com/weirflow/weir/source"
)

//go:embed weir.txt
var bundled string

func main() {
	flow := weir.NewDataflow("wordcount")
	lines := op.Input("lines", flow, input(run.Args()))
	words := op.FlatMap("split", lines, strings.Fields)
	lower := op.Map("lower", words, func(w string) string {
		return strings.ToLower(strings.Trim(w, ".,:;!?"))
	})
	counts := op.CountFinal("count", lower, func(w string) string { return w })
	op.Output("print", counts, stdio.NewSink[weir.KV[int]]())
	run.Main(flow)
}

func input(args []string) source.Source[string] {
	switch {
	case len(args) == 0:
		return source.Lines(bundled)
	case args[0] == "-":
		return stdio.NewLineSource()
	default:
		return files.NewLineSource(args[0])
	}
}
