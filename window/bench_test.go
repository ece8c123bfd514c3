package window_test

import (
	"context"
	"log/slog"
	"math"
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
// wall clock and by CPU time: issue 18's budget is a ratio of at most 2.5. CI runs it
// briefly; it fails when even the best operation's CPU ratio is over maxCountRatio, far
// above the budget, so that a loaded machine does not make it flap.
func BenchmarkCountVsLoop(b *testing.B) {
	const n = 1_000_000
	// Each run would log its start and end.
	defer slog.SetDefault(slog.Default())
	slog.SetDefault(slog.New(slog.DiscardHandler))
	var weirWall, loopWall, weirCPU, loopCPU time.Duration
	best := math.Inf(1)
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
		if c2 > c1 {
			best = min(best, float64(c1-c0)/float64(c2-c1))
		}
	}
	per := float64(b.N) * n
	b.ReportMetric(float64(weirWall)/per, "ns/event")
	b.ReportMetric(float64(loopWall)/per, "loop-ns/event")
	b.ReportMetric(float64(weirWall)/float64(loopWall), "ratio")
	if loopCPU > 0 {
		b.ReportMetric(float64(weirCPU)/float64(loopCPU), "cpu-ratio")
	}
	if best > maxCountRatio {
		b.Errorf("windowed count at %.2f times its loop's CPU time at best, want at most %v (the budget is 2.5)", best, maxCountRatio)
	}
}

// maxCountRatio is the CPU ratio over which BenchmarkCountVsLoop fails: on the 2-core
// machine loaded by other builds (load average 10 to 16) it measured 3.7 to 4.4 after issue
// 18's second round, 4.4 to 4.8 before it; idle, before the round, 3.11 to 3.54 by wall clock.
// In the third round (unread splits not run, few unranked keys placed without sorting
// their batch), at load 5 to 7, ten runs alternated with the code before it: 2.7 to 3.2
// against 3.3 to 4.1. In the late third round (SetNow once per activation, keyed.SharedClock),
// at load 10 to 12, seven pairs alternated with the code before it: 2.78 to 3.39 (median
// 3.01) against 3.08 to 3.73 (median 3.15), lower in six of the seven. In the fourth round
// (keyed.TryFolding: an item in its key's newest window that closes nothing is taken as its
// key is looked up), at load 7.5, six pairs alternated with the code before it: 2.68 to
// 2.80 (median 2.76) against 3.03 to 3.17 (median 3.08), lower in every pair. In the
// fifth round (a key that takes an item is asked its notification time at once), at load
// 10 to 12, eleven pairs: 2.42 to 2.78 (median 2.51) against 2.53 to 2.95 (median 2.69),
// lower in eight.
const maxCountRatio = 6.0
