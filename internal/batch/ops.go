package batch

import (
	"reflect"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/weirflow/weir/internal/graph"
	"github.com/weirflow/weir/internal/keyhash"
)

// Ops implements graph.BatchOps for items of type T.
type Ops[T any] struct {
	key  func(*T) string // non-nil when T is a KV type
	size layout          // how Bytes sizes items of T, chosen once in NewOps
	// codec is how AppendEncode and Decode encode items of T, chosen on the first call
	// (after the program's codecs are registered) and kept.
	codec func() *itemCodec[T]
}

// NewOps returns the batch operations for T.
func NewOps[T any]() *Ops[T] {
	t := reflect.TypeFor[T]()
	return &Ops[T]{key: graph.KeyFunc[T](), size: layoutOf(t),
		codec: sync.OnceValue(func() *itemCodec[T] { return newItemCodec[T](t) })}
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

// ItemType returns T, which descriptions of a flow (internal/flowview) name on its steps
// and edges.
func (o *Ops[T]) ItemType() reflect.Type { return reflect.TypeFor[T]() }

func (o *Ops[T]) NewSplitter(n, size int) graph.Splitter {
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

func (s *splitter[T]) ByKey(b any, r graph.Route) {
	items := b.([]T)
	if s.key == nil {
		// Items without a key (a plain stream into a partitioned sink) all go where the
		// empty key goes: one destination, in order.
		d := r.Dest(keyhash.Of(""))
		s.bufs[d] = append(s.bufs[d], items...)
		return
	}
	// This loop is the exchange's cost per item (a hash, a copy): the destination is
	// computed here rather than by a function per item, and with a mask when the
	// destinations are a power of two (a 64-bit division costs more than the hash of a
	// short key).
	mod, mask := r.Mod, r.Mod-1
	pow2 := mod&mask == 0
	bufs, owner := s.bufs, r.Owner
	if mod == 2 {
		// Two destinations (two workers, the common pair on a two-core machine): the hash's
		// low bit, found without the hash's multiplications (see fnvLowBit).
		for i := range items {
			d := fnvLowBit(s.key(&items[i]))
			if owner != nil {
				d = owner[d]
			}
			bufs[d] = append(bufs[d], items[i])
		}
		return
	}
	for i := range items {
		h := keyhash.Of(s.key(&items[i]))
		if pow2 {
			h &= mask
		} else {
			h %= mod
		}
		d := int(h)
		if owner != nil {
			d = owner[h]
		}
		bufs[d] = append(bufs[d], items[i])
	}
}

// fnvLowBit returns keyhash.Of(key) % 2. FNV-1a multiplies by an odd prime, which keeps
// a number's low bit, and XORs in each byte: so the hash's low bit is that of its offset
// basis XOR every byte of the key. The bytes are XORed a word at a time, the last partial
// word read as the key's last full one less the bytes already in (a byte loop's exit,
// at a length that varies from key to key, cost as much as the hash's multiplications):
// about 4 ns per item of the exchange at two workers instead of 9 with the hash.
func fnvLowBit(key string) int {
	n := len(key)
	var x uint64
	switch {
	case n >= 8:
		i := 0
		for ; i+8 <= n; i += 8 {
			x ^= load64(key, i)
		}
		if t := n - i; t > 0 {
			x ^= load64(key, n-8) >> (8 * (8 - t))
		}
	case n >= 4:
		x = load32(key, 0) ^ load32(key, n-4)>>(8*(8-n))
	default:
		for i := range n {
			x ^= uint64(key[i])
		}
	}
	x ^= x >> 32
	x ^= x >> 16
	x ^= x >> 8
	return int((x ^ fnvOffset) & 1)
}

// load64 and load32 read 8 and 4 bytes of s at i, little-endian (the compiler makes each
// one load).
func load64(s string, i int) uint64 {
	s = s[i : i+8]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

func load32(s string, i int) uint64 {
	s = s[i : i+4]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24
}

// fnvOffset is FNV-1a's offset basis, keyhash.Of("").
const fnvOffset = 14695981039346656037

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
	if b == nil {
		return 0
	}
	items := b.([]T)
	return o.bytes(b, items, cap(items))
}

func (o *Ops[T]) DecodedBytes(b any) int {
	if b == nil {
		return 0
	}
	items := b.([]T)
	return o.bytes(b, items, len(items))
}

// bytes is Bytes of b, which holds items, with an array of slots items.
func (o *Ops[T]) bytes(b any, items []T, slots int) int {
	l := &o.size
	n := slots * l.item
	if l.sampled != nil {
		// b, not items: boxing items again would allocate on every batch.
		return n + len(items)*l.sampled.perItem(b)
	}
	if len(l.strs)+len(l.slices) == 0 {
		return n
	}
	// Large batches are sized from evenly spread items, scaled: a batch then costs the
	// same to size whatever its length.
	step := max(1, len(items)/exactItems)
	refs := 0
	for i := 0; i < len(items); i += step {
		p := unsafe.Pointer(&items[i])
		for _, off := range l.strs {
			refs += len(*(*string)(unsafe.Add(p, off)))
		}
		for _, s := range l.slices {
			refs += (*sliceHeader)(unsafe.Add(p, s.off)).cap * s.elem
		}
	}
	if step > 1 {
		refs = refs * len(items) / ((len(items) + step - 1) / step)
	}
	return n + refs
}

// exactItems is how many items of a batch Bytes reads at most; a longer batch is sized
// from that many of its items, evenly spread.
const exactItems = 64

// layout is what Bytes adds to a batch's array for the items of one type: the lengths of
// the strings and the capacities of the slices of pointer-free elements at fixed offsets
// in an item (read through unsafe, with no reflection or boxing per item), or, for items
// that hold pointers, maps or interfaces, an estimate per item from a sample.
type layout struct {
	item    int // size of one item in the array
	strs    []uintptr
	slices  []sliceField
	sampled *sampler // nil unless items hold pointers, maps or interfaces
}

type sliceField struct {
	off  uintptr
	elem int // size of an element
}

// sliceHeader is the layout of every slice header.
type sliceHeader struct {
	data     unsafe.Pointer
	len, cap int
}

// maxFields bounds the strings and slices sized exactly per item; a type with more is
// sized by sampling, which costs the same whatever the type.
const maxFields = 8

func layoutOf(t reflect.Type) layout {
	l := layout{item: int(t.Size())}
	exact := l.fields(t, 0)
	if !exact || len(l.strs)+len(l.slices) > maxFields {
		l.strs, l.slices = nil, nil
		l.sampled = &sampler{typ: t}
	}
	return l
}

// fields files the strings and slices of t at base and reports whether that is all t
// references (false when it holds pointers, maps, interfaces or slices of them).
func (l *layout) fields(t reflect.Type, base uintptr) bool {
	switch t.Kind() {
	case reflect.String:
		l.strs = append(l.strs, base)
	case reflect.Slice:
		if !pointerFree(t.Elem()) {
			return false
		}
		l.slices = append(l.slices, sliceField{off: base, elem: int(t.Elem().Size())})
	case reflect.Struct:
		for i := range t.NumField() {
			f := t.Field(i)
			if !l.fields(f.Type, base+f.Offset) {
				return false
			}
		}
	case reflect.Array:
		if pointerFree(t.Elem()) { // all inline: the item's size counts it
			return true
		}
		if t.Len() > maxFields {
			return false
		}
		for i := range t.Len() {
			if !l.fields(t.Elem(), base+uintptr(i)*t.Elem().Size()) {
				return false
			}
		}
	case reflect.Pointer, reflect.Map, reflect.Interface, reflect.UnsafePointer:
		return false
	}
	// Funcs and chans reference what is shared, not what the item holds: counted as their
	// header only.
	return true
}

// pointerFree reports whether a value of t references no memory of its own.
func pointerFree(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.String, reflect.Slice, reflect.Pointer, reflect.Map, reflect.Interface,
		reflect.UnsafePointer, reflect.Func, reflect.Chan:
		return false
	case reflect.Struct:
		for i := range t.NumField() {
			if !pointerFree(t.Field(i).Type) {
				return false
			}
		}
	case reflect.Array:
		return t.Len() == 0 || pointerFree(t.Elem())
	}
	return true
}

// sampleEvery is how often a sampler measures items again: on the first batch, then
// every sampleEvery-th. Between samples a batch costs one atomic load.
const sampleEvery = 64

// sampledItems is how many items of a batch a sample walks, spread over the batch.
const sampledItems = 4

// sampler estimates what the items of a type with pointers reference: every sampleEvery
// batches it walks a few items with reflection (strings, slices, maps, pointers and
// interfaces, shared memory counted once per sample) and keeps their average as the
// estimate for every item until the next sample. The cost per batch is bounded and
// nothing is reflected per item; the price is that items unlike the sampled ones are
// sized like them.
type sampler struct {
	typ     reflect.Type
	batches atomic.Uint64
	avg     atomic.Int64 // bytes referenced per item, as of the last sample
}

func (s *sampler) perItem(items any) int {
	if s.batches.Add(1)%sampleEvery != 1 {
		return int(s.avg.Load())
	}
	v := reflect.ValueOf(items)
	n := v.Len()
	if n == 0 {
		return int(s.avg.Load())
	}
	w := walker{seen: map[uintptr]bool{}}
	k := min(n, sampledItems)
	total := 0
	for i := range k {
		total += w.walk(v.Index(i*n/k), 0)
	}
	avg := total / k
	s.avg.Store(int64(avg))
	return avg
}

// walker sums the memory a value references beyond its own inline size.
type walker struct{ seen map[uintptr]bool }

// locationType is not walked into: a time.Time's location is shared by every time of its
// zone, not held by the item, and the time package fills time.Local's lazily, so reading
// it would race with that.
var locationType = reflect.TypeFor[time.Location]()

const (
	maxDepth = 8  // deeper references are not counted
	maxElems = 16 // elements of one slice or map walked; the rest are sized like them
)

func (w *walker) walk(v reflect.Value, depth int) int {
	if depth > maxDepth {
		return 0
	}
	switch v.Kind() {
	case reflect.String:
		return v.Len()
	case reflect.Slice:
		if v.IsNil() || w.visited(v.Pointer()) {
			return 0
		}
		return v.Cap()*int(v.Type().Elem().Size()) + w.elems(v, depth)
	case reflect.Array:
		return w.elems(v, depth)
	case reflect.Pointer:
		if v.IsNil() || v.Type().Elem() == locationType || w.visited(v.Pointer()) {
			return 0
		}
		return int(v.Type().Elem().Size()) + w.walk(v.Elem(), depth+1)
	case reflect.Interface:
		if v.IsNil() {
			return 0
		}
		e := v.Elem()
		n := w.walk(e, depth+1)
		if e.Kind() != reflect.Pointer {
			n += int(e.Type().Size()) // a non-pointer value is boxed
		}
		return n
	case reflect.Map:
		if v.IsNil() || w.visited(v.Pointer()) {
			return 0
		}
		// Entries plus the table's overhead (control bytes, free slots): about twice the
		// entries' size in Go's maps.
		entry := int(v.Type().Key().Size() + v.Type().Elem().Size())
		n, walked, deep := 2*v.Len()*entry, 0, 0
		for it := v.MapRange(); it.Next() && walked < maxElems; walked++ {
			deep += w.walk(it.Key(), depth+1) + w.walk(it.Value(), depth+1)
		}
		if walked > 0 {
			n += deep * v.Len() / walked
		}
		return n
	case reflect.Struct:
		n := 0
		for i := range v.NumField() {
			n += w.walk(v.Field(i), depth)
		}
		return n
	}
	return 0
}

// elems sums what the elements of a slice or array reference, walking at most maxElems
// of them, spread over it, and scaling.
func (w *walker) elems(v reflect.Value, depth int) int {
	n := v.Len()
	if n == 0 || pointerFree(v.Type().Elem()) {
		return 0
	}
	k := min(n, maxElems)
	sum := 0
	for i := range k {
		sum += w.walk(v.Index(i*n/k), depth+1)
	}
	return sum * n / k
}

func (w *walker) visited(p uintptr) bool {
	if p == 0 || w.seen[p] {
		return true
	}
	w.seen[p] = true
	return false
}
