package engine

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/weirflow/weir/internal/graph"
	"github.com/weirflow/weir/internal/state"
)

// input reads this worker's partitions of a source: its share of a partitioned source, or
// its one instance ("") of a dynamic one.
type input struct {
	step
	spec  *graph.InputSpec
	shard *shard // nil for a dynamic source
	parts []*sourcePart
	live  int // parts not yet ended
}

type sourcePart struct {
	name        string
	part        graph.SourcePart
	wake        time.Time
	done        bool
	final       []byte      // snapshot taken when the partition ended
	next, close *sourceCall // its calls, for the watchdog (stuck.go)
}

func (in *input) open() error {
	w := in.w
	cw := &w.r.stats[w.id].call
	for _, name := range in.owned() {
		cw.enter(&sourceCall{step: in.ID, partition: name, call: "Build"}, time.Now())
		p, err := in.spec.Build(w.ctx, in.partInfo(name), w.r.positions[w.id][in.Index][name])
		cw.leave()
		if err != nil {
			return in.partErr(name, fmt.Errorf("building partition: %w", err))
		}
		in.parts = append(in.parts, &sourcePart{name: name, part: p,
			next:  &sourceCall{step: in.ID, partition: name, call: "Next"},
			close: &sourceCall{step: in.ID, partition: name, call: "Close"}})
		if l, ok := p.(lagging); ok {
			var size func() (int64, bool)
			if s, ok := p.(sizing); ok {
				size = s.Size
			}
			w.obs.addLag(in.Index, name, l.Lag, size)
		}
	}
	in.live = len(in.parts)
	if in.live == 0 {
		w.prog.end(in.Index) // a partitioned source with no partition on this worker
	}
	return nil
}

// owned lists the partitions this worker reads.
func (in *input) owned() []string {
	if in.shard == nil {
		return []string{""}
	}
	var names []string
	for i, name := range in.shard.parts {
		if in.shard.owner[i] == in.w.id {
			names = append(names, name)
		}
	}
	return names
}

func (in *input) poll() (read bool, err error) {
	w := in.w
	if w.prog.frontier(in.Index) == never {
		return false, nil
	}
	cw := &w.r.stats[w.id].call
	for _, p := range in.parts {
		if p.done || p.wake.After(w.now) {
			continue
		}
		w.cur = in.ID
		start := w.timer(in.Index)
		cw.enter(p.next, w.now)
		batch, err := p.part.Next(w.ctx)
		cw.leave()
		w.spent(in.Index, start)
		if batch != nil {
			read = true
			epoch := w.prog.epoch()
			items := in.Batch.Len(batch)
			w.readIn += int64(items) // for the run's summary
			w.obs.steps[in.Index].batch(items)
			if st := &w.r.stats[w.id]; st.epoch.Load() != epoch { // a load is cheaper than a store, and epochs last many batches
				st.epoch.Store(epoch)
			}
			w.push(in.Node, 0, epoch, batch)
		}
		switch {
		case err == nil:
			p.wake = p.part.NextAwake()
			if p.wake.IsZero() && batch == nil {
				p.wake = w.now.Add(time.Millisecond)
			}
		case errors.Is(err, io.EOF):
			p.done = true
			if w.r.cfg.Store != nil {
				p.final = p.part.Snapshot()
			}
			cw.enter(p.close, time.Now())
			err := p.part.Close()
			cw.leave()
			if err != nil {
				return read, in.partErr(p.name, fmt.Errorf("closing: %w", err))
			}
			if in.live--; in.live == 0 {
				w.prog.end(in.Index)
			}
		case errors.Is(err, graph.ErrAbort):
			w.r.abort()
			return read, nil
		default:
			if w.ctx.Err() != nil {
				return read, nil
			}
			return read, in.partErr(p.name, err)
		}
	}
	return read, nil
}

func (in *input) wake() (at time.Time, ok bool) {
	for _, p := range in.parts {
		if !p.done && (!ok || p.wake.Before(at)) {
			at, ok = p.wake, true
		}
	}
	return at, ok
}

// deliver is never called: a source has no inputs.
func (in *input) deliver(uint64, any) {
	panic(fmt.Sprintf("weir: internal error: source %s got a batch", in.ID))
}

// advance records the positions of a partitioned source's partitions as the end of epoch
// from: the source read nothing since, and reads nothing in the epochs a worker's clock
// skips when it catches up with the others.
func (in *input) advance(from, _ uint64) error {
	w := in.w
	if w.r.cfg.Store == nil || in.shard == nil {
		return nil
	}
	start, span := w.snapTimer(), w.spans.snapshot(in.ID, from)
	defer w.snapDone(start)
	var cs []state.Change
	for _, p := range in.parts {
		s := p.final
		if !p.done {
			s = p.part.Snapshot()
		}
		cs = append(cs, state.Change{Key: p.name, State: s})
	}
	w.record(in.ID, from, cs, nil)
	endSnapshot(span, len(cs), nil)
	return nil
}

func (in *input) close() error {
	cw := &in.w.r.stats[in.w.id].call
	for _, p := range in.parts {
		if !p.done {
			cw.enter(p.close, time.Now())
			p.part.Close()
			cw.leave()
		}
	}
	return nil
}
