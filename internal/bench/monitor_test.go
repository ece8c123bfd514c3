package bench_test

import (
	"context"
	"os"
	"runtime"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/weirflow/weir/internal/bench"
	"github.com/weirflow/weir/run"
)

// The monitored paths compute what the plain ones do, with their metrics scraped. The two
// workers keep both CPUs of the development VM busy, so the scraper, after its first try
// finds no server yet, runs again only when Go's scheduler preempts a worker (about 10 ms
// later); 2M items take 14-20 ms, and 13 runs of 40 ended before it scraped. Such a run
// is run again with twice as many items.
func TestMonitored(t *testing.T) {
	path := func(ctx context.Context, n int, opts ...run.Option) (int, error) {
		return bench.Count(ctx, n, 2, bench.DefaultBatch, opts...)
	}
	for n := 1 << 21; ; n *= 2 {
		want, err := bench.Count(context.Background(), n, 2, bench.DefaultBatch)
		if err != nil {
			t.Fatal(err)
		}
		got, scrapes, err := bench.Monitored(context.Background(), n, path)
		if err != nil || got != want {
			t.Fatalf("monitored count of %d items: %d (want %d), %v", n, got, want, err)
		}
		if scrapes > 0 {
			return
		}
		if n >= 1<<26 {
			t.Fatalf("monitored count of %d items: no scrape read weir's metrics", n)
		}
		t.Logf("%d items: over before the first scrape; again with twice as many", n)
	}
}

// TestMetricsCost measures metrics on (the server up, scraped at once and then every
// second, or every 10 ms to magnify a scrape's cost) against off, in pairs run one after
// the other, alternating which goes first, so that the machine's drift affects both
// alike; it logs the quartiles of the ratios on/off of the wall time and of the CPU time
// of the process (user and system: the server's and the scraper's count too), which a
// machine busy with other work disturbs less. It takes minutes, so it runs only with
// WEIR_METRICS_COST=1:
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
		// Runs of a second or more, so that the server's start (a few ms of CPU) and the
		// first scrape are a small share, as in a job that runs for hours.
		{"chain of 3 maps, 1 worker, scraped every 1s", chain, 1 << 27, time.Second, 9},
		{"CountFinal, 2 workers, scraped every 1s", count, 1 << 25, time.Second, 7},
		{"chain of 3 maps, 1 worker, scraped every 10ms", chain, 1 << 25, 10 * time.Millisecond, 9},
	} {
		var ratios, cpuRatios []float64
		for i := range tc.pairs {
			timed := func(on bool) (wall, cpu time.Duration) {
				runtime.GC()
				cpu0 := cpuTime(t)
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
				return time.Since(start), cpuTime(t) - cpu0
			}
			var on, off, onCPU, offCPU time.Duration
			if i%2 == 0 {
				off, offCPU = timed(false)
				on, onCPU = timed(true)
			} else {
				on, onCPU = timed(true)
				off, offCPU = timed(false)
			}
			ratios = append(ratios, on.Seconds()/off.Seconds())
			cpuRatios = append(cpuRatios, onCPU.Seconds()/offCPU.Seconds())
		}
		for _, r := range []struct {
			what   string
			ratios []float64
		}{{"wall", ratios}, {"CPU", cpuRatios}} {
			rs := r.ratios
			slices.Sort(rs)
			q := func(f float64) float64 { return rs[int(f*float64(len(rs)-1)+0.5)] }
			t.Logf("%s: %s time on/off over %d pairs: median %.3f, quartiles %.3f-%.3f, range %.3f-%.3f",
				tc.name, r.what, tc.pairs, q(0.5), q(0.25), q(0.75), rs[0], rs[len(rs)-1])
		}
	}
}

// cpuTime is the CPU time this process has used, user and system.
func cpuTime(t *testing.T) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
