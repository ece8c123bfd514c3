package keyed

import (
	"runtime/debug"

	"github.com/weirflow/weir/internal/graph"
)

// Resuming a million keys is a million map insertions and entries at once, before the
// first new item can run: what follows makes room for them in one go.

// Preload restores key's logic from its snapshot as Resume does, but leaves the key out
// of the key map until Index. It is for a resume whose keys come while the store still
// reads them, their number unknown until the last: the map is then made once, at its
// final size, instead of growing to it (its growth was a third of the runtime's resume
// of 1M keys). Between the first Preload and Index, the runtime is only given keys to
// preload.
func (s *stateful[V, W, S]) Preload(key string, state []byte) error {
	_, err := s.restore(key, state)
	if err == nil {
		s.unindexed++
	}
	return err
}

// Index puts the keys Preload restored into the key map, made at their number when the
// runtime held no key before. When they are its only keys and came in key order, as a
// store's Load gives them, they also become the key order's swept slots: the first
// activation then has no million keys to sort and merge (its sweep was 5-7% of the CPU
// to a resume's first item), and checking the order here costs a comparison of keys the
// map's hashing has just read.
func (s *stateful[V, W, S]) Index() {
	n := s.unindexed
	if n == 0 {
		return
	}
	s.unindexed = 0
	if len(s.keys) == 0 {
		s.keys = make(map[string]*entry[V, W, S], n)
	}
	o := &s.order
	fresh := o.fresh[len(o.fresh)-n:]
	sorted := n == len(o.fresh) && len(o.sorted) == 0 && o.dead == 0
	for i, slot := range fresh {
		s.keys[slot.key] = slot.owner
		if sorted {
			if i > 0 && slot.key <= fresh[i-1].key {
				sorted = false
				for _, done := range fresh[:i] {
					done.rank = -1 // fresh slots have none
				}
				continue
			}
			slot.rank = int32(i)
		}
	}
	if sorted {
		o.sorted, o.fresh, o.sorts = fresh, nil, 0
	}
}

// restore makes key's entry, its logic built from its snapshot state, and puts it in the
// key order (and its notification, if it has one, in the timer queue): all of Resume but
// the map.
func (s *stateful[V, W, S]) restore(key string, state []byte) (e *entry[V, W, S], err error) {
	st, err := s.codec.Decode(state)
	if err != nil {
		return nil, &graph.KeyError{Key: key, Cause: err} // a *codec.DecodeError, naming S
	}
	defer func() {
		if r := recover(); r != nil {
			e, err = nil, &graph.KeyError{Key: key, Cause: &graph.PanicError{Value: r, Stack: debug.Stack()}}
		}
	}()
	e = s.resumed.entry(key)
	s.setLogic(e, s.build(st, true))
	s.order.add(&e.order)
	if e.timer {
		if at, ok := e.logic.NotifyAt(); ok {
			s.timers.arm(&e.timers, at.UnixNano())
		}
	}
	return e, nil
}

// entryBlock is how many resumed keys' entries share an allocation.
const entryBlock = 64

// entrySlab hands out the entries of resumed keys from blocks of entryBlock: one
// allocation per block rather than per key, which halved what a resumed key's entry cost
// to make and to collect. A block lives as long as any of its entries: a discarded key's
// entry stays until the block's other keys are discarded too, so that the memory kept is
// at most what the resumed keys took when they were resumed.
type entrySlab[V, W, S any] struct{ free []entry[V, W, S] }

func (b *entrySlab[V, W, S]) entry(key string) *entry[V, W, S] {
	if len(b.free) == 0 {
		b.free = make([]entry[V, W, S], entryBlock)
	}
	e := &b.free[0]
	b.free = b.free[1:]
	return initEntry(e, key)
}
