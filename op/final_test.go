package op_test

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/internal/graph"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/weirtest"
)

type sensorReading struct {
	Sensor string
	Temp   float64
	Seq    int
}

func TestFinal(t *testing.T) {
	rs := []sensorReading{{"s2", 20.5, 1}, {"s1", 18, 2}, {"s2", 25, 3}, {"s3", math.NaN(), 4}, {"s1", 18, 5}, {"s2", 19, 6}, {"s3", 3, 7}, {"s1", 17.5, 8}}
	keyed := func(s weir.Stream[sensorReading]) weir.KeyedStream[sensorReading] {
		return op.KeyOn("key", s, func(r sensorReading) string { return r.Sensor })
	}
	seq := func(s weir.KeyedStream[sensorReading]) weir.Stream[string] {
		return op.Map("fmt", s, func(kv weir.KV[sensorReading]) string { return fmt.Sprintf("%s:%d", kv.Key, kv.Value.Seq) })
	}
	tests := []struct {
		name  string
		build func(weir.Stream[sensorReading]) weir.Stream[string]
		want  []string // keys in sorted order: one worker, end of stream
	}{
		{"fold_final", func(s weir.Stream[sensorReading]) weir.Stream[string] {
			return formatted(op.FoldFinal("fold", keyed(s), func() []int { return []int{} }, func(acc []int, r sensorReading) []int { return append(acc, r.Seq) }))
		}, []string{"(s1, [2 5 8])", "(s2, [1 3 6])", "(s3, [4 7])"}},
		{"reduce_final", func(s weir.Stream[sensorReading]) weir.Stream[string] {
			seqs := op.MapValue("seq", keyed(s), func(r sensorReading) string { return fmt.Sprint(r.Seq) })
			return formatted(op.ReduceFinal("cat", seqs, func(a, b string) string { return a + "," + b }))
		}, []string{"(s1, 2,5,8)", "(s2, 1,3,6)", "(s3, 4,7)"}},
		{"count_final", func(s weir.Stream[sensorReading]) weir.Stream[string] {
			return formatted(op.CountFinal("count", s, func(r sensorReading) string { return r.Sensor }))
		}, []string{"(s1, 3)", "(s2, 3)", "(s3, 2)"}},
		{"max_final_whole_item_first_of_ties", func(s weir.Stream[sensorReading]) weir.Stream[string] {
			return seq(op.MaxFinal("max", keyed(s), func(r sensorReading) float64 { return r.Temp }))
		}, []string{"s1:2", "s2:3", "s3:7"}},
		{"min_final_whole_item_nan_smallest", func(s weir.Stream[sensorReading]) weir.Stream[string] {
			return seq(op.MinFinal("min", keyed(s), func(r sensorReading) float64 { return r.Temp }))
		}, []string{"s1:8", "s2:6", "s3:4"}},
		{"max_final_by_string", func(s weir.Stream[sensorReading]) weir.Stream[string] {
			return seq(op.MaxFinal("max", op.KeyOn("one", s, func(sensorReading) string { return "all" }), func(r sensorReading) string { return r.Sensor }))
		}, []string{"all:4"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, batch := range []int{1, 3, 100} {
				got := runItems(t, 1, batch, rs, tt.build)
				diffOut(t, got, tt.want)
			}
		})
	}
}

func TestFinalEmptyStream(t *testing.T) {
	got := runItems(t, 1, 1, []weir.KV[int]{}, func(s weir.KeyedStream[int]) weir.KeyedStream[int] {
		return op.ReduceFinal("sum", s, func(a, b int) int { return a + b })
	})
	if len(got) != 0 {
		t.Errorf("got %v from an empty stream", got)
	}
}

// TestFinalKeysSortedAtEOF checks that with one worker the end-of-stream output comes in
// byte-wise key order, whatever the arrival order.
func TestFinalKeysSortedAtEOF(t *testing.T) {
	words := strings.Fields("pear Apple fig apple banana Fig pear")
	got := runItems(t, 1, 2, words, func(s weir.Stream[string]) weir.KeyedStream[int] {
		return op.CountFinal("count", s, func(w string) string { return w })
	})
	diffOut(t, fmt.Sprint(got), "[(Apple, 1) (Fig, 1) (apple, 1) (banana, 1) (fig, 1) (pear, 2)]")
}

