package weirtest_test

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/weirflow/weir/sink"
	"github.com/weirflow/weir/weirtest"
)

func TestSinkConcurrentWriters(t *testing.T) {
	s := weirtest.NewSink[int]()
	const workers, batches = 4, 100
	var wg sync.WaitGroup
	for w := range workers {
		p, err := s.Build(context.Background(), sink.Part{Worker: w, Workers: workers}, nil)
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			buf := make([]int, 2)
			for i := range batches {
				buf[0], buf[1] = w*1000+2*i, w*1000+2*i+1
				if err := p.Write(buf); err != nil {
					t.Error(err)
				}
				buf[0], buf[1] = -1, -1 // the sink must have copied the borrowed batch
			}
		})
	}
	wg.Wait()
	got := s.Items()
	if len(got) != workers*batches*2 {
		t.Fatalf("got %d items, want %d", len(got), workers*batches*2)
	}
	// Each worker's items arrive in its own order.
	last := map[int]int{}
	for _, x := range got {
		if x < 0 {
			t.Fatalf("sink kept a borrowed batch: %v", got)
		}
		w := x / 1000
		if prev, ok := last[w]; ok && x != prev+1 {
			t.Fatalf("worker %d: %d after %d", w, x, prev)
		}
		last[w] = x
	}
}

func TestSinkItemsIsACopyAndClear(t *testing.T) {
	s := weirtest.NewSink[string]()
	p, _ := s.Build(context.Background(), sink.Part{}, nil)
	p.Write([]string{"a", "b"})
	got := s.Items()
	got[0] = "changed"
	if items := s.Items(); !slices.Equal(items, []string{"a", "b"}) {
		t.Fatalf("Items after changing a copy = %v", items)
	}
	s.Clear()
	if items := s.Items(); len(items) != 0 {
		t.Fatalf("Items after Clear = %v", items)
	}
	p.Write([]string{"c"})
	if items := s.Items(); !slices.Equal(items, []string{"c"}) {
		t.Fatalf("Items after Clear and Write = %v", items)
	}
	if p.Snapshot() != nil || p.Close() != nil {
		t.Fatal("a capture sink keeps no state")
	}
}
