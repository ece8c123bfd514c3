package comm

import (
	"sync"
	"testing"
	"time"
)

// BenchmarkLocalRound measures what the mesh costs a round of two workers in one process
// that read their sources as fast as they go and send each other nothing, as two workers
// counting with a combiner do: each round, each reports its load (Report) and reads its
// credit toward both (congested), between batches of work of its own. It reports the
// time of a round beside that of the same rounds without the mesh's calls, and their
// difference per round: the cache line of a worker's box bouncing between the cores when
// a round writes it and the other's round reads it.
func BenchmarkLocalRound(b *testing.B) {
	const rounds = 1 << 14
	work := func(x uint64) uint64 { // about a microsecond of work that touches nothing shared
		for range 400 {
			x ^= x << 13
			x ^= x >> 7
			x ^= x << 17
		}
		return x
	}
	run := func(mesh bool) time.Duration {
		l := NewLocal(2, 64<<20)
		var wg sync.WaitGroup
		start := time.Now()
		for w := range 2 {
			wg.Go(func() {
				x := uint64(w + 1)
				for range rounds {
					x = work(x)
					if mesh {
						for d := range 2 {
							if l.Credit(w, d) <= 0 {
								x++
							}
						}
						l.Report(w, 0, 64<<10)
					}
				}
				sink[w*8] = x
			})
		}
		wg.Wait()
		return time.Since(start)
	}
	var with, without time.Duration
	for b.Loop() {
		without += run(false)
		with += run(true)
	}
	per := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / float64(b.N) / rounds }
	b.ReportMetric(per(with), "ns/round")
	b.ReportMetric(per(without), "anchor-ns/round")
	b.ReportMetric(per(with)-per(without), "mesh-ns/round")
}

var sink [16]uint64

// TestLocalReportStoresChanges checks that Report stores a worker's figures only when they
// change (a worker reports every round), and that the credit still follows each change.
func TestLocalReportStoresChanges(t *testing.T) {
	stores := 0
	reportStores = func(int) { stores++ }
	defer func() { reportStores = nil }()
	l := NewLocal(2, 1000)
	for range 100 {
		l.Report(1, 10, 500)
	}
	if stores != 1 {
		t.Errorf("100 reports of the same figures stored them %d times, want once", stores)
	}
	if c := l.Credit(0, 1); c != 490 {
		t.Errorf("credit %d, want 490", c)
	}
	l.Report(1, 20, 500)
	l.Report(1, 20, 2000) // the mesh's limit, 1000, bounds it
	l.Report(1, 20, 5000) // still 1000: unchanged
	if stores != 3 {
		t.Errorf("%d stores after two changes, want 3", stores)
	}
	if c := l.Credit(0, 1); c != 980 {
		t.Errorf("credit %d, want 980", c)
	}
}
