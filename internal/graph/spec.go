package graph

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/weirflow/weir/internal/state"
)

// PartInfo tells a connector which part of a source or sink it is opening. Package op
// converts it to source.Part or sink.Part, which have the same fields.
type PartInfo struct {
	Step      string // full step id
	Partition string // partition name; "" for a dynamic source or sink
	Worker    int    // index of the worker that owns the part
	Workers   int    // total workers in the cluster
}

// SourcePart is one open partition of an input, erased to batches.
type SourcePart interface {
	// Next returns the next batch ([]T or nil). io.EOF ends the partition (after the batch
	// returned with it); ErrAbort stops the run as a crash would.
	Next(ctx context.Context) (any, error)
	// NextAwake returns when Next should be called again; the zero time means at once.
	NextAwake() time.Time
	// Snapshot returns the position to resume from after every batch returned so far.
	Snapshot() []byte
	Close() error
}

// ErrAbort is returned by a SourcePart to stop the run at once, as a crash would. Package
// op returns it for a partition's source.ErrAbort, the error users see.
var ErrAbort = errors.New("weir: run aborted by source")

// InputSpec is the spec of an Input node.
type InputSpec struct {
	// Partitions lists the partitions this process can reach; nil for a dynamic source,
	// which is built once per worker.
	Partitions func(ctx context.Context) ([]string, error)
	Build      func(ctx context.Context, p PartInfo, resume []byte) (SourcePart, error)
}

// SinkPart is one open partition of an output, erased to batches.
type SinkPart interface {
	// Write writes a batch ([]T). The slice is only borrowed for the call.
	Write(batch any) error
	// Snapshot returns the position to resume from after every batch written so far.
	Snapshot() []byte
	// Flush hands what was written so far to the destination; it is called at each epoch
	// close of a run without a store.
	Flush() error
	Close() error
}

// SinkCommitter is implemented by a SinkPart whose partition ends each epoch's writes in
// two phases (sink.Committer): the engine calls Prepare instead of Snapshot at each epoch
// close, Commit once the epoch is committed in the store for every worker, and closes the
// part only after the last Commit.
type SinkCommitter interface {
	Prepare(epoch uint64) ([]byte, error)
	Commit(epoch uint64) error
}

// SourceLagger is implemented by a SourcePart that may know its distance to the end of
// its source (source.Lagger); ok is false when it does not.
type SourceLagger interface {
	Lag() (behind int64, ok bool)
}

// OutputSpec is the spec of an Output node.
type OutputSpec struct {
	// Partitions lists the partitions this process can reach; nil for a dynamic sink.
	Partitions func(ctx context.Context) ([]string, error)
	Build      func(ctx context.Context, p PartInfo, resume []byte) (SinkPart, error)
}

// FlatMapSpec is the spec of a FlatMapBatch node. New is called once per worker, so the
// function it returns may keep per-worker scratch space.
type FlatMapSpec struct {
	New func() func(batch any) any
	// Chain, when set, is the step as a chain of per-item functions, which the plan may
	// fuse with the chain of the step after it.
	Chain Chain
	// Hold, when set, makes the step's per-worker function in place of New, for a step
	// that holds items back across batches (a combiner before an exchange). It is called
	// once per worker.
	Hold func() Holder
	// Pure says that the step's function does nothing but return its output (a window
	// operator's split of its events into Down, Late and Meta): when no step consumes
	// that output, the engine does not run it.
	Pure bool
}

// Holder is the per-worker function of a FlatMapBatch step that may keep what it is
// given across batches, within an epoch. The engine calls Flush and sends what it
// returns on in the epoch of the batches held, before it gives the holder a batch of
// another epoch and before the step's frontier passes that epoch (so at the end of the
// stream too): nothing held outlives its epoch, so the step has nothing to snapshot, and
// an aborted run loses only what its last snapshot does not cover anyway.
type Holder interface {
	// Batch takes a batch and returns what to emit now (nil for nothing), as New's
	// function does.
	Batch(batch any) any
	// Flush returns everything held (nil for nothing) and holds nothing after.
	Flush() any
}

// Chain is a run of per-item functions of consecutive stateless steps (op.Map): fused, an
// item goes through all of them in one loop instead of one pass over the batch per step.
type Chain interface {
	// Then returns the chain of c's functions followed by next's, or false when the two
	// do not fuse.
	Then(next Chain) (Chain, bool)
	// New returns a batch function running the chain, for one worker. A panic in one of
	// its functions panics with a StepPanic naming that function's step.
	New() func(batch any) any
}

// StepPanic carries an error already attributed to its step (a *StepError) out of a
// panicking call chain to the worker loop, which returns it as is.
type StepPanic struct{ Err error }

// BranchSpec is the spec of a Branch node.
type BranchSpec struct {
	Split func(batch any) (yes, no any)
}

// InspectSpec is the spec of an InspectDebug node.
type InspectSpec struct {
	Fn func(step string, batch any, epoch uint64, worker int)
}

// StatefulSpec is the spec of a StatefulBatch node. New is called once per worker.
type StatefulSpec struct {
	New func() StatefulRuntime
}

// StatefulRuntime is the per-worker, type-erased half of a StatefulBatch step.
type StatefulRuntime interface {
	// Activate runs one activation (in the order op.Logic documents): OnBatch per key of batch (a []KV[V] or
	// nil), OnNotify for keys due at now, and OnEOF for every live key when eof is set.
	// It returns the emitted items ([]KV[W] or nil).
	Activate(batch any, now time.Time, eof bool) (any, error)
	// NextNotify returns the earliest armed notification time.
	NextNotify() (time.Time, bool)
	// Snapshot returns the changes of the keys touched since the last call, in no
	// particular order: a store sorts them if it needs to, off the worker's loop. With them
	// comes the function that gives their memory back, for a later snapshot to fill once a
	// store has written them and kept nothing (state.Snapshot.Release); nil when there is
	// nothing to give back.
	Snapshot() ([]state.Change, func(), error)
	// Resume restores one key's logic from its snapshot.
	Resume(key string, state []byte) error
	// Track turns on the bookkeeping of touched keys that Snapshot needs.
	Track()
}

// StepError is the error of a step: a panic or error in user code or a connector, named by
// the step's full id and, where there is one, the key or partition.
type StepError struct {
	Step      string
	Key       string // the key of a stateful step's logic, when known
	Partition string // the partition of a source or sink, when known
	Cause     error
}

func (e *StepError) Error() string {
	s := "weir: step " + e.Step
	if e.Key != "" {
		s += fmt.Sprintf(" (key %q)", e.Key)
	}
	if e.Partition != "" {
		s += fmt.Sprintf(" (partition %q)", e.Partition)
	}
	return s + ": " + e.Cause.Error()
}

func (e *StepError) Unwrap() error { return e.Cause }

// KeyError is a failure inside one key's logic; the engine adds the step id.
type KeyError struct {
	Key   string
	Cause error
}

func (e *KeyError) Error() string { return fmt.Sprintf("key %q: %v", e.Key, e.Cause) }
func (e *KeyError) Unwrap() error { return e.Cause }

// PanicError wraps a value recovered from a panic in user code.
type PanicError struct {
	Value any
	Stack []byte
}

func (e *PanicError) Error() string { return fmt.Sprintf("panic: %v", e.Value) }

// Unwrap returns the panic value when it is an error, so errors.Is/As reach it.
func (e *PanicError) Unwrap() error {
	if err, ok := e.Value.(error); ok {
		return err
	}
	return nil
}
