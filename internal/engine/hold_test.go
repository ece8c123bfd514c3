package engine_test

import (
	"context"
	"sync"
	"testing"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/internal/batch"
	"github.com/weirflow/weir/internal/engine"
	"github.com/weirflow/weir/internal/graph"
	"github.com/weirflow/weir/internal/plan"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/source"
)

// summer is a graph.Holder that sums what it is given and emits the sum only when the
// engine flushes it.
type summer struct {
	sum  int
	has  bool
	out  [1]int
	seen *int // batches given, across the holders of a run
	mu   *sync.Mutex
}

func (s *summer) Batch(b any) any {
	for _, x := range b.([]int) {
		s.sum += x
	}
	s.has = true
	s.mu.Lock()
	*s.seen++
	s.mu.Unlock()
	return nil
}

func (s *summer) Flush() any {
	if !s.has {
		return nil
	}
	s.out[0] = s.sum
	s.sum, s.has = 0, false
	return s.out[:]
}

// TestHoldingFlushesIntoItsEpoch runs a holding step that sums everything it holds
// behind a Redistribute, fed by two inputs (two batches per epoch on one worker; on two,
// batches of another worker's epochs arrive as they come), with an epoch per round, and
// checks that what each worker's holder emits in an epoch is the sum of what it was given
// in that epoch: a flush comes before a batch of another epoch and before the frontier
// passes the epoch held, and it emits into the epoch held. With one worker, each epoch's
// two batches come out as one sum, before the next epoch's items come.
func TestHoldingFlushesIntoItsEpoch(t *testing.T) {
	for _, workers := range []int{1, 2} {
		type at struct {
			worker int
			epoch  uint64
		}
		var mu sync.Mutex
		in, out := map[at]int{}, map[at]int{}
		var batches, sums, total int
		var latest uint64 // the latest epoch given to worker 0
		late := 0         // sums worker 0 emitted after it was given items of a later epoch
		items := func(from int) []int {
			xs := make([]int, 500)
			for i := range xs {
				xs[i] = from + i
				total += from + i
			}
			return xs
		}
		flow := weir.NewDataflow("hold")
		a := op.Input("a", flow, source.FromSlice(items(1)...).BatchSize(10))
		b := op.Input("b", flow, source.FromSlice(items(1000)...).BatchSize(10))
		s := op.Redistribute("spread", op.Merge("both", a, b))
		s = op.InspectDebug("given", s, func(_ string, x int, e uint64, w int) {
			mu.Lock()
			in[at{w, e}] += x
			if w == 0 {
				latest = max(latest, e)
			}
			mu.Unlock()
		})
		st := graph.Declare("sum", s)
		s = graph.Out[weir.Stream[int]](st, st.Add(graph.FlatMapBatch, 1, batch.NewOps[int](), &graph.FlatMapSpec{
			Hold: func() graph.Holder { return &summer{seen: &batches, mu: &mu} },
		}), 0)
		op.InspectDebug("emitted", s, func(_ string, x int, e uint64, w int) {
			mu.Lock()
			out[at{w, e}] += x
			sums++
			if w == 0 && e < latest {
				late++
			}
			mu.Unlock()
		})
		p, err := plan.New(graph.FlowOf(flow))
		if err != nil {
			t.Fatal(err)
		}
		if err := engine.Run(context.Background(), p, engine.Config{Workers: workers}); err != nil {
			t.Fatal(err)
		}
		if len(in) == 0 || len(in) != len(out) {
			t.Errorf("%d workers: sums in %d (worker, epoch) pairs, given items in %d", workers, len(out), len(in))
		}
		got := 0
		for k, v := range in {
			got += out[k]
			if out[k] != v {
				t.Errorf("%d workers: worker %d, epoch %d: emitted %d, was given %d", workers, k.worker, k.epoch, out[k], v)
			}
		}
		if got != total {
			t.Errorf("%d workers: emitted %d in all, want %d", workers, got, total)
		}
		if workers == 1 && (sums != len(in) || 2*sums != batches) {
			t.Errorf("one worker: %d sums over %d epochs of %d batches, want one sum per epoch of two batches", sums, len(in), batches)
		}
		// With one worker its sources' epochs close in order, and each epoch's sum comes
		// out as its frontier passes it, before the next epoch's first batch.
		if workers == 1 && late > 0 {
			t.Errorf("one worker: %d sums emitted after a later epoch's items came", late)
		}
	}
}
