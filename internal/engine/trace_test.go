package engine_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/internal/engine"
	"github.com/weirflow/weir/internal/graph"
	"github.com/weirflow/weir/internal/plan"
	"github.com/weirflow/weir/internal/state"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/source"
	"github.com/weirflow/weir/weirtest"
)

var quiet = slog.New(slog.DiscardHandler)

func tracedFlow(n int) *plan.Plan {
	items := make([]int, n)
	for i := range items {
		items[i] = i
	}
	flow := weir.NewDataflow("traced")
	in := op.Input("inp", flow, source.FromSlice(items...).BatchSize(100))
	sums := op.StatefulBatch("sum", keyBy("key", in, 5), newSum)
	op.Output("out", sums, weirtest.NewSink[weir.KV[int]]())
	p, err := plan.New(graph.FlowOf(flow))
	if err != nil {
		panic(err)
	}
	return p
}

func attrs(s sdktrace.ReadOnlySpan) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, a := range s.Attributes() {
		m[a.Key] = a.Value
	}
	return m
}

// A run given a TracerProvider records its epochs, snapshots and commits as spans under
// the span of the context it was given.
func TestTracing(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	ctx, parent := tp.Tracer("test").Start(context.Background(), "the program's run")
	ctx = engine.WithTracerProvider(ctx, tp)
	if err := engine.Run(ctx, tracedFlow(1000), engine.Config{Workers: 2, EpochInterval: 0, Store: state.NewMemory(), Logger: quiet}); err != nil {
		t.Fatal(err)
	}
	parent.End()
	count := map[string]int{}
	workers := map[string]map[int64]bool{}
	for _, s := range rec.Ended() {
		name := s.Name()
		if name == "the program's run" {
			continue
		}
		count[name]++
		if s.Parent().SpanID() != parent.SpanContext().SpanID() {
			t.Errorf("%s is not a child of the run's span", name)
		}
		a := attrs(s)
		if workers[name] == nil {
			workers[name] = map[int64]bool{}
		}
		workers[name][a["weir.worker"].AsInt64()] = true
		if a["weir.epoch"].AsInt64() < 1 {
			t.Errorf("%s without an epoch: %v", name, s.Attributes())
		}
		switch name {
		case "weir.snapshot":
			if step := a["weir.step"].AsString(); step != "traced.inp" && step != "traced.sum" {
				t.Errorf("snapshot of step %q", step)
			}
		case "weir.commit":
			if _, ok := a["weir.rows"]; !ok || a["weir.epochs"].AsInt64() < 1 {
				t.Errorf("commit span without rows or epochs: %v", s.Attributes())
			}
		}
		if s.Status().Code == codes.Error {
			t.Errorf("%s failed: %v", name, s.Status())
		}
	}
	for _, name := range []string{"weir.epoch", "weir.snapshot", "weir.commit"} {
		if count[name] == 0 || len(workers[name]) != 2 {
			t.Errorf("%d %s spans, on workers %v; want some on both workers", count[name], name, workers[name])
		}
	}
}

// failingStore fails every write.
type failingStore struct{ state.Store }

func (failingStore) Write(int, []state.Epoch) error { return errors.New("disk full") }

// A failed write's span records the error.
func TestTracingFailedCommit(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	ctx := engine.WithTracerProvider(context.Background(), tp)
	err := engine.Run(ctx, tracedFlow(100), engine.Config{Workers: 1, EpochInterval: 0, Store: failingStore{state.NewMemory()}, Logger: quiet})
	if err == nil {
		t.Fatal("the run did not fail")
	}
	failed := 0
	for _, s := range rec.Ended() {
		if s.Name() == "weir.commit" && s.Status().Code == codes.Error && s.Status().Description == "disk full" && len(s.Events()) > 0 {
			failed++
		}
	}
	if failed == 0 {
		t.Error("no commit span records the failed write")
	}
}

// BenchmarkTracing runs a flow of 100k items in 100-item batches, an epoch per round
// (about a thousand epochs, each snapshotted and committed to a store in memory), without
// a tracer (off: a nil check where each span would start), with OpenTelemetry's no-op
// provider (the API's own cost) and with the SDK recording every span in memory.
func BenchmarkTracing(b *testing.B) {
	p := tracedFlow(100_000)
	for _, tc := range []struct {
		name string
		ctx  func() context.Context
	}{
		{"off", context.Background},
		{"noop", func() context.Context {
			return engine.WithTracerProvider(context.Background(), noop.NewTracerProvider())
		}},
		{"sdk", func() context.Context {
			tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(tracetest.NewSpanRecorder()))
			return engine.WithTracerProvider(context.Background(), tp)
		}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				if err := engine.Run(tc.ctx(), p, engine.Config{Workers: 2, EpochInterval: 0, Store: state.NewMemory(), Logger: quiet}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed())/float64(b.N)/1e6, "ms/run")
		})
	}

}
