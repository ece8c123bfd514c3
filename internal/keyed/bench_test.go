package keyed

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/weirflow/weir"
)

// sum adds its values up and emits nothing, so that a benchmark of it measures the
// runtime: grouping by key, ordering, and the calls of the logic.
type sum struct{ n int64 }

func (s *sum) OnBatch(vs []int64) ([]int64, bool) {
	for _, v := range vs {
		s.n += v
	}
	return nil, false
}
func (s *sum) OnNotify() ([]int64, bool)   { return nil, false }
func (s *sum) OnEOF() ([]int64, bool)      { return nil, false }
func (s *sum) NotifyAt() (time.Time, bool) { return time.Time{}, false }
func (s *sum) Snapshot() int64             { return s.n }
func (s *sum) Timeless()                   {}

// quietSum is sum declared Quiet, which lets the runtime skip putting keys in order.
type quietSum struct{ sum }

func (*quietSum) Quiet() {}

// BenchmarkActivateKeys measures Activate on batches of 1024 items whose keys are drawn at
// random from 1k, 10k or 100k keys, with a logic that the runtime puts in key order
// (ordered) and the same logic declared Quiet (quiet), which skips the ordering: the
// difference is what sorted key order costs.
func BenchmarkActivateKeys(b *testing.B) {
	const batch = 1024
	for _, keys := range []int{1_000, 10_000, 100_000} {
		names := make([]string, keys)
		for i := range names {
			names[i] = fmt.Sprint("user-", i)
		}
		// A fixed stream of batches, so that every run and both logics see the same keys.
		r := rand.New(rand.NewPCG(5, 6))
		stream := make([][]weir.KV[int64], 256)
		for i := range stream {
			stream[i] = make([]weir.KV[int64], batch)
			for j := range stream[i] {
				stream[i][j] = weir.KV[int64]{Key: names[r.IntN(keys)], Value: 1}
			}
		}
		for _, quiet := range []bool{false, true} {
			name := fmt.Sprintf("keys=%d/ordered", keys)
			build := func(int64, bool) Logic[int64, int64, int64] { return &sum{} }
			if quiet {
				name = fmt.Sprintf("keys=%d/quiet", keys)
				build = func(int64, bool) Logic[int64, int64, int64] { return &quietSum{} }
			}
			b.Run(name, func(b *testing.B) {
				rt := New(build)
				now := time.Unix(1, 0)
				for _, items := range stream { // every key made before timing
					if _, err := rt.Activate(items, now, false); err != nil {
						b.Fatal(err)
					}
				}
				i := 0
				for b.Loop() {
					if _, err := rt.Activate(stream[i%len(stream)], now, false); err != nil {
						b.Fatal(err)
					}
					i++
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/item")
			})
		}
	}
}
