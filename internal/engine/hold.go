package engine

import "github.com/weirflow/weir/internal/graph"

// holding is a FlatMapBatch step whose function may keep items back across the batches
// of an epoch (graph.Holder): a combiner before an exchange, which sends one partial
// result per key and epoch instead of every item. It holds items of one epoch at a time,
// the epoch of the batches it was last given, and flushes them into that epoch before a
// batch of another epoch and before its frontier passes the epoch. A flush at the frontier
// runs in advance, before the frontier moves and before the worker sends the step's new
// frontier to the other workers: what it emits reaches the consumers as data of an epoch
// they have not closed, on exchange edges ahead of the marker that closes it. Nothing it
// holds outlives its epoch, so it snapshots nothing.
type holding struct {
	step
	h     graph.Holder
	epoch uint64 // the epoch of what h holds, when holds
	holds bool   // h was given a batch since its last flush
}

func (s *holding) deliver(epoch uint64, batch any) {
	if s.holds && epoch != s.epoch {
		s.flush()
	}
	s.w.cur = s.ID
	start := s.w.timer(s.Index)
	out := s.h.Batch(batch)
	s.w.spent(s.Index, start)
	s.epoch, s.holds = epoch, true
	if out != nil {
		s.w.push(s.Node, 0, epoch, out)
	}
}

func (s *holding) advance(from, to uint64) error {
	if s.holds && s.epoch < to {
		s.flush()
	}
	return nil
}

// flush emits what h holds into its epoch.
func (s *holding) flush() {
	s.holds = false
	s.w.cur = s.ID
	start := s.w.timer(s.Index)
	out := s.h.Flush()
	s.w.spent(s.Index, start)
	if out != nil {
		s.w.push(s.Node, 0, s.epoch, out)
	}
}
