package engine_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/internal/engine"
	"github.com/weirflow/weir/internal/graph"
	"github.com/weirflow/weir/internal/plan"
	"github.com/weirflow/weir/internal/state"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/weirtest"
)

// runningSums keys each item by key(x) and emits each key's running sum; a sum above
// dropAbove discards the key.
func runningSums(src *weirtest.Source[int], key func(int) string, dropAbove int) (*weir.Dataflow, *weirtest.Sink[weir.KV[int]]) {
	flow := weir.NewDataflow("rs")
	keyed := op.KeyOn("key", op.Input("inp", flow, src), key)
	sums := op.StatefulMap("sum", keyed, func(st *op.State[int], v int) int {
		s, _ := st.Get()
		s += v
		st.Set(s)
		if dropAbove > 0 && s > dropAbove {
			st.Discard()
		}
		return s
	})
	out := weirtest.NewSink[weir.KV[int]]()
	op.Output("out", sums, out)
	return flow, out
}

func runOn(t *testing.T, flow *weir.Dataflow, store state.Store, workers int, interval time.Duration) {
	t.Helper()
	p, err := plan.New(graph.FlowOf(flow))
	if err != nil {
		t.Fatal(err)
	}
	if err := engine.Run(context.Background(), p, engine.Config{Workers: workers, EpochInterval: interval, Store: store}); err != nil {
		t.Fatal(err)
	}
}

func values(kvs []weir.KV[int]) []int {
	var out []int
	for _, kv := range kvs {
		out = append(out, kv.Value)
	}
	return out
}

// The outcomes of resuming, run after run on one store (SPEC.md 7).
func TestResume(t *testing.T) {
	one := func(int) string { return "k" }
	tests := []struct {
		name      string
		src       func() *weirtest.Source[int]
		interval  time.Duration
		dropAbove int
		runs      [][]int // what each run emits
	}{
		{"no snapshot yet: full replay", func() *weirtest.Source[int] {
			return weirtest.NewSource(1, 2, 3).Abort().Then(4)
		}, time.Hour, 0, [][]int{{1, 3, 6}, {1, 3, 6, 10}}},
		{"snapshot every epoch: resume right after", func() *weirtest.Source[int] {
			return weirtest.NewSource(1, 2, 3).Abort().Then(4, 5)
		}, 0, 0, [][]int{{1, 3, 6}, {10, 15}}},
		{"continue after end of stream", func() *weirtest.Source[int] {
			return weirtest.NewSource(1, 2).EOF().Then(3).EOF().Then(4)
		}, time.Hour, 0, [][]int{{1, 3}, {6}, {10}}},
		{"a discarded key stays discarded", func() *weirtest.Source[int] {
			return weirtest.NewSource(5, 6).Abort().Then(1, 2)
		}, 0, 10, [][]int{{5, 11}, {1, 3}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := state.NewMemory()
			flow, out := runningSums(tt.src(), one, tt.dropAbove)
			for i, want := range tt.runs {
				out.Clear()
				runOn(t, flow, store, 1, tt.interval)
				if diff := cmp.Diff(want, values(out.Items())); diff != "" {
					t.Errorf("run %d (-want +got):\n%s", i+1, diff)
				}
			}
		})
	}
}

// State is routed by the current worker count on resume, so a job can go from 3 workers
// to 5 to 1 and end with the sums of a run that never stopped. A pause before each Abort
// lets every worker commit what it has seen, so each run resumes right after the last.
func TestRescale(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var items []int
		want := map[string]int{}
		for i := range 300 {
			items = append(items, i)
			want[strconv.Itoa(i%23)] += i
		}
		src := weirtest.NewSource(items[:100]...).Pause(time.Second).Abort().
			Then(items[100:200]...).Pause(time.Second).Abort().
			Then(items[200:]...).BatchSize(10)
		flow, out := runningSums(src, func(x int) string { return strconv.Itoa(x % 23) }, 0)
		store := state.NewMemory()
		for _, workers := range []int{3, 5, 1} {
			before := len(out.Items())
			runOn(t, flow, store, workers, 0)
			if n := len(out.Items()) - before; n != 100 {
				t.Fatalf("the run on %d workers emitted %d sums, want its 100", workers, n)
			}
		}
		got := map[string]int{}
		for _, kv := range out.Items() {
			got[kv.Key] = max(got[kv.Key], kv.Value)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("sums after 3 -> 5 -> 1 workers (-want +got):\n%s", diff)
		}
	})
}

// A store holding state for a step the flow no longer has is refused, not ignored.
func TestResumeUnknownStep(t *testing.T) {
	store := state.NewMemory()
	flow, _ := runningSums(weirtest.NewSource(1, 2), func(int) string { return "k" }, 0)
	runOn(t, flow, store, 1, 0)
	other := weir.NewDataflow("rs")
	op.Output("out", op.Input("inp", other, weirtest.NewSource(1)), weirtest.NewSink[int]())
	p, _ := plan.New(graph.FlowOf(other))
	err := engine.Run(context.Background(), p, engine.Config{Workers: 1, EpochInterval: time.Second, Store: store})
	if err == nil || err.Error() != fmt.Sprintf("weir: recovery: the store has state for step %s, which this dataflow does not have", "rs.sum.stateful_flat_map.stateful.stateful_batch") {
		t.Errorf("error = %v", err)
	}
}

