package engine

import (
	"fmt"

	"github.com/weirflow/weir/internal/graph"
	"github.com/weirflow/weir/internal/state"
)

// output writes to this worker's partitions of a sink: those it owns of a partitioned
// sink, or its one instance of a dynamic one. A partitioned sink snapshots its positions
// per epoch, so it holds data of later epochs back until it has closed the earlier ones.
type output struct {
	step
	spec  *graph.OutputSpec
	shard *shard      // nil for a dynamic sink
	sinks []*sinkPart // by partition index (nil where not owned), or the one dynamic part
	split graph.Splitter
	route graph.Route // a key's partition index
	held  pending
}

type sinkPart struct {
	name     string
	part     graph.SinkPart
	twoPhase graph.SinkCommitter // in a run with a store: prepared here, committed and closed by the run (twophase.go)
}

func newOutput(s step, spec *graph.OutputSpec, sh *shard) *output {
	o := &output{step: s, spec: spec, shard: sh, held: newPending(s.Batch, &s.w.load)}
	if sh != nil {
		o.route = graph.Route{Mod: uint64(len(sh.parts))}
		o.split = s.Batch.NewSplitter(len(sh.parts), 0)
	}
	return o
}

func (o *output) open() error {
	w := o.w
	if o.shard == nil {
		p, err := o.spec.Build(w.ctx, o.partInfo(""), nil)
		if err != nil {
			return o.partErr("", fmt.Errorf("building sink: %w", err))
		}
		o.sinks = []*sinkPart{{part: p}}
		return nil
	}
	o.sinks = make([]*sinkPart, len(o.shard.parts))
	for i, name := range o.shard.parts {
		if o.shard.owner[i] != w.id {
			continue
		}
		p, err := o.spec.Build(w.ctx, o.partInfo(name), w.r.positions[w.id][o.Index][name])
		if err != nil {
			return o.partErr(name, fmt.Errorf("building partition: %w", err))
		}
		s := &sinkPart{name: name, part: p}
		if c, ok := p.(graph.SinkCommitter); ok && w.r.cfg.Store != nil {
			s.twoPhase = c
			w.r.twoPhase.add(o, s)
		}
		o.sinks[i] = s
	}
	return nil
}

func (o *output) deliver(epoch uint64, batch any) {
	if o.shard != nil && epoch > o.w.prog.frontier(o.Index) {
		o.held.park(epoch, batch)
		return
	}
	if err := o.write(batch); err != nil {
		panic(graph.StepPanic{Err: err})
	}
}

// write writes a batch to this worker's partitions.
func (o *output) write(batch any) error {
	w := o.w
	w.cur = o.ID
	defer w.spent(o.Index, w.timer(o.Index))
	w.wroteOut += int64(o.Batch.Len(batch))
	if o.shard == nil {
		if err := o.sinks[0].part.Write(batch); err != nil {
			return o.partErr("", err)
		}
		return nil
	}
	o.split.ByKey(batch, o.route)
	for i, s := range o.sinks {
		b := o.split.Peek(i)
		if b == nil {
			continue
		}
		if s == nil {
			panic(fmt.Sprintf("weir: internal error: step %s got items of partition %q it does not own", o.ID, o.shard.parts[i]))
		}
		err := s.part.Write(b)
		o.split.Reset(i)
		if err != nil {
			return o.partErr(s.name, err)
		}
	}
	return nil
}

func (o *output) advance(from, to uint64) error { return o.held.close(o, from, to) }

func (o *output) apply(_ uint64, batch any) error { return o.write(batch) }

// closeEpoch ends epoch e at this worker's partitions: with a store, a partitioned sink's
// positions are snapshotted (which makes its writes durable); otherwise each partition
// flushes, so that output appears as epochs close and not only at the end.
func (o *output) closeEpoch(e uint64, _ bool) error {
	w := o.w
	if w.r.cfg.Store != nil && o.shard != nil {
		defer w.snapDone(w.snapTimer())
		span := w.spans.snapshot(o.ID, e)
		var cs []state.Change
		for _, s := range o.sinks {
			if s == nil {
				continue
			}
			w.cur = o.ID
			var pos []byte
			if s.twoPhase != nil {
				var err error
				if pos, err = s.twoPhase.Prepare(e); err != nil {
					err = o.partErr(s.name, fmt.Errorf("preparing epoch %d: %w", e, err))
					endSnapshot(span, len(cs), err)
					return err
				}
			} else {
				pos = s.part.Snapshot()
			}
			cs = append(cs, state.Change{Key: s.name, State: pos})
		}
		w.record(o.ID, e, cs, nil)
		endSnapshot(span, len(cs), nil)
		return nil
	}
	defer w.spent(o.Index, w.timer(o.Index)) // a flush is the connector's writing
	for _, s := range o.sinks {
		if s == nil {
			continue
		}
		w.cur = o.ID
		if err := s.part.Flush(); err != nil {
			return o.partErr(s.name, fmt.Errorf("flushing: %w", err))
		}
	}
	return nil
}

// close closes every partition but those of a two-phase sink, and returns the first
// error.
func (o *output) close() error {
	var first error
	for _, s := range o.sinks {
		if s == nil || s.twoPhase != nil {
			continue
		}
		if err := s.part.Close(); err != nil && first == nil {
			first = o.partErr(s.name, fmt.Errorf("closing: %w", err))
		}
	}
	return first
}
