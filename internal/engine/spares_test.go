package engine

import (
	"runtime"
	"testing"
)

// TestSparesSurviveCollections checks that the batches receivers give back are there for
// senders after garbage collections, which empty a sync.Pool: at two workers a pool lost
// about one batch in five, each loss a new batch to allocate and collect.
func TestSparesSurviveCollections(t *testing.T) {
	s := newSpares(2)
	want := make([]int, 0, 1024)
	s.put(want)
	runtime.GC()
	runtime.GC()
	got, _ := s.get().([]int)
	if cap(got) != cap(want) || &got[:1][0] != &want[:1][0] {
		t.Fatalf("after two collections get returned %d-capacity batch, want the one put", cap(got))
	}
	if b := s.get(); b != nil {
		t.Errorf("get of an empty spares returned a batch of capacity %d", cap(b.([]int)))
	}
}

// TestSparesSteadyStateAllocs checks that a batch given back and taken again, as each
// message of an exchange does, allocates nothing, beyond the list's limit too.
func TestSparesSteadyStateAllocs(t *testing.T) {
	s := newSpares(2)
	var batches []any
	for range s.limit + 4 {
		batches = append(batches, make([]int, 0, 16))
	}
	if a := testing.AllocsPerRun(100, func() {
		for _, b := range batches[:s.limit] {
			s.put(b)
		}
		for range s.limit {
			if s.get() == nil {
				t.Fatal("get returned nil with batches put")
			}
		}
	}); a != 0 {
		t.Errorf("put and get of %d batches: %v allocations, want 0", s.limit, a)
	}
	for _, b := range batches {
		s.put(b)
	}
	n := 0
	for s.get() != nil {
		n++
	}
	if n < s.limit {
		t.Errorf("got back %d of %d batches put, want at least the list's %d", n, len(batches), s.limit)
	}
}