// TestReduceFinalPreReduces checks that the pre_reduce step holds one partial value per
// key across batches, emits nothing until it is flushed, and then emits the partials in
// first-seen order, having called the reducer once per item past each key's first.
func TestReduceFinalPreReduces(t *testing.T) {
	flow := weir.NewDataflow("f")
	in := op.Input("in", flow, weirtest.NewSource[weir.KV[int]]())
	var calls int
	op.ReduceFinal("sum", in, func(a, b int) int { calls++; return a + b })
	h := holderNode(t, flow, "f.sum.pre_reduce")
	if got := h.Batch([]weir.KV[int]{kvOf("b", 1), kvOf("a", 2), kvOf("b", 3)}); got != nil {
		t.Errorf("first batch emitted %v, want nothing before the flush", got)
	}
	if got := h.Batch([]weir.KV[int]{kvOf("b", 4), kvOf("c", 5), kvOf("a", 6)}); got != nil {
		t.Errorf("second batch emitted %v, want nothing before the flush", got)
	}
	diffOut(t, fmt.Sprint(h.Flush()), "[(b, 8) (a, 8) (c, 5)]")
	if calls != 3 {
		t.Errorf("reducer called %d times, want 3", calls)
	}
	if got := h.Flush(); got != nil {
		t.Errorf("a second flush emitted %v, want nothing", got)
	}
	diffOut(t, fmt.Sprint(h.Batch([]weir.KV[int]{kvOf("a", 1), kvOf("a", 2)}), h.Flush()), "<nil> [(a, 3)]")
}

// holderNode makes a per-worker function of the holding FlatMapBatch step id of flow.
func holderNode(t testing.TB, flow *weir.Dataflow, id string) graph.Holder {
	t.Helper()
	for _, n := range graph.FlowOf(flow).Nodes() {
		if n.ID == id {
			return n.Spec.(*graph.FlatMapSpec).Hold()
		}
	}
	t.Fatalf("no step %s", id)
	return nil
}

// TestFoldFinalBuilderPerKey checks that each key gets its own accumulator from builder.
func TestFoldFinalBuilderPerKey(t *testing.T) {
	in := []weir.KV[int]{kvOf("a", 1), kvOf("b", 2), kvOf("a", 3)}
	got := runItems(t, 1, 1, in, func(s weir.KeyedStream[int]) weir.KeyedStream[map[int]bool] {
		return op.FoldFinal("set", s, func() map[int]bool { return map[int]bool{} }, func(m map[int]bool, v int) map[int]bool {
			m[v] = true
			return m
		})
	})
	diffOut(t, fmt.Sprint(got), "[(a, map[1:true 3:true]) (b, map[2:true])]")
}

// TestReduceFinalResumesWithCombinerHolding runs ReduceFinal and CountFinal over two
// inputs, an epoch per round of reads, and crashes them while pre_reduce holds partials
// of an epoch not yet closed (the first input's batch is read, then the second input
// aborts), then again at an epoch's start, and resumes each time, on one and two workers
// and with the workers changing between runs: the aborted runs emit nothing, and the
// last one emits every key's total as a run without crashes does, nothing lost and
// nothing counted twice.
func TestReduceFinalResumesWithCombinerHolding(t *testing.T) {
	const perKey, keys = 12, 5
	script := func(value, abortAt int) *weirtest.Source[weir.KV[int]] {
		s := weirtest.NewSource[weir.KV[int]]()
		for i := range perKey * keys {
			if i == abortAt {
				s.Abort()
			}
			s.Then(kvOf(fmt.Sprint("k", i%keys), value))
		}
		return s.BatchSize(4)
	}
	want := func(f func(a, b int) int) []string {
		var out []string
		for k := range keys {
			out = append(out, fmt.Sprintf("(k%d, %d)", k, f(perKey*1, perKey*100)))
		}
		return out
	}
	type build func(a, b weir.KeyedStream[int]) weir.KeyedStream[int]
	ops := []struct {
		name  string
		build build
		want  []string
	}{
		{"reduce_final", func(a, b weir.KeyedStream[int]) weir.KeyedStream[int] {
			return op.ReduceFinal("sum", op.Merge("both", a, b), func(x, y int) int { return x + y })
		}, want(func(a, b int) int { return a + b })},
		{"count_final", func(a, b weir.KeyedStream[int]) weir.KeyedStream[int] {
			return op.CountFinal("count", op.Merge("both", a, b), func(kv weir.KV[int]) string { return kv.Key })
		}, want(func(int, int) int { return 2 * perKey })},
	}
	for _, o := range ops {
		for _, workers := range [][]int{{1, 1, 1}, {2, 2, 2}, {2, 1, 3}} {
			t.Run(fmt.Sprint(o.name, "_", workers), func(t *testing.T) {
				rec := weirtest.NewRecovery(t, 2)
				// The first input reads a batch in each round before the second: the
				// second's abort comes while that batch is held.
				a, b := script(1, 40), script(100, 20)
				for i, w := range workers {
					flow := weir.NewDataflow("f")
					out := weirtest.NewSink[weir.KV[int]]()
					op.Output("out", o.build(op.Input("a", flow, a), op.Input("b", flow, b)), out)
					rec.Run(t, flow, w)
					got := sortedStrings(out.Items())
					if i < len(workers)-1 {
						if len(got) != 0 {
							t.Errorf("run %d, aborted, emitted %v", i+1, got)
						}
						continue
					}
					diffOut(t, got, o.want)
				}
			})
		}
	}
}

