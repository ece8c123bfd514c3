package plan_test

import (
	"context"
	"errors"
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
	p, err := plan.New(flow)
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
	if _, err := plan.New(weir.NewDataflow("f")); !errors.Is(err, plan.ErrNoInput) {
		t.Errorf("empty flow: %v", err)
	}
	f := weir.NewDataflow("f")
	op.Input("inp", f, weirtest.NewSource(1))
	if _, err := plan.New(f); !errors.Is(err, plan.ErrNoOutput) {
		t.Errorf("flow without output: %v", err)
	}
}
