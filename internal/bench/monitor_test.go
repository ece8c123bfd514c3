package bench_test

import (
	"context"
	"os"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/weirflow/weir/internal/bench"
	"github.com/weirflow/weir/run"
)

// The monitored paths compute what the plain ones do, with their metrics scraped.
func TestMonitored(t *testing.T) {
	const n = 1 << 21 // long enough (tens of ms) for the first scrape to find the server up
	want, err := bench.Count(context.Background(), n, 2, bench.DefaultBatch)
	if err != nil {
		t.Fatal(err)
	}
	got, scrapes, err := bench.Monitored(context.Background(), n, func(ctx context.Context, n int, opts ...run.Option) (int, error) {
		return bench.Count(ctx, n, 2, bench.DefaultBatch, opts...)
	})
	if err != nil || got != want || scrapes < 1 {
		t.Fatalf("monitored count: %d (want %d), %d scrapes, %v", got, want, scrapes, err)
	}
}

// TestMetricsCost measures metrics on (the server up, scraped at once and then every
// second, or every 10 ms to magnify a scrape's cost) against off, in pairs run one after
// the other, alternating which goes first, so that the machine's drift affects both
// alike; it logs the quartiles of the ratios on/off. It takes about a minute, so it runs
// only with WEIR_METRICS_COST=1:
//
//	WEIR_METRICS_COST=1 go test -run TestMetricsCost -v ./internal/bench
func TestMetricsCost(t *testing.T) {
	if os.Getenv("WEIR_METRICS_COST") == "" {
		t.Skip("a measurement, not a check: set WEIR_METRICS_COST=1 to run it")
	}
	ctx := context.Background()
	chain := func(ctx context.Context, n int, opts ...run.Option) (int, error) {
		return bench.Chain(ctx, n, 1, opts...)
	}
	count := func(ctx context.Context, n int, opts ...run.Option) (int, error) {
		return bench.Count(ctx, n, 2, bench.DefaultBatch, opts...)
	}
	for _, tc := range []struct {
		name  string
		path  func(ctx context.Context, n int, opts ...run.Option) (int, error)
		n     int
		every time.Duration
		pairs int
	}{
		{"chain of 3 maps, 1 worker, scraped every 1s", chain, 1 << 24, time.Second, 15},
		{"CountFinal, 2 workers, scraped every 1s", count, 1 << 23, time.Second, 9},
		{"chain of 3 maps, 1 worker, scraped every 10ms", chain, 1 << 24, 10 * time.Millisecond, 15},
	} {
		var ratios []float64
		for i := range tc.pairs {
			timed := func(on bool) time.Duration {
				runtime.GC()
				start := time.Now()
				var err error
				if on {
					_, _, err = bench.MonitoredEvery(ctx, tc.n, tc.every, tc.path)
				} else {
					_, err = tc.path(ctx, tc.n)
				}
				if err != nil {
					t.Fatal(err)
				}
				return time.Since(start)
			}
			var on, off time.Duration
			if i%2 == 0 {
				off, on = timed(false), timed(true)
			} else {
				on, off = timed(true), timed(false)
			}
			ratios = append(ratios, on.Seconds()/off.Seconds())
		}
		slices.Sort(ratios)
		q := func(f float64) float64 { return ratios[int(f*float64(len(ratios)-1)+0.5)] }
		t.Logf("%s: on/off over %d pairs: median %.3f, quartiles %.3f-%.3f, range %.3f-%.3f",
			tc.name, tc.pairs, q(0.5), q(0.25), q(0.75), ratios[0], ratios[len(ratios)-1])
	}
}
