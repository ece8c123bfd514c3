// Package source defines how weir reads input, and small ready-made sources.
//
// # Partitioned sources
//
// A source that implements Partitioned lists the partitions it can reach (the files of a
// directory, the partitions of a message broker's topic). The runtime assigns each partition to
// exactly one worker, which calls Build with the partition's resume position: the bytes
// its Partition.Snapshot returned at the last completed epoch, or nil on a fresh start.
// A partition returns batches from Next, reports the end of its stream with io.EOF, can
// stop the run with ErrAbort, and may implement Awaker to be polled at a later time
// instead of at once (after an empty batch, the runtime waits 1 ms unless told a time).
// A partition that knows how far it is from the end of its source implements Lagger
// (metrics show it), and a bounded one that knows its whole size Sizer too (run.Main's
// progress line shows the share read and the time left): FromSlice's partition counts
// items, Lines' bytes, as package files' partitions do.
//
// # Dynamic sources
//
// Any other source is dynamic: Build runs once on every worker, with an empty partition
// name and the worker's index and count in Part, and no resume position. Dynamic sources
// are not resumable.
//
// # Batches
//
// Next returns a slice that the runtime borrows until the next call, so a partition can
// reuse one buffer for every batch. Batches are the unit of work: each batch travels down
// the flow before the next one is read.
//
// # Helpers
//
// FromSlice, FromSeq and Lines turn a slice, an iterator or an in-memory text into a
// resumable single-partition source; Poll calls a function at a fixed interval, or as
// often as it can with an interval of 0. FromFunc calls a blocking function (a client's
// receive, say) in a goroutine of its own, and FromChan receives from a channel, both
// into batches of up to a maximum size that wait at most a maximum time; FromFunc
// resumes where its function can start again after a given item (Resume), FromChan does
// not. Package weirtest has a scripted source for tests, and the connectors
// packages read files (connectors/files), standard input (connectors/stdio) and random
// metrics for examples (connectors/demo).
package source
