package keyed

import (
	"slices"
	"testing"
)

// Keys preloaded in key order, a runtime's only keys, are swept in by Index itself, ranked
// in that order: the first activation sorts and merges none of them. Keys out of order
// stay fresh, unranked, for a sweep to sort.
func TestIndexSweepsKeysInOrder(t *testing.T) {
	const n = 1000
	rt := preloadKeys(t, n, true)
	o := &rt.order
	if len(o.fresh) != 0 || len(o.sorted) != n {
		t.Fatalf("after Index in key order: %d fresh, %d sorted, want 0 and %d", len(o.fresh), len(o.sorted), n)
	}
	for i, s := range o.sorted {
		if int(s.rank) != i || (i > 0 && s.key <= o.sorted[i-1].key) {
			t.Fatalf("slot %d: key %q rank %d", i, s.key, s.rank)
		}
	}
	if allocs := testing.AllocsPerRun(1, o.sweep); allocs != 0 {
		t.Errorf("the first sweep allocated %.0f objects, want none: nothing to sweep", allocs)
	}

	rt = preloadKeys(t, n, false) // 0, 1, ..., 9, 10: "10" < "9"
	o = &rt.order
	if len(o.fresh) != n || len(o.sorted) != 0 {
		t.Fatalf("after Index out of order: %d fresh, %d sorted, want %d and 0", len(o.fresh), len(o.sorted), n)
	}
	if i := slices.IndexFunc(o.fresh, func(s *orderSlot[entry[int, int, int]]) bool { return s.rank != -1 }); i >= 0 {
		t.Errorf("fresh slot %d (%q) ranked %d, want -1", i, o.fresh[i].key, o.fresh[i].rank)
	}
	o.sweep()
	if len(o.sorted) != n || !slices.IsSortedFunc(o.sorted, byKey) {
		t.Errorf("swept: %d keys, sorted %v", len(o.sorted), slices.IsSortedFunc(o.sorted, byKey))
	}
}
