package weir_test

import (
	"strings"
	"testing"
	"time"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/sink"
	"github.com/weirflow/weir/weirtest"
	"github.com/weirflow/weir/window"
)

// TestZeroStream checks that the zero Stream given to an operator is a build error: kept
// on the flow when the operator reaches one (through another input, or its scope), and
// otherwise carried by the stream it returns to the next step that has a real input.
func TestZeroStream(t *testing.T) {
	var zero weir.Stream[int]
	tests := []struct {
		name  string
		build func(f *weir.Dataflow, in weir.Stream[int])
		want  string // the flow's build error
	}{
		{"merge, second input", func(f *weir.Dataflow, in weir.Stream[int]) {
			op.Merge("m", in, zero)
		}, "weir: step f.m: input 2 is the zero Stream (declared by no operator)"},
		{"merge, first input", func(f *weir.Dataflow, in weir.Stream[int]) {
			op.Merge("m", zero, in)
		}, "weir: step f.m: input 1 is the zero Stream (declared by no operator)"},
		{"map, carried to a merge", func(f *weir.Dataflow, in weir.Stream[int]) {
			m := op.Map("double", zero, func(x int) int { return 2 * x })
			op.Merge("m", in, op.Filter("pos", m, func(x int) bool { return x > 0 }))
		}, "weir: step double: its input is the zero Stream (declared by no operator)"},
		{"core primitive, carried to a merge", func(f *weir.Dataflow, in weir.Stream[int]) {
			op.Merge("m", op.Redistribute("spread", zero), in)
		}, "weir: step spread: its input is the zero Stream (declared by no operator)"},
		{"merge of zero streams, carried to a merge", func(f *weir.Dataflow, in weir.Stream[int]) {
			op.Merge("m", in, op.Merge("both", zero, zero))
		}, "weir: step both: input 1 is the zero Stream (declared by no operator)"},
		{"branch, carried to a merge", func(f *weir.Dataflow, in weir.Stream[int]) {
			_, odd := op.Branch("even", zero, func(x int) bool { return x%2 == 0 })
			op.Merge("m", in, odd)
		}, "weir: step even: its input is the zero Stream (declared by no operator)"},
		{"stateful, carried to a merge", func(f *weir.Dataflow, in weir.Stream[int]) {
			var keyed weir.KeyedStream[int]
			sums := op.StatefulMap("sum", keyed, func(st *op.State[int], v int) int { return v })
			op.Merge("m", op.KeyOn("key", in, func(int) string { return "k" }), sums)
		}, "weir: step sum: its input is the zero Stream (declared by no operator)"},
		{"in a scope", func(f *weir.Dataflow, in weir.Stream[int]) {
			op.Map("double", weir.In(f.Scope(), zero), func(x int) int { return 2 * x })
		}, "weir: step f.double: its input is the zero Stream (declared by no operator)"},
		{"join, second side", func(f *weir.Dataflow, in weir.Stream[int]) {
			ks := op.KeyOn("key", in, func(int) string { return "k" })
			op.Join2("j", ks, weir.KeyedStream[string]{})
		}, "weir: step f.j.add_names.label_1: its input is the zero Stream (declared by no operator)"},
		{"join, first side", func(f *weir.Dataflow, in weir.Stream[int]) {
			ks := op.KeyOn("key", in, func(int) string { return "k" })
			op.Join2("j", weir.KeyedStream[string]{}, ks)
		}, "weir: step f.j.add_names.label_0: its input is the zero Stream (declared by no operator)"},
		{"windowed join, first side", func(f *weir.Dataflow, in weir.Stream[int]) {
			ks := op.KeyOn("key", in, func(int) string { return "k" })
			clock := window.EventTime(func(op.Row2[string, int]) time.Time { return time.Time{} }, 0)
			window.Join2("j", weir.KeyedStream[string]{}, ks, clock, window.Tumbling(time.Second, time.Unix(0, 0)))
		}, "weir: step f.j.add_names.label_0: its input is the zero Stream (declared by no operator)"},
		{"input of a nil flow, carried to a merge", func(f *weir.Dataflow, in weir.Stream[int]) {
			op.Merge("m", in, op.Input("nowhere", nil, weirtest.NewSource(1)))
		}, "weir: step nowhere: the dataflow is nil"},
		{"merge of nothing, carried to a merge", func(f *weir.Dataflow, in weir.Stream[int]) {
			op.Merge("m", in, op.Merge[int]("none"))
		}, "weir: step none: no input stream"},
		{"the first error is kept", func(f *weir.Dataflow, in weir.Stream[int]) {
			op.Merge("m1", in, op.Map("first", zero, func(x int) int { return x }))
			op.Merge("m2", zero, in)
		}, "weir: step first: its input is the zero Stream (declared by no operator)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := weir.NewDataflow("f")
			in := op.Input("in", f, weirtest.NewSource(1, 2, 3))
			tt.build(f, in)
			if f.Err() == nil || f.Err().Error() != tt.want {
				t.Errorf("flow error %v, want %q", f.Err(), tt.want)
			}
		})
	}
}

// TestZeroStreamUnreported checks the one case with nothing to report to: a chain from
// the zero Stream that never meets a real stream builds no step on any flow.
func TestZeroStreamUnreported(t *testing.T) {
	f := weir.NewDataflow("f")
	op.Output("out", op.Input("in", f, weirtest.NewSource(1)), weirtest.NewSink[int]())
	var zero weir.Stream[int]
	op.Output("lost", op.Map("m", zero, func(x int) int { return x }), sink.Sink[int](weirtest.NewSink[int]()))
	if f.Err() != nil {
		t.Errorf("flow error %v, want none: the zero Stream's chain reaches no flow", f.Err())
	}
}

// TestOperatorsReturnRealStreams checks that no operator returns a stream without a scope
// for a real input: the zero Stream only ever comes from a user's declaration.
func TestOperatorsReturnRealStreams(t *testing.T) {
	f := weir.NewDataflow("f")
	in := op.Input("in", f, weirtest.NewSource(1, 2, 3))
	ks := op.KeyOn("key", in, func(int) string { return "k" })
	yes, no := op.Branch("branch", in, func(x int) bool { return x > 1 })
	streams := map[string]interface{ Flow() *weir.Dataflow }{
		"Input":        in,
		"KeyOn":        ks,
		"Map":          op.Map("map", in, func(x int) int { return x }),
		"Filter":       op.Filter("filter", in, func(x int) bool { return true }),
		"FlatMap":      op.FlatMap("flat_map", in, func(x int) []int { return nil }),
		"FlatMapBatch": op.FlatMapBatch("flat_map_batch", in, func(xs []int) []int { return xs }),
		"Branch yes":   yes,
		"Branch no":    no,
		"Merge":        op.Merge("merge", in, yes),
		"Redistribute": op.Redistribute("redistribute", in),
		"InspectDebug": op.InspectDebug("inspect", in, func(string, int, uint64, int) {}),
		"MapValue":     op.MapValue("map_value", ks, func(x int) int { return x }),
		"KeyRm":        op.KeyRm("key_rm", ks),
		"StatefulMap":  op.StatefulMap("stateful_map", ks, func(st *op.State[int], v int) int { return v }),
		"Join2":        op.Join2("join", ks, ks),
	}
	for name, s := range streams {
		if s.Flow() != f {
			t.Errorf("%s returned a stream of flow %v, want f", name, s.Flow())
		}
	}
	if err := f.Err(); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(in.Scope().Path(), "f") {
		t.Errorf("scope path %q", in.Scope().Path())
	}
}
