package sink

import "context"

// Func returns a dynamic sink that calls fn with each batch of items. Every worker calls
// fn with its own batches, so fn may be called concurrently from several goroutines and
// must be safe for that. The items slice is only borrowed for the call: copy what you
// keep. An error from fn stops the run.
func Func[T any](fn func(items []T) error) Sink[T] { return funcSink[T](fn) }

type funcSink[T any] func([]T) error

func (f funcSink[T]) Build(context.Context, Part, []byte) (Partition[T], error) { return f, nil }

func (f funcSink[T]) Write(items []T) error { return f(items) }
func (f funcSink[T]) Snapshot() []byte      { return nil }
func (f funcSink[T]) Close() error          { return nil }
