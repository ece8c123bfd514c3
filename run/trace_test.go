package run

import (
	"context"
	"log/slog"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/source"
)

// Tracing(tp) makes the run record its spans with tp; without it, or with nil, none.
func TestTracingOption(t *testing.T) {
	flow := func() *weir.Dataflow {
		f := weir.NewDataflow("f")
		in := op.Input("in", f, source.FromSlice(1, 2, 3, 4))
		c := op.CountFinal("count", in, func(i int) string { return "k" })
		op.Output("out", c, discard[weir.KV[int]]())
		return f
	}
	for _, on := range []bool{false, true} {
		rec := tracetest.NewSpanRecorder()
		tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
		opts := []Option{Logger(slog.New(slog.DiscardHandler)), EpochInterval(0), Tracing(nil)}
		if on {
			opts = append(opts, Tracing(tp))
		}
		if err := Run(context.Background(), flow(), opts...); err != nil {
			t.Fatal(err)
		}
		names := map[string]int{}
		for _, s := range rec.Ended() {
			names[s.Name()]++
		}
		if on && names["weir.epoch"] == 0 {
			t.Errorf("with Tracing: spans %v, want weir.epoch ones", names)
		}
		if !on && len(names) > 0 {
			t.Errorf("without a provider: spans %v", names)
		}
	}
}
