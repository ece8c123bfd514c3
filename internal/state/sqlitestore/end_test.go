package sqlitestore

import (
	"slices"
	"testing"

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
