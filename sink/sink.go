package sink

import "context"

// Part tells Build which part of a sink it opens: the step, the partition name ("" for a
// dynamic sink), and the worker that will write it. It has the fields of source.Part, so
// that a connector may convert one to the other.
type Part struct {
	Step      string // the output step's full id, "flow.step"
	Partition string // the partition's name; "" for a dynamic sink
	Worker    int    // the index of the worker that writes the part, from 0
	Workers   int    // the number of workers in the run
}

// Sink receives the items of a stream.
//
// A sink that also implements Partitioned is partitioned: each item of a keyed stream
// (weir.KV) goes to partition hash(key) % n over the sorted partition names, and every
// item of a stream that is not keyed to the empty key's partition. Each partition is
// written by one worker, in epoch order, and snapshotted at every epoch close so that it
// can resume exactly where it was. Any other sink is dynamic: Build is
// called once per worker, with no routing and no state.
type Sink[T any] interface {
	Build(ctx context.Context, part Part, resume []byte) (Partition[T], error)
}

// Partitioned is implemented by partitioned sinks.
type Partitioned interface {
	// Partitions lists the partitions this process can write.
	Partitions(ctx context.Context) ([]string, error)
}

// Partition is one open partition of a sink (or a dynamic sink's instance on a worker).
type Partition[T any] interface {
	// Write writes a batch. The slice is only borrowed for the call: copy what you keep.
	Write(items []T) error
	// Snapshot returns the position to resume from (e.g. a file length). It is called at
	// each epoch close of a run with a recovery store, and only for a partitioned sink; a
	// dynamic sink may return nil.
	Snapshot() []byte
	// Close flushes and releases the partition. It is called at the end of the run, and
	// also when the run fails or is stopped by its context.
	Close() error
}

// Flusher is implemented by a partition that buffers its writes. At every epoch close
// where the engine does not call Snapshot (in a run without a recovery store, and for a
// dynamic sink) it calls Flush, so that what a run has written reaches its destination
// at the pace of epochs and not only at the end of the run. Snapshot, where it is called,
// must flush too, and make the writes durable.
type Flusher interface {
	Flush() error
}

// Committer is implemented by a partition of a partitioned sink that ends each epoch's
// writes in two phases, as a transactional sink does (Kafka's exactly-once mode).
//
// Phase one is Prepare, at the close of each epoch, which in runs with a recovery store the
// engine calls instead of Snapshot: the partition makes the epoch's writes ready to be made
// visible (a transaction flushed but not committed) and returns its position, with what it
// needs to finish those writes after a crash. Phase two is Commit, called once the epoch is
// committed in the recovery store for every worker: a run resumed later starts after it,
// so its writes must now be made visible. A crash between the two phases leaves the epoch's
// writes to the next run, which finishes them from the position it resumes with (Build's
// resume: the Prepare of the last committed epoch); the writes of an epoch that was never
// committed in the store are the next run's to throw away.
//
// Commit is called with the latest committed epoch, once for each new one, in increasing
// order, possibly skipping epochs (it commits every prepared epoch up to it). It is called
// from a goroutine other than the worker's, and may run while Write or Prepare does: the
// partition synchronises them. At the end of a run, Commit is called for every epoch the
// run committed (also when the run fails after committing some), and then Close, also from
// another goroutine. Without a recovery store the engine calls neither Prepare nor Commit,
// only Flush at each epoch close: the partition makes its writes visible there.
type Committer interface {
	Prepare(epoch uint64) ([]byte, error)
	Commit(epoch uint64) error
}
