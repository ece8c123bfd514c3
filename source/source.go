package source

import (
	"context"
	"errors"
	"time"
)

// Part tells Build which part of a source it opens: the step, the partition name ("" for a
// dynamic source), and the worker that will read it.
type Part struct {
	Step      string // the input step's full id, "flow.step"
	Partition string // the partition's name; "" for a dynamic source
	Worker    int    // the index of the worker that reads the part, from 0
	Workers   int    // the number of workers in the run
}

// ErrAbort, returned by Partition.Next, stops the run at once, as a crash would: no
// end-of-stream processing, no final snapshot. Tests use it to simulate failures.
// errors.Is finds it through wrapping.
var ErrAbort = errors.New("weir: run aborted by source")

// Source is a source of items of type T.
//
// A source that also implements Partitioned is partitioned: the runtime lists its
// partitions and assigns each to exactly one worker, which calls Build with the partition's
// resume position. Any other source is dynamic: Build is called once per worker with an
// empty partition name and no resume state.
type Source[T any] interface {
	Build(ctx context.Context, part Part, resume []byte) (Partition[T], error)
}

// Partitioned is implemented by partitioned sources.
type Partitioned interface {
	// Partitions lists the partitions this process can reach.
	Partitions(ctx context.Context) ([]string, error)
}

// Partition is one open partition of a source (or a dynamic source's instance on a worker).
type Partition[T any] interface {
	// Next returns the next batch; an empty batch is fine. It returns io.EOF at the end of
	// the partition (items returned with it are still used), and ErrAbort to abort the run.
	// The returned slice is only borrowed until the next call.
	Next(ctx context.Context) ([]T, error)
	// Snapshot returns the position to resume from after every batch returned so far. It is
	// called at each epoch close; a dynamic source may return nil.
	Snapshot() []byte
	// Close releases the partition.
	Close() error
}

// Awaker is implemented by partitions that want to be polled at a later time.
type Awaker interface {
	// NextAwake returns when Next should be called again. The zero time means at once,
	// except after an empty batch, when the runtime waits 1 ms.
	NextAwake() time.Time
}

// Lagger is implemented by partitions that know how far they are behind the end of their
// source: a Kafka partition's records not yet read, a file's bytes not yet read. Metrics
// and the run's logs read it. Lag is called from goroutines other than the worker's, so
// it reads what the partition publishes atomically; it returns false while the partition
// does not know.
type Lagger interface {
	Lag() (behind int64, ok bool)
}

// Sizer is implemented by partitions of bounded sources that know their whole size in the
// unit of their Lag: a file's bytes, a slice's items, a text's bytes. With Lag it tells
// how much of the partition is read: run.Main's progress line shows the share read and
// the time left when every partition of the run's inputs is a Sizer and a Lagger. Like
// Lag, Size is called from goroutines other than the worker's; it returns false while
// the partition does not know.
type Sizer interface {
	Size() (total int64, ok bool)
}
