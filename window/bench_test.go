package window_test

import (
	"context"
	"log/slog"
	"syscall"
	"testing"
	"time"

	"github.com/weirflow/weir/internal/bench"
)

// cpuTime returns the CPU time the process has used, user and system: on a machine
// shared with other work it moves less than the wall clock with the others' load.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkCountVsLoop runs the report's windowed path (window.Count, tumbling one-minute
// windows, 10k keys, one worker) and its anchor, a loop keeping one open window per key,
// one after the other in each operation, and reports both per event and their ratio, by
// wall clock and by CPU time: issue 18's budget is a ratio of at most 2.5.
func BenchmarkCountVsLoop(b *testing.B) {
	const n = 1_000_000
	// Each run would log its start and end.
	defer slog.SetDefault(slog.Default())
	slog.SetDefault(slog.New(slog.DiscardHandler))
	var weirWall, loopWall, weirCPU, loopCPU time.Duration
	for b.Loop() {
		w0, c0 := time.Now(), cpuTime()
		if _, err := bench.WindowCount(context.Background(), n, 1); err != nil {
			b.Fatal(err)
		}
		w1, c1 := time.Now(), cpuTime()
		bench.WindowLoop(n)
		w2, c2 := time.Now(), cpuTime()
		weirWall, loopWall = weirWall+w1.Sub(w0), loopWall+w2.Sub(w1)
		weirCPU, loopCPU = weirCPU+c1-c0, loopCPU+c2-c1
	}
	per := float64(b.N) * n
	b.ReportMetric(float64(weirWall)/per, "ns/event")
	b.ReportMetric(float64(loopWall)/per, "loop-ns/event")
	b.ReportMetric(float64(weirWall)/float64(loopWall), "ratio")
	if loopCPU > 0 {
		b.ReportMetric(float64(weirCPU)/float64(loopCPU), "cpu-ratio")
	}
}
