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
	// Keyed reports whether items are KV values, so that SplitByKey may be used.
	Keyed() bool
	// SplitByKey appends each item of b to bufs[dest(key)].
	SplitByKey(b any, dest func(key string) int, bufs []any)
	// SplitEven appends the items of b to bufs in turn, starting at *next, and advances it.
	SplitEven(b any, next *int, bufs []any)
	// Bytes estimates the in-memory size of b, counting each item's shallow size.
	Bytes(b any) int
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

// KeyFunc returns the function giving the key of a T, or nil when T is not a KV type.
func (o *Ops[T]) KeyFunc() func(*T) string { return o.key }

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

func (o *Ops[T]) SplitByKey(b any, dest func(string) int, bufs []any) {
	items := b.([]T)
	typed := make([][]T, len(bufs))
	for i, buf := range bufs {
		if buf != nil {
			typed[i] = buf.([]T)
		}
	}
	for i := range items {
		d := dest(o.key(&items[i]))
		typed[d] = append(typed[d], items[i])
	}
	for i, t := range typed {
		if t != nil {
			bufs[i] = t
		}
	}
}

func (o *Ops[T]) SplitEven(b any, next *int, bufs []any) {
	items := b.([]T)
	n := len(bufs)
	typed := make([][]T, n)
	for i, buf := range bufs {
		if buf != nil {
			typed[i] = buf.([]T)
		}
	}
	d := *next % n
	for _, it := range items {
		typed[d] = append(typed[d], it)
		if d++; d == n {
			d = 0
		}
	}
	*next = d
	for i, t := range typed {
		if t != nil {
			bufs[i] = t
		}
	}
}

func (o *Ops[T]) Bytes(b any) int {
	var zero T
	return o.Len(b) * int(unsafe.Sizeof(zero))
}
