package graph

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
	// Bytes estimates the memory b holds: its array, and what its items reference
	// (strings, slices, and for items with pointers an estimate from a sample). The
	// engine's in-flight limit counts this, so that the limit means memory.
	Bytes(b any) int
	// DecodedBytes is Bytes of b as a process that decodes it holds it: its array counted
	// by its length, not its capacity. A batch sent to another process is counted so (its
	// credit, the bytes sent), for a sender's buffer, reused, has room for far more items
	// than a message may hold.
	DecodedBytes(b any) int
	// AppendEncode appends b, a []T or nil, to dst as bytes that Decode reads back in any
	// process of the same program: for an exchange edge whose receiver is in another
	// process. The in-process mesh hands batches over as they are and never calls it.
	AppendEncode(dst []byte, b any) ([]byte, error)
	// Decode returns the batch, a []T (never nil, so never taken for a progress marker),
	// that AppendEncode wrote in data. The batch may keep references into data, which the
	// caller must not reuse.
	Decode(data []byte) (any, error)
	// NewSplitter returns a router of batches to n destinations whose buffers start with
	// room for size items.
	NewSplitter(n, size int) Splitter
}

// Splitter routes the items of batches into one buffer per destination, keeping its typed
// buffers between calls.
type Splitter interface {
	// ByKey appends each item of b to the buffer of its key's destination under r; items
	// that are not KV values all go to the destination of the key "".
	ByKey(b any, r Route)
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

// Route is where an item with a given key goes: its key's hash (keyhash.Of) modulo Mod,
// or, when Owner is set, Owner at that index (Mod is then len(Owner)). It is a value
// rather than a function so that a Splitter computes the destination in its loop, with
// no call per item and a mask instead of a division when Mod is a power of two.
type Route struct {
	Mod   uint64
	Owner []int
}

// Dest returns the destination of a key whose hash is h.
func (r Route) Dest(h uint64) int {
	i := h % r.Mod
	if r.Owner != nil {
		return r.Owner[i]
	}
	return int(i)
}
