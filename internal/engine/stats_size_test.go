package engine_test

import (
	"context"
	"testing"
	"time"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/internal/engine"
	"github.com/weirflow/weir/internal/graph"
	"github.com/weirflow/weir/internal/plan"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/source"
	"github.com/weirflow/weir/weirtest"
)

// Stats gives a bounded partition's size beside its lag (source.Sizer), and counts the
// partitions that know neither, for which no progress can be shown.
func TestStatsSizes(t *testing.T) {
	flow := weir.NewDataflow("sizes")
	sized := op.Input("sized", flow, source.FromSlice(1, 2, 3, 4, 5).BatchSize(2))
	unsized := op.Input("unsized", flow, weirtest.NewSource(6, 7))
	op.Output("out", op.Merge("both", sized, unsized), weirtest.NewSink[int]())
	p, err := plan.New(graph.FlowOf(flow))
	if err != nil {
		t.Fatal(err)
	}
	stats := engine.NewStats()
	ctx := engine.WithStats(context.Background(), stats)
	if err := engine.Run(ctx, p, engine.Config{Workers: 2, EpochInterval: time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	got := map[string][2]int{} // step -> partitions with a size, without
	for _, s := range stats.Read().Steps {
		for _, w := range s.Workers {
			for _, l := range w.Lag {
				if s.ID != "sizes.sized" || l != (engine.PartitionLag{Partition: "slice", Behind: 0, Size: 5}) {
					t.Errorf("%s on worker %d: lag %+v", s.ID, w.Worker, l)
				}
			}
			c := got[s.ID]
			c[0] += len(w.Lag)
			c[1] += w.Unsized
			got[s.ID] = c
		}
	}
	if got["sizes.sized"] != [2]int{1, 0} || got["sizes.unsized"] != [2]int{0, 1} {
		t.Errorf("partitions with a size and without, by step: %v", got)
	}
}
