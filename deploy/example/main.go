// Command example is the program that deploy/kubernetes runs until you build your own: a
// flow that never ends, as a StatefulSet's pods are meant to run. It reads made-up metrics
// (one partition per metric, so that the cluster's workers share them), keeps a running
// summary per metric (keyed state: exchanged to the worker that owns the metric, and
// snapshotted to the recovery directory, from which a restarted cluster resumes) and
// prints a metric's summary every 100 readings (every 10 s; --interval and --count change
// the pace and make it end).
//
// Locally, as one process, then as a cluster of 3 processes of 2 workers each that
// resumes where it stopped after Ctrl-C:
//
//	cd deploy && go run ./example
//	cd deploy && go run ./example -p 3 -w 2 -r /tmp/weir-example --recovery-partitions 12
package main

import (
	"fmt"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/connectors/demo"
	"github.com/weirflow/weir/connectors/stdio"
	"github.com/weirflow/weir/op"
	_ "github.com/weirflow/weir/recovery" // the recovery store, for -r and WEIR_RECOVERY_DIRECTORY
	"github.com/weirflow/weir/run"
	"github.com/weirflow/weir/sink"
	"github.com/weirflow/weir/source"
)

// every is how many readings of a metric pass between two of its summaries.
const every = 100

// metrics are the partitions of the input: more than one process's workers, so that
// every worker of a small cluster reads some.
var metrics = []string{"cpu", "memory", "disk", "network", "queue", "latency"}

var (
	interval = run.Flags().Duration("interval", demo.DefaultInterval, "the time between two readings of a metric (0: as fast as the flow takes them)")
	count    = run.Flags().Int64("count", 0, "end after `N` readings of each metric (0: never)")
)

func main() {
	run.Args() // the command line, for the flags above
	src := demo.Metrics(metrics...).Interval(*interval).Count(*count)
	run.Main(summaries(src, stdio.NewSink[string]()))
}

// Summary is what a metric's readings so far add up to: the state kept per metric,
// which the snapshots encode (hence the exported fields).
type Summary struct {
	N        int64
	Sum, Max float64
}

func summaries(src source.Source[demo.Metric], out sink.Sink[string]) *weir.Dataflow {
	flow := weir.NewDataflow("metrics")
	readings := op.Input("readings", flow, src)
	byName := op.KeyOn("by_name", readings, func(m demo.Metric) string { return m.Name })
	lines := op.StatefulFlatMap("summary", byName, func(st *op.State[Summary], m demo.Metric) []string {
		s, _ := st.Get()
		s.N++
		s.Sum += m.Value
		s.Max = max(s.Max, m.Value)
		st.Set(s)
		if s.N%every != 0 {
			return nil
		}
		return []string{fmt.Sprintf("%s: %d readings, mean %.2f, max %.2f", m.Name, s.N, s.Sum/float64(s.N), s.Max)}
	})
	op.Output("print", op.KeyRm("unkey", lines), out)
	return flow
}
