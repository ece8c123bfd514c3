package plan_test

import (
	"context"
	"errors"
	"maps"
	"strconv"
	"strings"
	"testing"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/internal/graph"
	"github.com/weirflow/weir/internal/plan"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/sink"
	"github.com/weirflow/weir/weirtest"
)

type parted struct{}

func (parted) Partitions(context.Context) ([]string, error) { return []string{"a"}, nil }
func (parted) Build(context.Context, sink.Part, []byte) (sink.Partition[weir.KV[int]], error) {
	return nil, errors.New("not used")
}

func TestExchanges(t *testing.T) {
	flow := weir.NewDataflow("f")
	s := op.Input("inp", flow, weirtest.NewSource(1))
	k := op.KeyOn("key", s, func(int) string { return "k" })
	st := op.StatefulMap("st", k, func(st *op.State[int], v int) int { return v })
	op.Output("dyn", op.Redistribute("spread", st), weirtest.NewSink[weir.KV[int]]())
	op.Output("parted", st, sink.Sink[weir.KV[int]](parted{}))
	p, err := plan.New(graph.FlowOf(flow))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]plan.Exchange{"f.spread": plan.Even, "f.dyn": plan.Local, "f.parted": plan.ByPartition}
	for _, e := range p.Edges {
		w, ok := want[e.To.ID]
		if e.To.Kind == graph.Stateful {
			w, ok = plan.ByKey, true
		}
		if ok && e.Exchange != w {
			t.Errorf("edge into %s: exchange %d, want %d", e.To.ID, e.Exchange, w)
		}
		if !ok && e.Exchange != plan.Local {
			t.Errorf("edge into %s: exchange %d, want local", e.To.ID, e.Exchange)
		}
	}
}

func TestNoInputNoOutput(t *testing.T) {
	if _, err := plan.New(graph.FlowOf(weir.NewDataflow("f"))); !errors.Is(err, plan.ErrNoInput) {
		t.Errorf("empty flow: %v", err)
	}
	f := weir.NewDataflow("f")
	op.Input("inp", f, weirtest.NewSource(1))
	if _, err := plan.New(graph.FlowOf(f)); !errors.Is(err, plan.ErrNoOutput) {
		t.Errorf("flow without output: %v", err)
	}
}

// TestFusion checks which runs of Map steps the plan fuses: each step the only consumer
// of the one before, on a local edge, keeping the first step's output type.
func TestFusion(t *testing.T) {
	inc := func(x int) int { return x + 1 }
	tests := []struct {
		name  string
		build func(s weir.Stream[int]) // steps "a", "b", ... after the input
		want  map[string]string        // fused step (its Map) -> the Map it is fused into
	}{
		{"three_maps", func(s weir.Stream[int]) {
			drop(op.Map("c", op.Map("b", op.Map("a", s, inc), inc), inc))
		}, map[string]string{"b": "a", "c": "a"}},
		{"type_change_first", func(s weir.Stream[int]) {
			str := op.Map("a", s, strconv.Itoa)
			drop(op.Map("b", str, func(s string) string { return s + "!" }))
		}, map[string]string{"b": "a"}},
		{"type_change_later", func(s weir.Stream[int]) {
			str := op.Map("b", op.Map("a", s, inc), strconv.Itoa)
			drop(op.Map("c", str, func(s string) string { return s + "!" }))
		}, map[string]string{"c": "b"}},
		{"fan_out", func(s weir.Stream[int]) {
			a := op.Map("a", s, inc)
			drop(op.Map("b", a, inc))
			drop(op.Map("c", a, inc))
		}, map[string]string{}},
		{"filter_between", func(s weir.Stream[int]) {
			f := op.Filter("b", op.Map("a", s, inc), func(int) bool { return true })
			drop(op.Map("d", op.Map("c", f, inc), inc))
		}, map[string]string{"d": "c"}},
		{"redistribute_between", func(s weir.Stream[int]) {
			drop(op.Map("c", op.Redistribute("b", op.Map("a", s, inc)), inc))
		}, map[string]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			flow := weir.NewDataflow("f")
			tt.build(op.Input("in", flow, weirtest.NewSource(1)))
			p, err := plan.New(graph.FlowOf(flow))
			if err != nil {
				t.Fatal(err)
			}
			step := func(n *plan.Node) string { // "f.b.flat_map_batch" -> "b"
				return strings.Split(n.ID, ".")[1]
			}
			got := map[string]string{}
			for _, n := range p.Nodes {
				if n.FusedInto != nil {
					got[step(n)] = step(n.FusedInto)
				}
				if n.Kind == graph.FlatMapBatch && n.FusedInto == nil && n.Emit != n && n.Emit.FusedInto != n {
					t.Errorf("%s emits for %s, which is not fused into it", n.ID, n.Emit.ID)
				}
			}
			if !maps.Equal(got, tt.want) {
				t.Errorf("fused %v, want %v", got, tt.want)
			}
		})
	}
}

// drop ends a stream in a sink, so that the flow has an output.
func drop[T any](s weir.Stream[T]) {
	op.Output("out_"+strings.Split(graph.PortOf(s).Node.ID, ".")[1], s, weirtest.NewSink[T]())
}
