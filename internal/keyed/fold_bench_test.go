package keyed

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/weirflow/weir"
)

// countStream is the shape of the CountFinal bench path (internal/bench): item i keyed
// i%keys, in batches of size, all of value 1.
func countStream(keys, size, batches int) [][]weir.KV[int64] {
	names := make([]string, keys)
	for i := range names {
		names[i] = "key-" + strconv.Itoa(i)
	}
	stream := make([][]weir.KV[int64], batches)
	i := 0
	for b := range stream {
		stream[b] = make([]weir.KV[int64], size)
		for j := range stream[b] {
			stream[b][j] = weir.KV[int64]{Key: names[i%keys], Value: 1}
			i++
		}
	}
	return stream
}

// countLoop is the anchor of BenchmarkActivateCount: counts[key] += value in a Go map.
//
//go:noinline
func countLoop(counts map[string]int64, items []weir.KV[int64]) {
	for i := range items {
		counts[items[i].Key] += items[i].Value
	}
}

// foldSum is quietSum taking its values one at a time, as op's Final operators do.
type foldSum struct{ quietSum }

func (s *foldSum) FoldOne(v int64) { s.n += v }

// BenchmarkActivateCount measures Activate on the CountFinal path's batches (1000 keys,
// each batch of 1024 touching nearly all of them, or of 16384 touching each about 16
// times) with a Quiet fold like op's Final operators, interleaved with its anchor, a map
// loop over the same items, and reports the ratio (ratio/loop): what the runtime costs
// beyond the map lookup per item that any keyed count pays.
func BenchmarkActivateCount(b *testing.B) {
	for _, size := range []int{1024, 16384} {
		stream := countStream(1000, size, 64)
		for _, fold := range []bool{true, false} {
			name := fmt.Sprintf("batch=%d/fold", size)
			build := func(int64, bool) Logic[int64, int64, int64] { return &foldSum{} }
			if !fold {
				name = fmt.Sprintf("batch=%d/grouped", size)
				build = func(int64, bool) Logic[int64, int64, int64] { return &quietSum{} }
			}
			b.Run(name, func(b *testing.B) {
				rt := New(build)
				now := time.Unix(1, 0)
				counts := map[string]int64{}
				for _, items := range stream { // every key made before timing
					if _, err := rt.Activate(items, now, false); err != nil {
						b.Fatal(err)
					}
					countLoop(counts, items)
				}
				var weirNs, loopNs time.Duration
				i := 0
				for b.Loop() {
					items := stream[i%len(stream)]
					t0 := time.Now()
					if _, err := rt.Activate(items, now, false); err != nil {
						b.Fatal(err)
					}
					t1 := time.Now()
					countLoop(counts, items)
					loopNs += time.Since(t1)
					weirNs += t1.Sub(t0)
					i++
				}
				items := float64(b.N * size)
				b.ReportMetric(float64(weirNs.Nanoseconds())/items, "ns/item")
				b.ReportMetric(float64(loopNs.Nanoseconds())/items, "loop-ns/item")
				b.ReportMetric(float64(weirNs)/float64(loopNs), "ratio/loop")
			})
		}
	}
}
