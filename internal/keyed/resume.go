package keyed

import "slices"

// Resuming a million keys is a million map insertions and entries at once, before the
// first new item can run: what follows makes room for them in one go.

// Reserve makes room for keys keys about to be resumed, before the first Resume: the key
// map is made at its final size instead of growing to it (rehashing every key several
// times over, a quarter of the runtime's resume of 1M keys), and so is the list of fresh
// keys.
func (s *stateful[V, W, S]) Reserve(keys int) {
	if len(s.keys) == 0 && keys > 0 {
		s.keys = make(map[string]*entry[V, W, S], keys)
	}
	s.order.fresh = slices.Grow(s.order.fresh, keys)
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
