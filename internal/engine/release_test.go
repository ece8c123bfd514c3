package engine_test

import (
	"bytes"
	"fmt"
	"maps"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/internal/engine"
	"github.com/weirflow/weir/internal/state"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/weirtest"
)

// copyingStore is a Memory store that, with copies, copies what it is given before keeping
// it and says so (state.Copier), as the SQLite store does; without, it keeps the snapshots
// themselves. It notes where the changes of every stateful snapshot it is given lie, and
// what each held as it was written.
type copyingStore struct {
	*state.Memory
	copies bool

	mu      sync.Mutex
	firsts  []*state.Change              // the first change of each stateful snapshot
	written map[uint64]map[string][]byte // epoch, key: the state as written
}

func (s *copyingStore) CopiesWrites() bool { return s.copies }

func (s *copyingStore) Write(worker int, epochs []state.Epoch) error {
	s.mu.Lock()
	copied := make([]state.Epoch, len(epochs))
	for i, e := range epochs {
		copied[i] = state.Epoch{Epoch: e.Epoch, Final: e.Final}
		for _, sn := range e.Snaps {
			if sn.Release == nil {
				continue // a position of the input or the sink: not the step's memory
			}
			s.firsts = append(s.firsts, &sn.Changes[0])
			c := state.Snapshot{Step: sn.Step}
			for _, ch := range sn.Changes {
				c.Changes = append(c.Changes, state.Change{Key: ch.Key, State: bytes.Clone(ch.State), Deleted: ch.Deleted})
			}
			copied[i].Snaps = append(copied[i].Snaps, c)
		}
		s.written[e.Epoch] = statesOf(copied[i].Snaps)
	}
	s.mu.Unlock()
	if s.copies {
		return s.Memory.Write(worker, copied)
	}
	return s.Memory.Write(worker, epochs)
}

// statesOf returns the states of snaps by key.
func statesOf(snaps []state.Snapshot) map[string][]byte {
	m := map[string][]byte{}
	for _, sn := range snaps {
		for _, ch := range sn.Changes {
			m[ch.Key] = ch.State
		}
	}
	return m
}

// Once a store that copies what it writes has written a stateful step's snapshot, the
// step's next snapshot fills the same memory, and makes no garbage; a store that keeps
// the snapshots it is given (Memory) gets new memory every epoch, and what it keeps is
// never written over. Either way, the store holds the running sums as they were.
func TestWrittenSnapshotsReused(t *testing.T) {
	for _, copies := range []bool{true, false} {
		t.Run(fmt.Sprint("copies=", copies), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				// An item a second, an epoch a second: each epoch is written before the
				// next one's snapshot.
				const items = 12
				flow := weir.NewDataflow("reuse")
				keyed := op.KeyOn("key", op.Input("in", flow, &slowing{slow: items, wait: time.Second}), func(x int) string { return fmt.Sprint("k", x%3) })
				sums := op.StatefulMap("sum", keyed, func(st *op.State[int], v int) int {
					s, _ := st.Get()
					st.Set(s + v)
					return s + v
				})
				op.Output("out", sums, weirtest.NewSink[weir.KV[int]]())
				store := &copyingStore{Memory: state.NewMemory(), copies: copies, written: map[uint64]map[string][]byte{}}
				if _, err := store.Begin(1); err != nil {
					t.Fatal(err)
				}
				if err := store.Start(); err != nil {
					t.Fatal(err)
				}
				if err := runFlow(t, flow, engine.Config{EpochInterval: time.Second, Store: store}); err != nil {
					t.Fatal(err)
				}
				if len(store.firsts) < items/2 {
					t.Fatalf("%d snapshots of the step written, want at least %d", len(store.firsts), items/2)
				}
				reused := 0
				for _, f := range store.firsts[1:] {
					if f == store.firsts[0] {
						reused++
					}
				}
				if want := map[bool]int{true: len(store.firsts) - 1, false: 0}[copies]; reused != want {
					t.Errorf("%d of %d snapshots after the first filled the first's memory, want %d", reused, len(store.firsts)-1, want)
				}
				// What the store kept is what it was given.
				for _, w := range store.Writes() {
					if got, want := statesOf(w.Snaps), store.written[w.Epoch]; !maps.EqualFunc(got, want, bytes.Equal) {
						t.Errorf("epoch %d: the store holds %q, but was given %q", w.Epoch, got, want)
					}
				}
			})
		})
	}
}