// combineBatches is 64 batches of 1024 items of 1000 keys, as the count paths of
// internal/bench read them, each boxed as the engine passes it.
func combineBatches() []any {
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = fmt.Sprint("key-", i)
	}
	batches := make([]any, 64)
	for b := range batches {
		kvs := make([]weir.KV[int], 1024)
		for i := range kvs {
			kvs[i] = kvOf(keys[(b*1024+i)%len(keys)], 1)
		}
		batches[b] = kvs
	}
	return batches
}

func sumFlow() *weir.Dataflow {
	flow := weir.NewDataflow("f")
	op.ReduceFinal("sum", op.Input("in", flow, weirtest.NewSource[weir.KV[int]]()), func(a, b int) int { return a + b })
	return flow
}

// TestCombinerAllocs checks that pre_reduce, once its table has grown, allocates nothing
// for a batch or for the flush at an epoch's end.
func TestCombinerAllocs(t *testing.T) {
	h := holderNode(t, sumFlow(), "f.sum.pre_reduce")
	batches := combineBatches()
	epoch := func() {
		for _, b := range batches {
			if out := h.Batch(b); out != nil {
				t.Fatalf("a batch emitted %d items", len(out.([]weir.KV[int])))
			}
		}
		if out := h.Flush(); len(out.([]weir.KV[int])) != 1000 {
			t.Fatalf("the flush emitted %d items, want one per key", len(out.([]weir.KV[int])))
		}
	}
	epoch()
	if a := testing.AllocsPerRun(10, epoch); a != 0 {
		t.Errorf("an epoch of %d batches allocates %v times, want 0", len(batches), a)
	}
}

// BenchmarkCombine measures pre_reduce's time per item over epochs of 64 batches of 1000
// keys.
func BenchmarkCombine(b *testing.B) {
	h := holderNode(b, sumFlow(), "f.sum.pre_reduce")
	batches := combineBatches()
	for b.Loop() {
		for _, batch := range batches {
			h.Batch(batch)
		}
		h.Flush()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(64*1024), "ns/item")
}

// TestCombinerBoundedAndPassing feeds pre_reduce batches of keys that never repeat: it
// emits its table once it holds some thousands of keys (its memory stays bounded without
// an epoch's end), then, having saved nothing, passes the next batches through as they
// are; nothing is lost or counted twice.
func TestCombinerBoundedAndPassing(t *testing.T) {
	h := holderNode(t, sumFlow(), "f.sum.pre_reduce")
	const batch = 1000
	given, emitted, firstEmit, passed := 0, 0, -1, 0
	for b := range 100 {
		kvs := make([]weir.KV[int], batch)
		for i := range kvs {
			kvs[i] = kvOf(fmt.Sprint(b, "/", i), 1)
		}
		given += batch
		out := h.Batch(kvs)
		if out == nil {
			continue
		}
		got := out.([]weir.KV[int])
		if &got[0] == &kvs[0] {
			passed++
		} else if len(got) > 1<<15 {
			t.Fatalf("batch %d: emitted a table of %d keys", b, len(got))
		}
		if firstEmit < 0 {
			firstEmit = b
		}
		emitted += len(got)
	}
	if out := h.Flush(); out != nil {
		emitted += len(out.([]weir.KV[int]))
	}
	if firstEmit < 0 || firstEmit > 40 {
		t.Errorf("first emitted at batch %d, want within the first 40 batches of %d new keys", firstEmit, batch)
	}
	if passed == 0 {
		t.Error("no batch of new keys passed through as it was")
	}
	if emitted != given {
		t.Errorf("emitted %d items of %d given", emitted, given)
	}
}
