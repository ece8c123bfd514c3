package engine_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/internal/engine"
	"github.com/weirflow/weir/internal/graph"
	"github.com/weirflow/weir/internal/keyed"
	"github.com/weirflow/weir/internal/plan"
	"github.com/weirflow/weir/internal/state"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/weirtest"
)

// resumeSum is a running sum that counts, in resumed, the logics built from a snapshot.
type resumeSum struct{ n int }

func (s *resumeSum) OnBatch(vs []int) ([]int, bool) {
	for _, v := range vs {
		s.n += v
	}
	return []int{s.n}, false
}
func (s *resumeSum) OnNotify() ([]int, bool)     { return nil, false }
func (s *resumeSum) OnEOF() ([]int, bool)        { return nil, false }
func (s *resumeSum) NotifyAt() (time.Time, bool) { return time.Time{}, false }
func (s *resumeSum) Snapshot() int               { return s.n }
func (s *resumeSum) Timeless()                   {}

// resumeSums is a flow of running sums over src, item i keyed by i itself, whose logics
// count in resumed how many were built from a snapshot.
func resumeSums(src *weirtest.Source[int], resumed *atomic.Int64) (*weir.Dataflow, *weirtest.Sink[weir.KV[int]]) {
	flow := weir.NewDataflow("rz")
	k := op.KeyOn("key", op.Input("inp", flow, src), strconv.Itoa)
	sums := keyed.Add("sum", k, func() func(int, bool) keyed.Logic[int, int, int] {
		return func(n int, ok bool) keyed.Logic[int, int, int] {
			if ok {
				resumed.Add(1)
			}
			return &resumeSum{n}
		}
	})
	out := weirtest.NewSink[weir.KV[int]]()
	op.Output("out", sums, out)
	return flow, out
}

// loadHook is a Store whose Load calls each before it hands a row on, with the number of
// rows handed on so far; an error of each ends the load.
type loadHook struct {
	*state.Memory
	each func(rows int, step, key string, state []byte) ([]byte, error)
}

func (h *loadHook) Load(fn func(step, key string, state []byte) error) error {
	rows := 0
	return h.Memory.Load(func(step, key string, b []byte) error {
		b, err := h.each(rows, step, key, b)
		if err != nil {
			return err
		}
		rows++
		return fn(step, key, b)
	})
}

// ints returns 0 to n-1.
func ints(n int) []int {
	items := make([]int, n)
	for i := range items {
		items[i] = i
	}
	return items
}

// resumeKeysStore returns a store holding the running sums of keys 0 to keys-1 (key i's
// sum is i), as a first run over src to its first EOF left them.
func resumeKeysStore(t *testing.T, src *weirtest.Source[int]) *state.Memory {
	t.Helper()
	store := state.NewMemory()
	var resumed atomic.Int64
	flow, _ := resumeSums(src, &resumed)
	runOn(t, flow, store, 1, time.Hour)
	return store
}

// A resume hands the loaded keys to the stateful runtime in blocks while the store is
// still loading, rather than after its last row: the store's reading and the runtime's
// inserting overlap. The store here waits, before its last row, for keys to have been
// resumed; before the overlap no key was resumed until the load had returned.
func TestResumeOverlapsLoad(t *testing.T) {
	const keys = 500
	src := weirtest.NewSource(ints(keys)...).EOF().Then(1000).EOF().Then(ints(keys)...)
	store := resumeKeysStore(t, src)
	var resumed atomic.Int64
	var early int64
	hook := &loadHook{Memory: store, each: func(rows int, step, key string, b []byte) ([]byte, error) {
		if !strings.HasPrefix(step, "rz.sum") || rows != keys-1 {
			return b, nil
		}
		for deadline := time.Now().Add(10 * time.Second); resumed.Load() == 0 && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
		early = resumed.Load()
		return b, nil
	}}
	flow, out := resumeSums(src, &resumed)
	runOn(t, flow, hook, 1, time.Hour)
	if early == 0 {
		t.Errorf("no key was resumed before the store's last row")
	}
	if got := resumed.Load(); got != keys {
		t.Errorf("%d keys resumed, want %d", got, keys)
	}
	if got := out.Items(); len(got) != 1 || got[0].Value != 1000 {
		t.Errorf("the new item gave %v", got)
	}
	// Every key came back with its sum.
	out.Clear()
	flow, out = resumeSums(src, &resumed)
	runOn(t, flow, store, 1, time.Hour)
	if got := len(out.Items()); got != keys {
		t.Errorf("%d sums after the second items, want %d", got, keys)
	}
	for _, kv := range out.Items() {
		if i, _ := strconv.Atoi(kv.Key); kv.Value != 2*i {
			t.Errorf("key %s: sum %d after its second item, want %d", kv.Key, kv.Value, 2*i)
		}
	}
}

// A load that fails after some keys were handed over returns its error, on any worker
// count, and leaves the store as it was: nothing resumed goes ahead.
func TestResumeLoadFails(t *testing.T) {
	const keys = 300
	boom := errors.New("boom")
	for _, workers := range []int{1, 3} {
		src := weirtest.NewSource(ints(keys)...).EOF().Then(1)
		store := resumeKeysStore(t, src)
		before := len(store.Writes())
		hook := &loadHook{Memory: store, each: func(rows int, step, key string, b []byte) ([]byte, error) {
			if rows == keys-10 {
				return nil, boom
			}
			return b, nil
		}}
		var resumed atomic.Int64
		flow, out := resumeSums(src, &resumed)
		p, err := plan.New(graph.FlowOf(flow))
		if err != nil {
			t.Fatal(err)
		}
		err = engine.Run(context.Background(), p, engine.Config{Workers: workers, EpochInterval: time.Hour, Store: hook})
		if !errors.Is(err, boom) {
			t.Errorf("%d workers: error %v, want the load's", workers, err)
		}
		if got := out.Items(); len(got) != 0 || len(store.Writes()) != before {
			t.Errorf("%d workers: the refused run emitted %v and wrote %d epochs", workers, got, len(store.Writes())-before)
		}
	}
}

// A key whose state does not decode fails the run with the step and the key named, on
// any worker count, however many keys came before it.
func TestResumeBadState(t *testing.T) {
	const keys = 300
	for _, workers := range []int{1, 2} {
		src := weirtest.NewSource(ints(keys)...).EOF().Then(1)
		store := resumeKeysStore(t, src)
		hook := &loadHook{Memory: store, each: func(rows int, step, key string, b []byte) ([]byte, error) {
			if strings.HasPrefix(step, "rz.sum") && key == "250" {
				return []byte{0xff, 0xff}, nil
			}
			return b, nil
		}}
		var resumed atomic.Int64
		flow, _ := resumeSums(src, &resumed)
		p, err := plan.New(graph.FlowOf(flow))
		if err != nil {
			t.Fatal(err)
		}
		err = engine.Run(context.Background(), p, engine.Config{Workers: workers, EpochInterval: time.Hour, Store: hook})
		var se *graph.StepError
		if !errors.As(err, &se) || !strings.HasPrefix(se.Step, "rz.sum") || se.Key != "250" || !strings.HasPrefix(se.Cause.Error(), "resuming: ") {
			t.Errorf("%d workers: error %v, want the step's, naming key 250, resuming", workers, err)
		}
	}
}
