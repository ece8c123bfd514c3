package weirtest

import (
	"context"
	"slices"
	"sync"

	"github.com/weirflow/weir/sink"
)

// Sink is a capture sink: it keeps every item written to it, from every worker, in the
// order the writes arrived. It is a dynamic sink (one instance per worker, no state), safe
// for concurrent use. With one worker, the order is the flow's deterministic output order.
type Sink[T any] struct {
	mu    sync.Mutex
	items []T
}

// NewSink returns an empty Sink.
func NewSink[T any]() *Sink[T] { return &Sink[T]{} }

// Items returns a copy of the items written so far, in arrival order.
func (s *Sink[T]) Items() []T {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.items)
}

// Clear forgets the items written so far, for example between two runs of a flow.
func (s *Sink[T]) Clear() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.items = nil
}

// Build implements sink.Sink.
func (s *Sink[T]) Build(context.Context, sink.Part, []byte) (sink.Partition[T], error) {
	return sinkPart[T]{s}, nil
}

type sinkPart[T any] struct{ s *Sink[T] }

func (p sinkPart[T]) Write(items []T) error {
	p.s.mu.Lock()
	defer p.s.mu.Unlock()
	// Appending copies: the batch is only borrowed.
	p.s.items = append(p.s.items, items...)
	return nil
}

func (p sinkPart[T]) Snapshot() []byte { return nil }
func (p sinkPart[T]) Close() error     { return nil }
