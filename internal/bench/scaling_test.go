package bench_test

import (
	"testing"
	"time"
)

// BenchmarkCountScaling runs the keyed count with one worker and with two, alternately in
// each operation, and reports each one's time per item and their ratio (2w/1w), the
// budget's "2 workers on 2 cores" line (at most 0.58, 1.7 times the throughput), so that
// a change to the exchange that costs scaling shows in one figure, with its anchor
// measured beside it. On a machine busy with other work the ratio is not the budget's:
// the second worker then competes for a core.
func BenchmarkCountScaling(b *testing.B) {
	one, two := job("count-1w"), job("count-2w")
	var t1, t2 time.Duration
	for b.Loop() {
		start := time.Now()
		if _, err := one.Run(benchItems); err != nil {
			b.Fatal(err)
		}
		mid := time.Now()
		if _, err := two.Run(benchItems); err != nil {
			b.Fatal(err)
		}
		t1, t2 = t1+mid.Sub(start), t2+time.Since(mid)
	}
	per := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / float64(b.N) / benchItems }
	b.ReportMetric(per(t1), "1w-ns/item")
	b.ReportMetric(per(t2), "2w-ns/item")
	b.ReportMetric(float64(t2)/float64(t1), "2w/1w")
}
