package engine

import (
	"runtime"
	"testing"
)

// TestSparesSurviveCollections checks that the batches receivers give back are there for
// senders after garbage collections, which empty a sync.Pool: at two workers a pool lost
// about one batch in five, each loss a new batch to allocate and collect.
func TestSparesSurviveCollections(t *testing.T) {
	var s spares
	want := make([]int, 0, 1024)
	s.put(want, 8<<10)
	runtime.GC()
	runtime.GC()
	got, _ := s.get().([]int)
	if cap(got) != cap(want) || &got[:1][0] != &want[:1][0] {
		t.Fatalf("after two collections get returned a batch of capacity %d, want the one put", cap(got))
	}
	if b := s.get(); b != nil {
		t.Errorf("get of an empty spares returned a batch of capacity %d", cap(b.([]int)))
	}
}

// TestSparesBound checks that the list keeps batches up to spareBytes, and that a put and
// a get, as each message of an exchange makes, allocate nothing.
func TestSparesBound(t *testing.T) {
	var s spares
	const each = 64 << 10
	n := spareBytes/each + 3
	batches := make([]any, n)
	for i := range batches {
		batches[i] = make([]byte, 0, each)
	}
	if a := testing.AllocsPerRun(100, func() {
		s.put(batches[0], each)
		if s.get() == nil {
			t.Fatal("get returned nil after a put")
		}
	}); a != 0 {
		t.Errorf("a put and a get: %v allocations, want 0", a)
	}
	for _, b := range batches {
		s.put(b, each)
	}
	if len(s.free) != spareBytes/each || s.bytes != spareBytes {
		t.Errorf("after %d puts of %d bytes the list holds %d batches, %d bytes; want %d, %d", n, each, len(s.free), s.bytes, spareBytes/each, spareBytes)
	}
	for s.get() != nil {
	}
	if s.bytes != 0 {
		t.Errorf("emptied list counts %d bytes", s.bytes)
	}
}
