package op

import (
	"context"
	"errors"
	"time"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/internal/batch"
	"github.com/weirflow/weir/internal/graph"
	"github.com/weirflow/weir/internal/keyed"
	"github.com/weirflow/weir/sink"
	"github.com/weirflow/weir/source"
)

// Input reads a source into a stream. A partitioned source's partitions are spread over
// the workers; a dynamic source runs once on every worker.
func Input[T any](id string, flow *weir.Dataflow, src source.Source[T]) weir.Stream[T] {
	spec := &graph.InputSpec{
		Build: func(ctx context.Context, p graph.PartInfo, resume []byte) (graph.SourcePart, error) {
			part, err := src.Build(ctx, source.Part(p), resume)
			if err != nil {
				return nil, err
			}
			aw, _ := part.(source.Awaker)
			lag, _ := part.(source.Lagger)
			size, _ := part.(source.Sizer)
			return &sourcePart[T]{part: part, awaker: aw, lagger: lag, sizer: size}, nil
		},
	}
	if lister, ok := src.(source.Partitioned); ok {
		spec.Partitions = lister.Partitions
	}
	st := graph.DeclareIn(id, flow)
	return graph.Out[weir.Stream[T]](st, st.Add(graph.Input, 1, batch.NewOps[T](), spec), 0)
}

type sourcePart[T any] struct {
	part   source.Partition[T]
	awaker source.Awaker
	lagger source.Lagger
	sizer  source.Sizer
	batch  boxed[T]
}

func (p *sourcePart[T]) Next(ctx context.Context) (any, error) {
	items, err := p.part.Next(ctx)
	if err != nil && errors.Is(err, source.ErrAbort) {
		err = graph.ErrAbort // the engine's own sentinel
	}
	return p.batch.of(items), err
}

// boxed holds a batch as the engine passes it, an interface, and keeps it while the
// batch is the same slice (the same array, length and capacity): converting a slice to
// an interface allocates its header, 24 bytes per batch, which for a source or a step
// that reuses its buffer would be the only allocation on its path. Batches are borrowed,
// so handing on the same interface again is handing on the same slice again.
type boxed[T any] struct {
	s []T
	v any
}

// of returns s as an interface, nil when s is empty.
func (b *boxed[T]) of(s []T) any {
	if len(s) == 0 {
		return nil
	}
	if b.v == nil || len(s) != len(b.s) || cap(s) != cap(b.s) || &s[0] != &b.s[0] {
		b.s, b.v = s, s
	}
	return b.v
}

func (p *sourcePart[T]) NextAwake() time.Time {
	if p.awaker == nil {
		return time.Time{}
	}
	return p.awaker.NextAwake()
}

func (p *sourcePart[T]) Lag() (int64, bool) {
	if p.lagger == nil {
		return 0, false
	}
	return p.lagger.Lag()
}

func (p *sourcePart[T]) Size() (int64, bool) {
	if p.sizer == nil {
		return 0, false
	}
	return p.sizer.Size()
}

func (p *sourcePart[T]) Snapshot() []byte { return p.part.Snapshot() }
func (p *sourcePart[T]) Close() error     { return p.part.Close() }

// Output writes a stream to a sink. Into a partitioned sink, the items of a keyed stream
// (of weir.KV) go to the partition of their key; the items of any other stream all go to
// one partition, the partition of the empty key, in order: key the stream (op.KeyOn) to
// spread it over the files of a directory sink.
func Output[T any](id string, up weir.Stream[T], s sink.Sink[T]) {
	ops := batch.NewOps[T]()
	spec := &graph.OutputSpec{
		Build: func(ctx context.Context, p graph.PartInfo, resume []byte) (graph.SinkPart, error) {
			part, err := s.Build(ctx, sink.Part(p), resume)
			if err != nil {
				return nil, err
			}
			if c, ok := part.(sink.Committer); ok {
				return committingSinkPart[T]{sinkPart[T]{part}, c}, nil
			}
			return sinkPart[T]{part}, nil
		},
	}
	if lister, ok := s.(sink.Partitioned); ok {
		spec.Partitions = lister.Partitions
	}
	graph.Declare(id, up).Add(graph.Output, 0, ops, spec)
}

type sinkPart[T any] struct{ part sink.Partition[T] }

func (p sinkPart[T]) Write(batch any) error { return p.part.Write(batch.([]T)) }
func (p sinkPart[T]) Snapshot() []byte      { return p.part.Snapshot() }
func (p sinkPart[T]) Close() error          { return p.part.Close() }

// committingSinkPart is the part of a sink that commits in two phases: only this type
// has Commit, so that the engine finds graph.SinkCommitter on these parts alone.
type committingSinkPart[T any] struct {
	sinkPart[T]
	c sink.Committer
}

func (p committingSinkPart[T]) Prepare(epoch uint64) ([]byte, error) { return p.c.Prepare(epoch) }
func (p committingSinkPart[T]) Commit(epoch uint64) error            { return p.c.Commit(epoch) }

func (p sinkPart[T]) Flush() error {
	if f, ok := p.part.(sink.Flusher); ok {
		return f.Flush()
	}
	return nil
}

// FlatMapBatch runs fn on each batch of items the worker holds and emits what it returns.
// No data moves between workers. The batch fn gets is only borrowed for the call.
func FlatMapBatch[X, Y any](id string, up weir.Stream[X], fn func(items []X) []Y) weir.Stream[Y] {
	return flatMapBatch(id, up, func() func([]X) []Y { return fn })
}

