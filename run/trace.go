package run

import (
	"go.opentelemetry.io/otel/trace"
)

// Tracing makes the run record OpenTelemetry spans with tp, overriding the default of
// none: a span of each epoch at each worker's inputs (weir.epoch), of each step's
// snapshot of an epoch (weir.snapshot) and of each write to the recovery store
// (weir.commit), with the worker, epoch, step, rows and bytes as attributes, children of
// the span in Run's context if it has one. The program brings the provider and its
// exporter (OTLP, stdout...): package run depends on OpenTelemetry's API alone. Without
// it, or with a nil tp, a run records nothing and pays a nil check where a span would
// start.
func Tracing(tp trace.TracerProvider) Option { return func(c *config) { c.tracerProvider = tp } }
