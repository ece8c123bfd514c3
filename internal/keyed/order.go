package keyed

import (
	"math/bits"
	"slices"
	"strings"
)

// keyOrder keeps the keys of a runtime in byte-wise order, so that an activation that
// touches many of them visits them in order (op.Logic's contract) without sorting them
// again. Its members are orderSlots that the owners (the runtime's entries) hold, each
// pointing back to its owner: the order hands owners back through a field, with no
// interface or function call per key.
//
// Rules: a key is added once per life (add); a discarded key (discard) keeps its slot,
// marked dead, until a sweep drops it; a key that comes back is added again with a new
// slot. sorted holds the swept slots in key order, each knowing its place (rank); fresh
// holds the slots added since, in no order, with no rank (-1).
//
// Costs: add and discard O(1); sweep O(f log f + n) for f fresh slots and n swept ones,
// and one new list of n; inOrder, for a batch of b distinct keys, O(b log b) when b < 64,
// else O(n/64 + b) through a bitmap of ranks. When some keys of the batch have no rank:
// if they are a sixteenth of the batch at most, each is placed among the ranked ones by a
// binary search of sorted, O(n/64 + b + u log n) for u of them; otherwise it sweeps first
// if the batch holds an eighth of the keys, and sorts, O(b log b), if not. Either way, once
// the keys searched or sorted since the last sweep outnumber the slots held, it sweeps
// (so placing keys never costs much more than sweeping would have). Fresh and dead slots are swept when they
// outnumber 1024 plus half the swept ones, so that keys that come and go hold at most
// about twice the live keys.
//
// Is the order worth its cost? Yes: it is documented behaviour (SPEC.md section 3,
// op.Logic) that tests written for Bytewax rely on, it keeps a step's output from
// depending on the order keys arrived in, and Quiet logics, which cannot see it, skip it.
// A window operator's logic is not Quiet (a key's closing windows emit, and their results
// come out in key order within an activation), so the windowed count keeps it.
// BenchmarkActivateKeys (batches of 1024 over 1k, 10k, 100k keys, a logic that only adds)
// ran, on an idle machine, at 37-39, 47-50, 153-180 ns/item in order against 35-37, 40-45,
// 112-145 Quiet: 3-10%, 9-20%, 24-37% of an activation that does nothing else, mostly
// memory traffic once the keys outgrow the caches. Re-measured in issue 18's second round
// on the 2-core machine loaded by other builds (load average 9 to 16; 4 runs each): 29-44,
// 48-62, 191-211 in order against 26-47, 33-56, 178-254 Quiet, ranges that overlap, so the
// idle figures stand until measured again. Real logics dilute it: the windowed count
// (window.Count, 10k keys) spends 3.5-6% of its worker's CPU in inOrder (CPU profiles of
// 10M events, before and after that round).
type keyOrder[E any] struct {
	sorted []*orderSlot[E] // swept slots in key order, the dead ones among them not yet dropped
	fresh  []*orderSlot[E] // added since the last sweep, in no order
	dead   int             // discarded slots in sorted and fresh
	sorts  int             // keys inOrder sorted by comparison, in batches of 64 or more, since the last sweep
	ranks  []uint64        // inOrder's scratch: a bit per rank
	few    []placed[E]     // mergeFresh's scratch: the batch's unranked slots
}

// orderSlot is what the key order holds of one key, kept in the key's owner.
type orderSlot[E any] struct {
	key   string
	rank  int32 // index in sorted, -1 until swept in (int32: an entry a size class smaller, and no worker holds 2^31 keys)
	dead  bool  // discarded: the key has a new slot if it comes back
	owner *E
}

func newOrderSlot[E any](key string, owner *E) orderSlot[E] {
	return orderSlot[E]{key: key, rank: -1, owner: owner}
}

// add puts a new key's slot in the order.
func (o *keyOrder[E]) add(s *orderSlot[E]) { o.fresh = append(o.fresh, s) }

// discard takes s's key out of the order; the slot is dropped at the next sweep.
func (o *keyOrder[E]) discard(s *orderSlot[E]) {
	s.dead = true
	o.dead++
}

// len returns the number of live keys.
func (o *keyOrder[E]) len() int { return len(o.sorted) + len(o.fresh) - o.dead }

// all returns the live slots in key order. Slots discarded while the caller walks the
// list stay in it, marked dead, until the next sweep.
func (o *keyOrder[E]) all() []*orderSlot[E] {
	o.sweep()
	return o.sorted
}

func byKey[E any](a, b *orderSlot[E]) int { return strings.Compare(a.key, b.key) }

