package bench_test

import (
	"context"
	"testing"

	"github.com/weirflow/weir/internal/bench"
	"github.com/weirflow/weir/run"
)

// The monitored paths compute what the plain ones do, with their metrics scraped.
func TestMonitored(t *testing.T) {
	const n = 100_000
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
