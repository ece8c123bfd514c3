package graph

import "unsafe"

// BatchOps are the typed operations the engine needs on batches of one item type. The
// engine holds batches as `any` (one []T per batch, never one interface per item); these
// methods do the per-item work in typed code.
type BatchOps interface {
	// Len returns the number of items in b, a []T or nil.
	Len(b any) int
	// Concat returns dst with src's items appended; either may be nil.
	Concat(dst, src any) any
	// Keyed reports whether items are KV values, so that a Splitter may route by key.
	Keyed() bool
	// Bytes estimates the in-memory size of b, counting each item's shallow size.
	Bytes(b any) int
	// NewSplitter returns a router of batches to n destinations whose buffers start with
	// room for size items.
	NewSplitter(n, size int) Splitter
}

// Splitter routes the items of batches into one buffer per destination, keeping its typed
// buffers between calls.
type Splitter interface {
	// ByKey appends each item of b to the buffer of dest(key).
	ByKey(b any, dest func(key string) int)
	// Even appends the items of b to the buffers in turn, round robin.
	Even(b any)
	// Len returns the number of items buffered for d.
	Len(d int) int
	// Take hands over d's buffer (nil when empty) and starts a new one in spare, a batch
	// of the same type that nobody uses any more, or in new memory when spare is nil.
	Take(d int, spare any) any
	// Peek returns d's buffer (nil when empty) for a call that only borrows it; Reset
	// empties it afterwards for reuse.
	Peek(d int) any
	Reset(d int)
}

// Ops implements BatchOps for items of type T.
type Ops[T any] struct {
	key func(*T) string // non-nil when T is a KV type
}

// kvType is implemented by *KV[V] for every V: it lets Ops find the key of a T that is a
// KV without knowing V, once at build time instead of boxing each item.
type kvType interface{ keyFunc() any }

func (*KV[V]) keyFunc() any { return func(kv *KV[V]) string { return kv.Key } }

// NewOps returns the batch operations for T.
func NewOps[T any]() *Ops[T] {
	o := &Ops[T]{}
	if k, ok := any((*T)(nil)).(kvType); ok {
		o.key = k.keyFunc().(func(*T) string)
	}
	return o
}

func (o *Ops[T]) Len(b any) int {
	if b == nil {
		return 0
	}
	return len(b.([]T))
}

func (o *Ops[T]) Concat(dst, src any) any {
	if src == nil {
		return dst
	}
	if dst == nil {
		return append([]T(nil), src.([]T)...)
	}
	return append(dst.([]T), src.([]T)...)
}

func (o *Ops[T]) Keyed() bool { return o.key != nil }

func (o *Ops[T]) NewSplitter(n, size int) Splitter {
	sp := &splitter[T]{key: o.key, size: size, bufs: make([][]T, n)}
	for d := range sp.bufs {
		sp.bufs[d] = make([]T, 0, size)
	}
	return sp
}

type splitter[T any] struct {
	key  func(*T) string
	size int
	bufs [][]T
	next int // round robin position
}

func (s *splitter[T]) ByKey(b any, dest func(string) int) {
	items := b.([]T)
	for i := range items {
		d := dest(s.key(&items[i]))
		s.bufs[d] = append(s.bufs[d], items[i])
	}
}

func (s *splitter[T]) Even(b any) {
	n := len(s.bufs)
	for _, it := range b.([]T) {
		s.bufs[s.next] = append(s.bufs[s.next], it)
		if s.next++; s.next == n {
			s.next = 0
		}
	}
}

func (s *splitter[T]) Len(d int) int { return len(s.bufs[d]) }

func (s *splitter[T]) Take(d int, spare any) any {
	b := s.bufs[d]
	if len(b) == 0 {
		return nil
	}
	if sp, ok := spare.([]T); ok {
		clear(sp) // drop what its items referenced
		s.bufs[d] = sp[:0]
	} else {
		s.bufs[d] = make([]T, 0, max(s.size, len(b)))
	}
	return b
}

func (s *splitter[T]) Peek(d int) any {
	if len(s.bufs[d]) == 0 {
		return nil
	}
	return s.bufs[d]
}

func (s *splitter[T]) Reset(d int) {
	clear(s.bufs[d])
	s.bufs[d] = s.bufs[d][:0]
}

func (o *Ops[T]) Bytes(b any) int {
	var zero T
	return o.Len(b) * int(unsafe.Sizeof(zero))
}
