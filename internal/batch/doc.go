// Package batch holds the typed operations on batches that the untyped engine needs: for
// an item type T, Ops[T] measures, concatenates and splits []T batches (by key, by
// partition, round robin), each per batch in typed code, never one interface per item.
// Operators make one Ops per stream at build time (graph.BatchOps is its interface).
//
// Bytes sizes a batch by the memory it holds, items' strings and slices included, so that
// the engine's in-flight limit means memory: through unsafe offsets chosen once per type,
// or for items with pointers from a reflective sample every few batches.
//
// AppendEncode and Decode turn a batch into bytes and back, for an exchange edge whose
// receiver is in another process (the in-process mesh never calls them): CBOR, or a codec
// registered for the item type or for a KV's value, item by item. See codec.go.
package batch
