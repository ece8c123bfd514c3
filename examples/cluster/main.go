// Command cluster counts the words of a bundled text and prints the ten most frequent,
// the same whether it runs as one process or as a cluster of several:
//
//	go run ./examples/cluster
//	go run ./examples/cluster -w 4
//	go run ./examples/cluster -p 2 -w 2
//
// With -p 2 the program starts two processes of itself on free loopback ports, each with
// -w 2 workers, and every word crosses to the worker that owns it, in whichever process
// that is. On separate machines, give each process its id and every address instead:
//
//	cluster -i 0 -a 'host-a:7000;host-b:7000' -w 2   # on host-a
//	cluster -i 1 -a 'host-a:7000;host-b:7000' -w 2   # on host-b
//
// The counts meet at one worker at the end, keyed by one key, which sorts them and prints
// the result, so the output does not depend on how the words were spread.
package main

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/connectors/stdio"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/run"
	"github.com/weirflow/weir/source"
)

const text = `A weir is a low wall built across a river.
The water rises behind the weir and then spills over it,
so the river keeps moving while its level is held.
Mills used the held water to turn their wheels,
and fish learned to leap the weir on their way upstream.
A stream of events is a river too: it never stops,
and the work is to hold a little of it, count it, and let it go.
One weir holds one river; a cluster of weirs holds a delta,
each weir a process, each sluice a worker, and the water is the same water.
Count the words of this river on one machine or on many:
the river does not care, and the count does not change.`

func main() {
	flow := weir.NewDataflow("cluster_wordcount")
	lines := op.Input("lines", flow, source.Lines(text))
	words := op.FlatMap("split", lines, func(line string) []string {
		var words []string
		for _, w := range strings.Fields(line) {
			if w = strings.ToLower(strings.Trim(w, ".,:;!?")); w != "" {
				words = append(words, w)
			}
		}
		return words
	})
	counts := op.CountFinal("count", words, func(w string) string { return w })
	// One key for every count, so that one worker of one process gets them all.
	all := op.KeyOn("gather", counts, func(weir.KV[int]) string { return "" })
	table := op.FoldFinal("table", all, func() []weir.KV[int] { return nil },
		func(acc []weir.KV[int], c weir.KV[int]) []weir.KV[int] { return append(acc, c) })
	top := op.FlatMap("top", table, func(t weir.KV[[]weir.KV[int]]) []string {
		counts := t.Value
		slices.SortFunc(counts, func(a, b weir.KV[int]) int {
			return cmp.Or(cmp.Compare(b.Value, a.Value), cmp.Compare(a.Key, b.Key))
		})
		total := 0
		for _, c := range counts {
			total += c.Value
		}
		out := []string{fmt.Sprintf("%d words, %d distinct; the most frequent:", total, len(counts))}
		for _, c := range counts[:min(10, len(counts))] {
			out = append(out, fmt.Sprintf("%6d  %s", c.Value, c.Key))
		}
		return out
	})
	op.Output("print", top, stdio.NewSink[string]())
	run.Main(flow)
}