// A key discarded and started again within one epoch resumes with its new state, not as
// deleted.
func TestResumeKeyRestartedInEpoch(t *testing.T) {
	store := state.NewMemory()
	src := weirtest.NewSource(6, 5, 2).EOF().Then(3)
	flow, out := runningSums(src, func(int) string { return "k" }, 10)
	runOn(t, flow, store, 1, time.Hour) // one epoch: 6, 11 (discarded), 2 afresh
	if got := values(out.Items()); !slices.Equal(got, []int{6, 11, 2}) {
		t.Fatalf("first run emitted %v", got)
	}
	// The epoch's snapshot holds the key once, live: a store need not order duplicates.
	var changes []string
	for _, w := range store.Writes() {
		for _, sn := range w.Snaps {
			if strings.HasPrefix(sn.Step, "rs.sum") {
				for _, c := range sn.Changes {
					changes = append(changes, fmt.Sprintf("%s deleted=%v", c.Key, c.Deleted))
				}
			}
		}
	}
	if !slices.Equal(changes, []string{"k deleted=false"}) {
		t.Errorf("snapshots of the key: %v", changes)
	}
	out.Clear()
	runOn(t, flow, store, 1, time.Hour)
	if got := values(out.Items()); !slices.Equal(got, []int{5}) {
		t.Errorf("resumed run emitted %v, want [5]", got)
	}
}

// The end of the stream snapshots only the keys whose OnEOF may have changed their state.
// Each case runs a running sum over eofKeys keys to the end, resumes it with one item of a
// new key to the end, and again with an item for every key, which must see every state
// as the first two runs left it.
func TestEOFWritesChangedKeys(t *testing.T) {
	const n = eofKeys
	tests := []struct {
		name string
		sums func(weir.KeyedStream[int]) weir.KeyedStream[int]
		rows int // the second run's rows of the step: the new key's, and those of its end
		eofs int // the ends of stream each first key's state has counted by the third run
	}{
		// Bytewax's stateful_map keeps its state at the end of the stream: nothing to
		// write but the new key.
		{"StatefulMap", func(in weir.KeyedStream[int]) weir.KeyedStream[int] {
			return op.StatefulMap("sum", in, func(st *op.State[int], v int) int {
				s, _ := st.Get()
				st.Set(s + v)
				return (s + v) * 100
			})
		}, 1, 0},
		// A user's item logic saying so, through the shim of op.Stateful.
		{"Stateful, keeps its state", func(in weir.KeyedStream[int]) weir.KeyedStream[int] {
			return op.Stateful("sum", in, func(s eofState, _ bool) op.ItemLogic[int, int, eofState] { return &eofItemSum{st: s} })
		}, 1, 0},
		// A user's logic that does not say: every key, as its OnEOF may change the state,
		// and this one does (it counts the ends of stream it has seen).
		{"StatefulBatch, counts the ends", func(in weir.KeyedStream[int]) weir.KeyedStream[int] {
			return op.StatefulBatch("sum", in, func(s eofState, _ bool) op.Logic[int, int, eofState] { return &eofSum{st: s} })
		}, n + 1, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var first, third []int
			for i := range n {
				first = append(first, i)
				third = append(third, n+1+i) // the key of n+1+i is i's
			}
			flow := weir.NewDataflow("rs")
			src := weirtest.NewSource(first...).EOF().Then(n).EOF().Then(third...)
			keyedIn := op.KeyOn("key", op.Input("inp", flow, src), func(x int) string { return strconv.Itoa(x % (n + 1)) })
			out := weirtest.NewSink[weir.KV[int]]()
			op.Output("out", tt.sums(keyedIn), out)
			store := state.NewMemory()

			runOn(t, flow, store, 1, time.Hour)
			before := len(store.Writes())
			runOn(t, flow, store, 1, time.Hour)
			rows := 0
			for _, w := range store.Writes()[before:] {
				for _, sn := range w.Snaps {
					if strings.HasPrefix(sn.Step, "rs.sum") {
						rows += len(sn.Changes)
					}
				}
			}
			if rows != tt.rows {
				t.Errorf("the resumed run wrote %d rows of the step, want %d", rows, tt.rows)
			}

			out.Clear()
			runOn(t, flow, store, 1, time.Hour)
			want := map[string]int{}
			for i := range n {
				want[strconv.Itoa(i)] = (i+n+1+i)*100 + tt.eofs
			}
			got := map[string]int{}
			for _, kv := range out.Items() {
				got[kv.Key] = kv.Value
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("the third run's sums (-want +got):\n%s", diff)
			}
		})
	}
}

// eofKeys is the number of keys of TestEOFWritesChangedKeys.
const eofKeys = 500

// eofState is a running sum and the number of ends of stream it has seen.
type eofState struct{ Sum, EOFs int }

// eofSum emits each new sum (times 100, plus the ends seen) and counts the ends of stream
// in its state.
type eofSum struct{ st eofState }

func (l *eofSum) OnBatch(vs []int) ([]int, bool) {
	var out []int
	for _, v := range vs {
		l.st.Sum += v
		out = append(out, l.st.Sum*100+l.st.EOFs)
	}
	return out, false
}
func (l *eofSum) OnNotify() ([]int, bool)     { return nil, false }
func (l *eofSum) OnEOF() ([]int, bool)        { l.st.EOFs++; return nil, false }
func (l *eofSum) NotifyAt() (time.Time, bool) { return time.Time{}, false }
func (l *eofSum) Snapshot() eofState          { return l.st }

// eofItemSum is eofSum per item, whose OnEOF changes nothing and says so.
type eofItemSum struct{ st eofState }

func (l *eofItemSum) OnItem(v int) ([]int, bool) {
	l.st.Sum += v
	return []int{l.st.Sum*100 + l.st.EOFs}, false
}
func (l *eofItemSum) OnNotify() ([]int, bool)     { return nil, false }
func (l *eofItemSum) OnEOF() ([]int, bool)        { return nil, false }
func (l *eofItemSum) NotifyAt() (time.Time, bool) { return time.Time{}, false }
func (l *eofItemSum) Snapshot() eofState          { return l.st }
func (l *eofItemSum) KeepsStateAtEOF() bool       { return true }
