// Package sink defines how weir writes output, and small ready-made sinks.
//
// # Partitioned sinks
//
// A sink that implements Partitioned lists its partitions (the files of a directory, the
// partitions of a message broker's topic). Each item of a keyed stream (weir.KV) goes to
// partition hash(key) % n over the sorted partition names; the items of a stream that is
// not keyed all go to one partition, the empty key's, in order (key the stream to spread
// it). Each partition is written by one worker, in epoch order. In a run with a recovery store, the partition's Snapshot
// (a file length, say) is taken at every epoch close, and a resumed run passes it back to
// Build, so that the sink can drop what was written after it and write each item exactly
// once.
//
// # Dynamic sinks
//
// Any other sink is dynamic: Build runs once on every worker, and each worker writes the
// items it holds, with no routing and no state. Output is at-least-once: after a resume,
// items written since the last snapshot are written again.
//
// # Batches
//
// Write receives a slice that is only borrowed for the call: a sink that keeps items
// must copy them.
//
// # Buffered writes
//
// A partition that buffers its writes implements Flusher. At every epoch close the
// runtime calls either Snapshot (a partitioned sink in a run with a recovery store; it
// must also make the writes durable) or Flush, so that output appears epoch by epoch
// rather than only at the end of the run. Close, at the end of the run or when it stops,
// writes out the rest.
//
// # Helpers
//
// Func turns a function into a dynamic sink. Package weirtest has a capture sink for
// tests, and the connectors packages write to files (connectors/files) and standard
// output (connectors/stdio).
package sink
