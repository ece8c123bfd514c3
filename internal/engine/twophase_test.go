package engine_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/internal/engine"
	"github.com/weirflow/weir/internal/graph"
	"github.com/weirflow/weir/internal/plan"
	"github.com/weirflow/weir/internal/state"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/sink"
	"github.com/weirflow/weir/weirtest"
)

// storeSpy is a Memory store that knows, at any moment, which epochs are committed for
// every worker, so that a two-phase sink can check it is told no earlier.
type storeSpy struct {
	*state.Memory
	mu       sync.Mutex
	workers  int
	start    uint64
	frontier map[int]uint64
	final    map[int]bool
}

func (s *storeSpy) Begin(workers int) (uint64, error) {
	r, err := s.Memory.Begin(workers)
	s.mu.Lock()
	s.workers, s.start, s.frontier, s.final = workers, r, map[int]uint64{}, map[int]bool{}
	s.mu.Unlock()
	return r, err
}

func (s *storeSpy) Write(worker int, epochs []state.Epoch) error {
	err := s.Memory.Write(worker, epochs)
	if err == nil {
		s.mu.Lock()
		last := epochs[len(epochs)-1]
		s.frontier[worker], s.final[worker] = last.Epoch+1, last.Final
		s.mu.Unlock()
	}
	return err
}

// committed returns the last epoch committed for every worker (the resume epoch less one).
func (s *storeSpy) committed() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return state.NextResume(s.workers, s.start, func(w int) (uint64, bool, bool) {
		f, ok := s.frontier[w]
		return f, s.final[w], ok
	}) - 1
}

// txnBroker stands for a transactional destination: each partition's prepared epochs are
// held apart until committed (visible) or thrown away by the next run.
type txnBroker struct {
	t        *testing.T
	store    *storeSpy
	mu       sync.Mutex
	visible  []int
	prepared map[string]map[uint64][]int // partition -> epoch -> items
	events   []string
}

type txnSink struct{ b *txnBroker }

func (s txnSink) Partitions(context.Context) ([]string, error) { return []string{"a", "b"}, nil }

func (s txnSink) Build(_ context.Context, p sink.Part, resume []byte) (sink.Partition[weir.KV[int]], error) {
	b := s.b
	b.mu.Lock()
	defer b.mu.Unlock()
	if resume != nil {
		// Finish the last committed epoch's writes, throw away those of later epochs.
		last, err := strconv.ParseUint(string(resume), 10, 64)
		if err != nil {
			return nil, err
		}
		for e, items := range b.prepared[p.Partition] {
			if e <= last {
				b.visible = append(b.visible, items...)
			}
		}
	}
	b.prepared[p.Partition] = map[uint64][]int{}
	return &txnPart{b: b, name: p.Partition}, nil
}

type txnPart struct {
	b       *txnBroker
	name    string
	open    []int
	last    uint64 // the last epoch committed here
	closed  bool
	commits int
}

func (p *txnPart) Write(items []weir.KV[int]) error {
	p.b.mu.Lock()
	defer p.b.mu.Unlock()
	if p.closed {
		p.b.t.Errorf("partition %s: Write after Close", p.name)
	}
	for _, kv := range items {
		p.open = append(p.open, kv.Value)
	}
	return nil
}

func (p *txnPart) Snapshot() []byte {
	p.b.t.Errorf("partition %s: Snapshot called on a two-phase sink in a run with a store", p.name)
	return nil
}

func (p *txnPart) Prepare(epoch uint64) ([]byte, error) {
	p.b.mu.Lock()
	defer p.b.mu.Unlock()
	if p.closed {
		p.b.t.Errorf("partition %s: Prepare after Close", p.name)
	}
	p.b.prepared[p.name][epoch] = p.open
	p.open = nil
	return []byte(strconv.FormatUint(epoch, 10)), nil
}

func (p *txnPart) Commit(epoch uint64) error {
	if c := p.b.store.committed(); epoch > c {
		p.b.t.Errorf("partition %s: Commit(%d) while the store has committed only %d", p.name, epoch, c)
	}
	p.b.mu.Lock()
	defer p.b.mu.Unlock()
	if epoch <= p.last || p.closed {
		p.b.t.Errorf("partition %s: Commit(%d) after Commit(%d) (closed %v)", p.name, epoch, p.last, p.closed)
	}
	for e, items := range p.b.prepared[p.name] {
		if e <= epoch {
			p.b.visible = append(p.b.visible, items...)
			delete(p.b.prepared[p.name], e)
		}
	}
	p.last = epoch
	p.commits++
	return nil
}

func (p *txnPart) Flush() error { return nil }

func (p *txnPart) Close() error {
	p.b.mu.Lock()
	defer p.b.mu.Unlock()
	p.closed = true
	p.b.events = append(p.b.events, fmt.Sprintf("close %s after %d commits", p.name, p.commits))
	return nil
}

// A two-phase sink's writes become visible exactly once, however often the run is aborted
// and resumed with whatever workers: each epoch's Commit comes only once the store has the
// epoch for every worker, Close after the last Commit, and the next run finishes what the
// last committed epoch prepared.
func TestTwoPhaseSink(t *testing.T) {
	for _, workers := range [][]int{{1, 1, 1}, {2, 3, 1}, {3, 1, 2}} {
		t.Run(fmt.Sprint(workers), func(t *testing.T) {
			src := weirtest.NewSource[int]().BatchSize(3)
			want := []int{}
			for i := range 63 {
				src.Then(i)
				want = append(want, i)
				switch i % 25 {
				case 12: // time for the epochs so far to commit during the run
					src.Pause(20 * time.Millisecond)
				case 24:
					src.Abort()
				}
			}
			store := &storeSpy{Memory: state.NewMemory()}
			b := &txnBroker{t: t, store: store, prepared: map[string]map[uint64][]int{}}
			for run := range workers {
				flow := weir.NewDataflow("tp")
				keyed := op.KeyOn("key", op.Input("inp", flow, src), func(v int) string { return strconv.Itoa(v % 7) })
				op.Output("out", keyed, sink.Sink[weir.KV[int]](txnSink{b}))
				p, err := plan.New(graph.FlowOf(flow))
				if err != nil {
					t.Fatal(err)
				}
				if err := engine.Run(context.Background(), p, engine.Config{Workers: workers[run], Store: store}); err != nil {
					t.Fatalf("run %d: %v", run, err)
				}
			}
			slices.Sort(b.visible)
			if !slices.Equal(b.visible, want) {
				t.Errorf("visible after the runs:\n got %v\nwant %v", b.visible, want)
			}
			// Each run closes both partitions, after a Commit during the run (at the
			// pause) and one at its end.
			if len(b.events) != 2*len(workers) {
				t.Errorf("closes: %v", b.events)
			}
			for _, e := range b.events {
				if !strings.HasSuffix(e, "commits") || strings.Contains(e, " 0 commits") || strings.Contains(e, " 1 commits") {
					t.Errorf("%s: no Commit during the run", e)
				}
			}
		})
	}
}