// appending is flatMapBatch ("flat_map_batch") with one output buffer per worker, reused
// batch after batch: fill appends a batch's results to b, empty with the capacity of the
// largest batch so far, and returns it. A loop inside fill keeps b in a local, where a
// buffer captured by a closure would be reloaded after every call of the user's function.
func appending[X, Y any](in weir.Stream[X], fill func(b []Y, xs []X) []Y) weir.Stream[Y] {
	return flatMapBatch("flat_map_batch", in, func() func([]X) []Y {
		var buf []Y
		return func(xs []X) []Y {
			buf = fill(buf[:0], xs)
			return buf
		}
	})
}

// flatMapBatch is FlatMapBatch with a function made once per worker, so that it may keep
// per-worker scratch space (an output buffer, a cache).
func flatMapBatch[X, Y any](id string, up weir.Stream[X], perWorker func() func([]X) []Y) weir.Stream[Y] {
	spec := &graph.FlatMapSpec{New: func() func(any) any {
		fn := perWorker()
		var out boxed[Y]
		return func(b any) any { return out.of(fn(b.([]X))) }
	}}
	st := graph.Declare(id, up)
	return graph.Out[weir.Stream[Y]](st, st.Add(graph.FlatMapBatch, 1, batch.NewOps[X](), spec), 0)
}

// Branch splits a stream in two: items for which pred is true, and the others.
func Branch[X any](id string, up weir.Stream[X], pred func(X) bool) (trues, falses weir.Stream[X]) {
	spec := &graph.BranchSpec{Split: func(b any) (any, any) {
		var yes, no []X
		for _, x := range b.([]X) {
			if pred(x) {
				yes = append(yes, x)
			} else {
				no = append(no, x)
			}
		}
		return nilIfEmpty(yes), nilIfEmpty(no)
	}}
	st := graph.Declare(id, up)
	n := st.Add(graph.Branch, 2, batch.NewOps[X](), spec)
	return graph.Out[weir.Stream[X]](st, n, 0), graph.Out[weir.Stream[X]](st, n, 1)
}

func nilIfEmpty[X any](b []X) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// Merge combines several streams of the same type into one.
func Merge[X any](id string, ups ...weir.Stream[X]) weir.Stream[X] {
	in := make([]any, len(ups))
	for i, u := range ups {
		in[i] = u
	}
	st := graph.Declare(id, in...)
	return graph.Out[weir.Stream[X]](st, st.Add(graph.Merge, 1, batch.NewOps[X](), nil), 0)
}

// Redistribute spreads items evenly (round robin) over all workers.
func Redistribute[X any](id string, up weir.Stream[X]) weir.Stream[X] {
	st := graph.Declare(id, up)
	return graph.Out[weir.Stream[X]](st, st.Add(graph.Redistribute, 1, batch.NewOps[X](), nil), 0)
}

// InspectDebug calls fn with each item, the full step id, the item's epoch and the worker
// index, and passes the items on unchanged.
func InspectDebug[X any](id string, up weir.Stream[X], fn func(step string, item X, epoch uint64, worker int)) weir.Stream[X] {
	spec := &graph.InspectSpec{Fn: func(step string, b any, epoch uint64, worker int) {
		for _, x := range b.([]X) {
			fn(step, x, epoch, worker)
		}
	}}
	st := graph.Declare(id, up)
	return graph.Out[weir.Stream[X]](st, st.Add(graph.Inspect, 1, batch.NewOps[X](), spec), 0)
}

// Logic is the per-key logic of a stateful step.
//
// In one activation of the step: OnBatch runs once per key with the key's items in arrival
// order, keys in byte-wise sorted order; then OnNotify for each key whose NotifyAt time has
// passed; then, at the end of the stream, OnEOF for every live key. NotifyAt is asked again
// only of keys touched in the activation, and a notification fires once. Returning
// discard drops the key's logic and state: the next item for the key starts fresh.
// Emitted values are keyed with the key. Snapshot returns the state to resume from; it is
// called at each epoch close for keys touched in the epoch.
//
// The values slice passed to OnBatch is only borrowed for the call: copy what you keep.
// The emitted slice is copied before the next call, so a logic may reuse one buffer.
//
// Three optional methods: SetNow(time.Time), if a logic has it, is called before each
// OnBatch, OnNotify and OnEOF with the system time of the activation (one time for all its
// keys); Timeless(), on a logic whose NotifyAt never asks for a notification, saves the
// runtime from asking; KeepsStateAtEOF() bool, asked right after an OnEOF that did not
// discard, returns true when that OnEOF left what Snapshot returns as it was: with
// recovery, the final snapshot at the end of the stream then skips the key unless it
// changed earlier in the epoch, rather than writing every key's unchanged state again.
// Without it, every key OnEOF runs for is snapshotted once more.
type Logic[V, W, S any] = keyed.Logic[V, W, S]

// StatefulBatch runs per-key logic with state, timers and end-of-stream handling. Items are
// routed to the worker that owns their key. builder makes the logic of a key from its
// resume state; ok is false for a key that has none.
func StatefulBatch[V, W, S any](id string, up weir.KeyedStream[V], builder func(resume S, ok bool) Logic[V, W, S]) weir.KeyedStream[W] {
	return keyed.Add(id, up, func() func(S, bool) Logic[V, W, S] { return builder })
}
