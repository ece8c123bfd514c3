package engine

import (
	"context"
	"testing"
)

// BenchmarkSpansOff is what tracing costs where a span would start when the run has no
// tracer: a nil check, no allocation.
func BenchmarkSpansOff(b *testing.B) {
	s := newSpans(context.Background(), 0) // nil: no tracer
	if s != nil {
		b.Fatal("spans without a tracer")
	}
	b.ReportAllocs()
	for b.Loop() {
		s.epochOpened(7)
		endSnapshot(s.snapshot("f.step", 7), 3, nil)
		endCommit(s.commit(7, 1, false), 3, 100, nil)
	}
}

func TestSpansOffAllocateNothing(t *testing.T) {
	var s *spans
	if n := testing.AllocsPerRun(100, func() {
		s.epochOpened(7)
		endSnapshot(s.snapshot("f.step", 7), 3, nil)
		endCommit(s.commit(7, 1, false), 3, 100, nil)
		s.epochClosed()
	}); n != 0 {
		t.Errorf("%v allocations per epoch without a tracer", n)
	}
}
