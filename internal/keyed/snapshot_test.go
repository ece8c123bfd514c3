package keyed

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/internal/codec"
)

// A snapshot's states share one buffer: each decodes to its key's state, whichever way the
// buffer grew, and appending to one does not overwrite the next. The same holds when each
// snapshot is released once checked, and the next fills its memory.
func TestSnapshotStates(t *testing.T) {
	for _, release := range []bool{false, true} {
		t.Run(fmt.Sprint("release=", release), func(t *testing.T) {
			rt := New(func(int64, bool) Logic[int64, int64, int64] { return &quietSum{} }).(*stateful[int64, int64, int64])
			rt.Track()
			c := codec.For[int64]()
			now := time.Unix(1, 0)
			const keys = 500
			// Small sums first, so that the next snapshot's buffer, sized by this one's, must grow.
			for _, step := range []int64{1, 1 << 40, -3, 1 << 50} {
				items := make([]weir.KV[int64], keys)
				want := map[string]int64{}
				for i := range items {
					k := fmt.Sprint("k", i)
					items[i] = weir.KV[int64]{Key: k, Value: step * int64(i)}
					want[k] = rt.keys[k].sum() + step*int64(i)
				}
				if _, err := rt.Activate(items, now, false); err != nil {
					t.Fatal(err)
				}
				changes, free, err := rt.Snapshot()
				if err != nil {
					t.Fatal(err)
				}
				if len(changes) != keys {
					t.Fatalf("%d changes, want %d", len(changes), keys)
				}
				for _, ch := range changes {
					if cap(ch.State) != len(ch.State) {
						t.Errorf("state of %s has room past its end (%d > %d)", ch.Key, cap(ch.State), len(ch.State))
					}
					got, err := c.Decode(ch.State)
					if err != nil || got != want[ch.Key] {
						t.Errorf("state of %s decodes as %d, %v; want %d", ch.Key, got, err, want[ch.Key])
					}
				}
				if release {
					free()
				}
			}
		})
	}
}

// sum is the state of e's key, 0 for a new key.
func (e *entry[V, W, S]) sum() int64 {
	if e == nil {
		return 0
	}
	return any(e.logic.Snapshot()).(int64)
}

// A snapshot of a thousand integer states makes a few allocations, not one or more per key
// (three each through the CBOR encoder); one that fills the memory of a snapshot released
// before it makes only its release function.
func TestSnapshotAllocs(t *testing.T) {
	for _, c := range []struct {
		release bool
		most    uint64
	}{{false, 4}, {true, 1}} {
		rt := New(func(int64, bool) Logic[int64, int64, int64] { return &quietSum{} })
		rt.Track()
		const keys = 1000
		items := make([]weir.KV[int64], keys)
		for i := range items {
			items[i] = weir.KV[int64]{Key: fmt.Sprint("k", i), Value: int64(i) << 20}
		}
		now := time.Unix(1, 0)
		least := uint64(1 << 62)
		for range 5 {
			if _, err := rt.Activate(items, now, false); err != nil {
				t.Fatal(err)
			}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			changes, free, err := rt.Snapshot()
			runtime.ReadMemStats(&after)
			if err != nil || len(changes) != keys {
				t.Fatal(len(changes), err)
			}
			if c.release {
				free()
			}
			least = min(least, after.Mallocs-before.Mallocs)
		}
		if least > c.most {
			t.Errorf("released: %v: a snapshot of %d keys made %d allocations, want at most %d", c.release, keys, least, c.most)
		}
	}
}

// A snapshot after a much larger one that was released does not keep the larger one's
// memory: an epoch that touched many keys leaves nothing big behind for the small ones.
func TestSnapshotLetsLargeSpareGo(t *testing.T) {
	rt := New(func(int64, bool) Logic[int64, int64, int64] { return &quietSum{} }).(*stateful[int64, int64, int64])
	rt.Track()
	now := time.Unix(1, 0)
	snap := func(keys int) {
		items := make([]weir.KV[int64], keys)
		for i := range items {
			items[i] = weir.KV[int64]{Key: fmt.Sprint("k", i), Value: int64(i) << 30}
		}
		if _, err := rt.Activate(items, now, false); err != nil {
			t.Fatal(err)
		}
		changes, free, err := rt.Snapshot()
		if err != nil || len(changes) != keys {
			t.Fatal(len(changes), err)
		}
		free()
	}
	snap(10_000)
	if c, b := cap(rt.spare.changes), cap(rt.spare.buf); c < 10_000 || b < 10_000 {
		t.Fatalf("after a snapshot of 10,000 keys, the spare has room for %d changes and %d bytes", c, b)
	}
	for range 2 {
		snap(10)
		if c, b := cap(rt.spare.changes), cap(rt.spare.buf); c > 1000 || b > 1000 {
			t.Errorf("after a snapshot of 10 keys, the spare has room for %d changes and %d bytes", c, b)
		}
	}
}
