package run

import (
	"context"
	"io"
	"log/slog"
	"syscall"
	"testing"
	"time"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/source"
)

// BenchmarkProgress runs a flow of 8M small items through a Map and a keyed count with
// the progress line off and on (drawn to io.Discard every 200 ms from the engine's
// Stats, which then also time user code per batch): the line's cost is the difference.
func BenchmarkProgress(b *testing.B) {
	const n = 1 << 23
	items := make([]int, n)
	for i := range items {
		items[i] = i
	}
	flow := func() *weir.Dataflow {
		f := weir.NewDataflow("bench")
		in := op.Input("in", f, source.FromSlice(items...))
		m := op.Map("inc", in, func(x int) int { return x + 1 })
		c := op.CountFinal("count", m, func(x int) string { return [...]string{"a", "b", "c", "d"}[x&3] })
		op.Output("out", c, discard[weir.KV[int]]())
		return f
	}
	for _, on := range []bool{false, true} {
		name := "off"
		if on {
			name = "on"
		}
		b.Run(name, func(b *testing.B) {
			cpu0 := cpuTime()
			for b.Loop() {
				cfg := newConfig([]Option{Logger(slog.New(slog.DiscardHandler))})
				if on {
					cfg.progress = newProgressLine(io.Discard)
				}
				if err := run(context.Background(), flow(), cfg); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "items/s")
			// CPU time is steadier than wall time on a shared machine.
			b.ReportMetric(float64(n)*float64(b.N)/(cpuTime()-cpu0).Seconds(), "items/cpu-s")
		})
	}
}

// cpuTime is the CPU time (user and system) this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
