package keyed

import (
	"fmt"
	"slices"
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

// maxFoldRatio bounds BenchmarkActivateCount's ratio for a folding logic.
const maxFoldRatio = 2.0

// BenchmarkActivateCount measures Activate on the CountFinal path's batches (1000 keys,
// each batch of 1024 touching nearly all of them, or of 16384 touching each about 16
// times) with a Quiet fold like op's Final operators, interleaved with its anchor, a map
// loop over the same items, and reports the ratio (ratio/loop): what the runtime costs
// beyond the map lookup per item that any keyed count pays. The same logic without
// FoldOne (grouped) shows what folding saves. CI runs it briefly.
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
				// Per batch, so that the medians can leave out the batches during which the
				// machine's other work took the core.
				var weirNs, loopNs []time.Duration
				i := 0
				for b.Loop() {
					items := stream[i%len(stream)]
					t0 := time.Now()
					if _, err := rt.Activate(items, now, false); err != nil {
						b.Fatal(err)
					}
					t1 := time.Now()
					countLoop(counts, items)
					loopNs = append(loopNs, time.Since(t1))
					weirNs = append(weirNs, t1.Sub(t0))
					i++
				}
				took, loop := median(weirNs), median(loopNs)
				b.ReportMetric(float64(took.Nanoseconds())/float64(size), "ns/item")
				b.ReportMetric(float64(loop.Nanoseconds())/float64(size), "loop-ns/item")
				ratio := float64(took) / float64(loop)
				b.ReportMetric(ratio, "ratio/loop")
				// 0.93-0.97 folding, 1.31 grouped with batches of 1024 on a loaded 2-core
				// machine (the runtime looks a batch's keys up in a pass of their own,
				// which the loop does not): the bound is wide, for CI's brief run on any
				// machine, and catches a runtime that has grown a cost per item as large
				// as the map lookup's.
				if fold && b.N >= 100 && ratio > maxFoldRatio {
					b.Errorf("the runtime took %.2f times a map loop's time, want at most %.1f", ratio, maxFoldRatio)
				}
			})
		}
	}
}

func median(ds []time.Duration) time.Duration {
	slices.Sort(ds)
	return ds[len(ds)/2]
}
