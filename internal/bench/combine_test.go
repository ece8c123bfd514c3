package bench_test

import (
	"context"
	"testing"
	"time"

	"github.com/weirflow/weir/internal/bench"
	"github.com/weirflow/weir/internal/engine"
	"github.com/weirflow/weir/run"
)

// TestCountCrossesOncePerKey guards the combiner before CountFinal's exchange: on two
// workers, n items of Keys keys in one epoch reach the summing step as at most one
// partial count per key from each worker, not as n items (the exchange's cost, which one
// worker never pays, is then per key, not per item).
func TestCountCrossesOncePerKey(t *testing.T) {
	const n, workers = 200_000, 2
	stats := engine.NewStats()
	ctx := engine.WithStats(context.Background(), stats)
	total, err := bench.Count(ctx, n, workers, bench.DefaultBatch, run.EpochInterval(time.Hour), run.LogEvery(0))
	if err != nil {
		t.Fatal(err)
	}
	if total != n {
		t.Fatalf("counted %d items, want %d", total, n)
	}
	const step = "count.count.sum.fold_final.stateful.stateful_batch"
	var in int64
	found := false
	for _, s := range stats.Read().Steps {
		if s.ID != step {
			continue
		}
		found = true
		for _, w := range s.Workers {
			in += w.In
		}
	}
	if !found {
		t.Fatalf("no step %s", step)
	}
	if in < bench.Keys || in > workers*bench.Keys {
		t.Errorf("the summing step got %d items from %d counted, want between %d and %d (one per key and worker)", in, n, bench.Keys, workers*bench.Keys)
	}
}
