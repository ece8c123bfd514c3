package engine

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// Tracing: a run given a TracerProvider (WithTracerProvider) records OpenTelemetry spans
// of its epochs, snapshots and commits. Without one, each place a span would start costs
// a nil check and nothing else: no span, no attribute, no allocation (BenchmarkTracing).
//
// The spans, each a child of the span ctx carries when Run is called (so a program's own
// span of its run holds them), are:
//
//   - weir.epoch: an epoch at a worker's inputs, from its opening to its close (the reads
//     of the epoch), with weir.worker and weir.epoch;
//   - weir.snapshot: one step's snapshot of an epoch as the epoch closes at the step (a
//     stateful step's changed keys, an input's or a partitioned sink's positions), with
//     weir.step, weir.worker, weir.epoch and weir.changes;
//   - weir.commit: one write by a worker's committer to the recovery store (one or more
//     epochs), with weir.worker, weir.epoch (the last), weir.epochs, weir.rows, weir.bytes
//     and weir.final.
//
// A failed snapshot or write records its error and sets the span's status to Error. Spans
// of snapshots and commits are only made with a store, as the snapshots themselves are.

// tracerName names weir's tracer to the provider.
const tracerName = "github.com/weirflow/weir"

type tracerKey struct{}

// WithTracerProvider returns a context that makes Run record spans with a tracer of tp; a
// nil tp records none.
func WithTracerProvider(ctx context.Context, tp trace.TracerProvider) context.Context {
	if tp == nil {
		return ctx
	}
	return context.WithValue(ctx, tracerKey{}, tp.Tracer(tracerName))
}

// tracerOf returns the tracer ctx carries, nil for none.
func tracerOf(ctx context.Context) trace.Tracer {
	t, _ := ctx.Value(tracerKey{}).(trace.Tracer)
	return t
}

// spans starts the spans of one worker, or of its committer. Its zero value, and a nil
// *spans, start none.
type spans struct {
	tracer trace.Tracer
	ctx    context.Context // the parent of every span: the context Run was given
	worker attribute.KeyValue
	epoch  trace.Span // the open weir.epoch span, nil for none
}

// newSpans returns the spans of worker under ctx, or nil when ctx carries no tracer.
func newSpans(ctx context.Context, worker int) *spans {
	t := tracerOf(ctx)
	if t == nil {
		return nil
	}
	return &spans{tracer: t, ctx: ctx, worker: attribute.Int("weir.worker", worker)}
}

// epochOpened ends the span of the epoch before and starts that of epoch e.
func (s *spans) epochOpened(e uint64) {
	if s == nil {
		return
	}
	s.epochClosed()
	_, s.epoch = s.tracer.Start(s.ctx, "weir.epoch", trace.WithAttributes(s.worker, attribute.Int64("weir.epoch", int64(e))))
}

// epochClosed ends the open epoch's span, if any.
func (s *spans) epochClosed() {
	if s == nil || s.epoch == nil {
		return
	}
	s.epoch.End()
	s.epoch = nil
}

// snapshot starts the span of step's snapshot of epoch e; end it with endSnapshot.
func (s *spans) snapshot(step string, e uint64) trace.Span {
	if s == nil {
		return nil
	}
	_, sp := s.tracer.Start(s.ctx, "weir.snapshot", trace.WithAttributes(s.worker,
		attribute.String("weir.step", step), attribute.Int64("weir.epoch", int64(e))))
	return sp
}

// commit starts the span of a write of epochs up to last; end it with endCommit.
func (s *spans) commit(last uint64, epochs int, final bool) trace.Span {
	if s == nil {
		return nil
	}
	_, sp := s.tracer.Start(s.ctx, "weir.commit", trace.WithAttributes(s.worker,
		attribute.Int64("weir.epoch", int64(last)), attribute.Int("weir.epochs", epochs), attribute.Bool("weir.final", final)))
	return sp
}

// endSnapshot ends sp, a snapshot's span or nil, with the changes it took and its error.
func endSnapshot(sp trace.Span, changes int, err error) {
	if sp == nil {
		return
	}
	sp.SetAttributes(attribute.Int("weir.changes", changes))
	endSpan(sp, err)
}

// endCommit ends sp, a commit's span or nil, with the rows and bytes written and the
// write's error.
func endCommit(sp trace.Span, rows, bytes int, err error) {
	if sp == nil {
		return
	}
	sp.SetAttributes(attribute.Int("weir.rows", rows), attribute.Int("weir.bytes", bytes))
	endSpan(sp, err)
}

func endSpan(sp trace.Span, err error) {
	if err != nil {
		sp.RecordError(err)
		sp.SetStatus(codes.Error, err.Error())
	}
	sp.End()
}
