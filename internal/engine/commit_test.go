package engine_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/weirflow/weir/internal/engine"
	"github.com/weirflow/weir/internal/graph"
	"github.com/weirflow/weir/internal/plan"
	"github.com/weirflow/weir/internal/state"
	"github.com/weirflow/weir/weirtest"
)

// gatedStore is a Memory store whose first Write waits until the test opens the gate, and
// whose Writes fail from the epoch failAt on.
type gatedStore struct {
	*state.Memory
	gate   chan struct{}
	failAt uint64

	mu    sync.Mutex
	calls [][]uint64 // the epochs of each Write
}

var errDisk = errors.New("disk full")

func (s *gatedStore) Write(worker int, epochs []state.Epoch) error {
	s.mu.Lock()
	var es []uint64
	for _, e := range epochs {
		es = append(es, e.Epoch)
	}
	s.calls = append(s.calls, es)
	first := len(s.calls) == 1
	s.mu.Unlock()
	if first && s.gate != nil {
		<-s.gate
	}
	if s.failAt > 0 && epochs[len(epochs)-1].Epoch >= s.failAt {
		return errDisk
	}
	return s.Memory.Write(worker, epochs)
}

// While the store is busy writing one epoch, the worker goes on with the next ones, which
// reach the store together in the next write; the run returns once all are written.
func TestCommitIsPipelined(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := weirtest.NewSource(1, 2, 3, 4, 5)
		store := &gatedStore{Memory: state.NewMemory(), gate: make(chan struct{})}
		flow, out := runningSums(src, func(int) string { return "k" }, 0)
		p, err := plan.New(graph.FlowOf(flow))
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- engine.Run(context.Background(), p, engine.Config{Store: store}) }()
		// Every item is its own epoch (interval 0): all are processed while the first
		// write is held, and the run waits for the store.
		synctest.Wait()
		if got := len(out.Items()); got != 5 {
			t.Errorf("%d items out while the first write was held, want 5", got)
		}
		select {
		case err := <-done:
			t.Fatalf("run returned %v before its writes finished", err)
		default:
		}
		close(store.gate)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		// Epochs that closed while a write was under way went to the store together.
		var all []uint64
		for _, c := range store.calls {
			all = append(all, c...)
		}
		if !slices.Equal(all, []uint64{1, 2, 3, 4, 5, 6}) || len(store.calls) > 2 {
			t.Errorf("writes %v: want epochs 1 to 6 in at most two writes", store.calls)
		}
		if f := store.Frontier(0); f != 7 {
			t.Errorf("frontier = %d, want 7 (epochs 1 to 5, and 6 where the input ended)", f)
		}
	})
}

// A write that fails stops the run with the store's error as it is: the store's messages
// name the directory, the partition and the epochs, and a second prefix would repeat them.
func TestCommitFailure(t *testing.T) {
	store := &gatedStore{Memory: state.NewMemory(), failAt: 3}
	flow, _ := runningSums(weirtest.NewSource(1, 2, 3, 4, 5), func(int) string { return "k" }, 0)
	p, err := plan.New(graph.FlowOf(flow))
	if err != nil {
		t.Fatal(err)
	}
	err = engine.Run(context.Background(), p, engine.Config{Store: store})
	if err != errDisk {
		t.Errorf("run = %v, want the store's error", err)
	}
	if f := store.Frontier(0); f > 3 {
		t.Errorf("frontier = %d, want at most 3", f)
	}
}