// inOrder puts batch, distinct live slots, in key order in place and returns it. ranked
// says whether every slot of batch has a rank (the caller learns it for free while it
// gathers the batch). A few keys are sorted. Many keys that all have a rank are put in
// order by their ranks, a bit each in a bitmap; when some have none yet, they are swept
// in first if the batch has a good share of all keys or if sorting has cost as much as a
// sweep since the last one, and the batch is sorted otherwise.
func (o *keyOrder[E]) inOrder(batch []*orderSlot[E], ranked bool) []*orderSlot[E] {
	// Keys that come and go would pile up in fresh, and dead ones in sorted: sweep them
	// when they are many, which gives every live key a rank.
	if len(o.fresh)+o.dead > 1024+len(o.sorted)/2 {
		o.sweep()
		ranked = true
	}
	switch {
	case len(batch) < 64:
		slices.SortFunc(batch, byKey)
		return batch
	case !ranked && o.fewFresh(batch):
		return o.mergeFresh(batch)
	case !ranked && len(batch)*8 < o.len() && o.sorts+len(batch) <= len(o.sorted)+len(o.fresh):
		// Some keys have no rank and the batch is small beside all of them: sorting it
		// costs less than a sweep, until the keys sorted since the last sweep outnumber
		// the slots held, when a sweep (about a pass over them) has paid for itself. Without
		// that bound, a steady set of keys, some never swept, would be sorted for ever.
		o.sorts += len(batch)
		slices.SortFunc(batch, byKey)
		return batch
	case !ranked:
		o.sweep()
	}
	words := (len(o.sorted) + 63) / 64
	o.ranks = slices.Grow(o.ranks[:0], words)[:words]
	clear(o.ranks)
	for _, s := range batch {
		o.ranks[s.rank/64] |= 1 << (s.rank % 64)
	}
	batch = batch[:0]
	for i, word := range o.ranks {
		for word != 0 {
			batch = append(batch, o.sorted[i*64+bits.TrailingZeros64(word)])
			word &= word - 1
		}
	}
	return batch
}

// fewFresh reports whether few of batch's slots have no rank (a sixteenth at most), and
// placing them by a search of sorted still costs less than a sweep since the last one.
// Keys that come and go a few at a time, as a windowed count's do when a key's window
// closes by its timer before its next item, leave a few unranked keys among many ranked
// ones; before, a batch holding one of them was sorted whole by comparison: a windowed
// count of 10k keys sorted one batch in thirteen, 4.6% of its CPU time.
func (o *keyOrder[E]) fewFresh(batch []*orderSlot[E]) bool {
	u := 0
	for _, s := range batch {
		if s.rank < 0 {
			u++
		}
	}
	if u*16 > len(batch) || o.sorts+u > len(o.sorted)+len(o.fresh) {
		return false
	}
	o.sorts += u // each costs a search of sorted: sweep once they add up to a sweep
	return true
}

// placed is an unranked slot and the index in sorted of the first slot whose key is not
// below its key, where it would rank if swept in now.
type placed[E any] struct {
	at int
	s  *orderSlot[E]
}

// mergeFresh puts batch in key order in place: its ranked slots by the bitmap of ranks, and
// each unranked one, placed by a binary search of sorted, before the ranked ones at or
// past its place. sorted's keys are strictly increasing, its dead slots' too, so a key
// below the place's is below every ranked key of the batch at or past it (a dead slot
// may hold the same key as a fresh one, but it is not in the batch).
func (o *keyOrder[E]) mergeFresh(batch []*orderSlot[E]) []*orderSlot[E] {
	words := (len(o.sorted) + 63) / 64
	o.ranks = slices.Grow(o.ranks[:0], words)[:words]
	clear(o.ranks)
	few := o.few[:0]
	for _, s := range batch {
		if s.rank >= 0 {
			o.ranks[s.rank/64] |= 1 << (s.rank % 64)
			continue
		}
		at, _ := slices.BinarySearchFunc(o.sorted, s.key, func(t *orderSlot[E], key string) int { return strings.Compare(t.key, key) })
		few = append(few, placed[E]{at: at, s: s})
	}
	slices.SortFunc(few, func(a, b placed[E]) int {
		if a.at != b.at {
			return a.at - b.at
		}
		return strings.Compare(a.s.key, b.s.key)
	})
	batch, j := batch[:0], 0
	for i, word := range o.ranks {
		for word != 0 {
			r := i*64 + bits.TrailingZeros64(word)
			for j < len(few) && few[j].at <= r {
				batch = append(batch, few[j].s)
				j++
			}
			batch = append(batch, o.sorted[r])
			word &= word - 1
		}
	}
	for ; j < len(few); j++ {
		batch = append(batch, few[j].s)
	}
	clear(few) // not to keep discarded slots alive
	o.few = few[:0]
	return batch
}

// sweep brings sorted up to date: fresh slots merged in, dead ones dropped.
func (o *keyOrder[E]) sweep() {
	if len(o.fresh) == 0 && o.dead == 0 {
		return
	}
	slices.SortFunc(o.fresh, byKey)
	merged := make([]*orderSlot[E], 0, len(o.sorted)+len(o.fresh)-o.dead)
	i, j := 0, 0
	for i < len(o.sorted) || j < len(o.fresh) {
		var s *orderSlot[E]
		if j == len(o.fresh) || (i < len(o.sorted) && o.sorted[i].key < o.fresh[j].key) {
			s, i = o.sorted[i], i+1
		} else {
			s, j = o.fresh[j], j+1
		}
		if !s.dead {
			s.rank = int32(len(merged))
			merged = append(merged, s)
		}
	}
	clear(o.fresh)
	o.sorted, o.fresh, o.dead, o.sorts = merged, o.fresh[:0], 0, 0
}
