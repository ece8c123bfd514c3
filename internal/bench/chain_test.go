package bench_test

import (
	"context"
	"testing"
	"time"

	"github.com/weirflow/weir/internal/bench"
	"github.com/weirflow/weir/sink"
)

// TestChainAllocsPerBatch guards the chain's steady state: reading a batch from the
// source, mapping it through the fused chain and writing it to the sink allocates
// nothing. It counts a run's allocations at two input sizes, so that what a run
// allocates once (planning, workers, the log lines) cancels out, and allows a tenth of
// an allocation per batch for the runtime's own.
func TestChainAllocsPerBatch(t *testing.T) {
	const few, more = 16, 16 + 256 // batches of bench.DefaultBatch
	allocs := func(batches int) float64 {
		return testing.AllocsPerRun(5, func() {
			if _, err := bench.Chain(context.Background(), batches*bench.DefaultBatch, 1); err != nil {
				t.Fatal(err)
			}
		})
	}
	allocs(few) // warm up: first-use allocations of the packages the run touches
	perBatch := (allocs(more) - allocs(few)) / (more - few)
	t.Logf("%.3f allocations per batch", perBatch)
	if perBatch > 0.1 {
		t.Errorf("the chain allocates %.2f times per batch of %d items, want 0", perBatch, bench.DefaultBatch)
	}
}

// BenchmarkChainRatio runs the chain, its anchor (the loop of function values) and the
// batch loop (the chain's work without the engine) one after the other in every
// iteration, and reports the chain's time over the loop's (DESIGN.md's budget line "chain
// of 3 maps / loop of func values") and over the batch loop's (what the engine adds):
// measured in the same iterations, the ratios hold up on a loaded machine better than
// separate benchmarks' times do. Each also reports its ns/item. It fails above
// chainRatioFail, far above the budget (1.2 on an idle machine), where only a cost per
// item come back would put it, such as an allocation or an interface conversion per item.
func BenchmarkChainRatio(b *testing.B) {
	chain, loop, batches := job("chain"), job("chain-loop"), job("chain-batchloop")
	var inChain, inLoop, inBatches time.Duration
	for b.Loop() {
		start := time.Now()
		if _, err := chain.Run(benchItems); err != nil {
			b.Fatal(err)
		}
		mid := time.Now()
		if _, err := loop.Run(benchItems); err != nil {
			b.Fatal(err)
		}
		end := time.Now()
		if _, err := batches.Run(benchItems); err != nil {
			b.Fatal(err)
		}
		inChain, inLoop, inBatches = inChain+mid.Sub(start), inLoop+end.Sub(mid), inBatches+time.Since(end)
	}
	items := float64(b.N) * benchItems
	b.ReportMetric(float64(inChain.Nanoseconds())/items, "chain-ns/item")
	b.ReportMetric(float64(inLoop.Nanoseconds())/items, "loop-ns/item")
	b.ReportMetric(float64(inBatches.Nanoseconds())/items, "batchloop-ns/item")
	ratio := float64(inChain) / float64(inLoop)
	b.ReportMetric(ratio, "ratio")
	b.ReportMetric(float64(inChain)/float64(inBatches), "engine-ratio")
	if ratio > chainRatioFail {
		b.Errorf("the chain takes %.2f times its anchor loop's time, above %v", ratio, chainRatioFail)
	}
}

const chainRatioFail = 3

// BenchmarkChainSmallBatches runs the chain on batches of 16 items, where the engine's
// work per batch is most of the time, beside the batch loop on the same batches, in the
// same iterations, and reports what the engine adds per batch (engine-ns/batch): its
// round, the source's call, a step's delivery, the counts. On the development machine it
// was 152-165 ns, and 125-128 once the workers' counts were published once a millisecond
// rather than added atomically per batch (4 runs of each, alternated); 121-124, and
// 73-74 once a round read up to 8 batches (the worker's read-ahead; 3 runs of each).
func BenchmarkChainSmallBatches(b *testing.B) {
	const size = 16
	var inChain, inLoop time.Duration
	for b.Loop() {
		start := time.Now()
		if _, err := bench.ChainSized(context.Background(), benchItems, 1, size); err != nil {
			b.Fatal(err)
		}
		mid := time.Now()
		bench.ChainBatchLoopSized(benchItems, size)
		inChain, inLoop = inChain+mid.Sub(start), inLoop+time.Since(mid)
	}
	batches := float64(b.N) * benchItems / size
	b.ReportMetric(float64((inChain-inLoop).Nanoseconds())/batches, "engine-ns/batch")
	b.ReportMetric(float64(inChain)/float64(inLoop), "engine-ratio")
}

// BenchmarkIntSumWrite times the chain's sink alone on batches of bench.DefaultBatch ints:
// the benchmark's own cost per item, which the anchor loop's "sum +=" hides behind its
// calls (see sumPart.Write).
func BenchmarkIntSumWrite(b *testing.B) {
	p, err := bench.IntSum().Build(context.Background(), sink.Part{}, nil)
	if err != nil {
		b.Fatal(err)
	}
	xs := make([]int, bench.DefaultBatch)
	for i := range xs {
		xs[i] = i
	}
	for b.Loop() {
		if err := p.Write(xs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(xs)), "ns/item")
}
