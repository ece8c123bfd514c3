package sqlitestore

import (
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weirflow/weir/internal/state"
)

// A background collection that gives way to a write begins the next time at the first
// partition it left, so that every partition is collected in turn and the end of a run
// finds at most the last epochs left on each. Before, it began at partition 0 every time:
// on a busy machine, where each epoch's write came after two partitions, the last two
// were collected only at the run's end, several epochs at once.
func TestCollectionResumesWhereItStopped(t *testing.T) {
	t.Parallel()
	s := startT(t, t.TempDir(), 4)
	var order []int
	s.collected = func(p int) {
		order = append(order, p)
		s.writing.Add(1) // a write begins: the rest of this collection gives way to it
	}
	quit := make(chan struct{})
	for e := range uint64(6) {
		if err := s.Write(0, []state.Epoch{{Epoch: e, Snaps: snaps(write{0, e, "s", []string{"a=1", "b=2", "c=3", "d=4", "e=5"}})}}); err != nil {
			t.Fatal(err)
		}
		if err := s.gc(0, make(chan struct{}, 1), quit, true); err != nil {
			t.Fatal(err)
		}
		s.writing.Add(-1)
	}
	if want := []int{0, 1, 2, 3, 0, 1}; !slices.Equal(order, want) {
		t.Errorf("collections that each collected one partition collected %v, want %v", order, want)
	}
}

// The GC at the end of a run begins with the partitions the last background collection
// left, which have the most epochs to collect: begun last, on one of only a few CPUs,
// they would keep the run from returning while the other CPUs had nothing left to do.
func TestGCBeginsWithLaggingPartitions(t *testing.T) {
	t.Parallel()
	s := startT(t, t.TempDir(), 4)
	if err := s.Write(0, []state.Epoch{{Epoch: 0, Snaps: snaps(write{0, 0, "s", []string{"a=1", "b=2", "c=3", "d=4", "e=5"}})}}); err != nil {
		t.Fatal(err)
	}
	var order []int
	s.collected = func(p int) {
		order = append(order, p)
		if len(order) == 2 {
			s.writing.Add(1) // a write begins: the background collection gives way to it
		}
	}
	if err := s.gc(0, make(chan struct{}, 1), make(chan struct{}), true); err != nil {
		t.Fatal(err)
	}
	s.writing.Add(-1)
	if err := s.gc(0, make(chan struct{}, 1), nil, false); err != nil { // as GC, on one CPU
		t.Fatal(err)
	}
	if want := []int{0, 1, 2, 3, 0, 1}; !slices.Equal(order, want) {
		t.Errorf("a collection that gave way after two partitions, then the end's GC, collected %v, want %v", order, want)
	}
}

// Once every worker has written its final epoch, the background collection begins no
// other: the GC at the end of the run collects what is left on every CPU, and a
// collection begun after the final writes, on the store's share of the CPUs, held up the
// run's return while the others had nothing to do.
func TestNoBackgroundCollectionAfterFinalWrites(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	initT(t, dir, 2)
	s := openT(t, dir)
	if _, err := s.Begin(2); err != nil {
		t.Fatal(err)
	}
	var collected atomic.Int32
	s.collected = func(int) { collected.Add(1) }
	stop := s.CollectEvery(time.Hour, 0)
	stopped := false
	defer func() {
		if !stopped {
			stop()
		}
	}()
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	// waitFor waits until n partitions in all have been collected.
	waitFor := func(n int32) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); collected.Load() < n; time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%d partitions collected, want %d: no collection after a write", collected.Load(), n)
			}
		}
	}
	waitFor(2) // at the start
	w := func(worker int, e uint64, final bool) {
		t.Helper()
		if err := s.Write(worker, []state.Epoch{{Epoch: e, Final: final, Snaps: snaps(write{worker, e, "s", []string{"a=1", "b=2", "c=3"}})}}); err != nil {
			t.Fatal(err)
		}
	}
	// Each write's collection is waited for, so that none is under way or due at the next.
	w(0, 1, false)
	waitFor(4)
	w(1, 1, false)
	waitFor(6)
	w(0, 2, true) // one worker is done, the other goes on: collection goes on
	waitFor(8)
	w(1, 2, true)
	time.Sleep(300 * time.Millisecond)
	if n := collected.Load(); n != 8 {
		t.Errorf("%d partitions collected after both workers' final writes, want none", n-8)
	}
	stopped = true
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if err := s.GC(0); err != nil {
		t.Fatal(err)
	}
	if n := countRows(t, s, 0, "true") + countRows(t, s, 1, "true"); n != 0 {
		t.Errorf("%d rows left in snapshots after the GC at the end", n)
	}
}
