package engine

import (
	"context"
	"errors"
	"time"

	"github.com/weirflow/weir/internal/state"
)

// The run's and the committer's side of Stats (stats.go).

// sizeOf returns the rows of a write and the bytes of their keys and states.
func sizeOf(batch []state.Epoch) (rows, bytes int) {
	for _, e := range batch {
		for _, s := range e.Snaps {
			rows += len(s.Changes)
			for _, ch := range s.Changes {
				bytes += len(ch.Key) + len(ch.State)
			}
		}
	}
	return rows, bytes
}

// observe records a write to the store that took took: in the worker's commit figures
// and, when a Stats reads them, in its history of writes.
func (c *committer) observe(batch []state.Epoch, took time.Duration) {
	c.obs.commit.observe(took)
	c.obs.commits.Add(1)
	if c.shown == nil {
		return // nobody reads the bytes: not worth a pass over the rows
	}
	rows, bytes := sizeOf(batch)
	c.obs.commitBytes.Add(int64(bytes))
	c.shown.o.commit(CommitRecord{Worker: c.worker, Epoch: batch[len(batch)-1].Epoch, Epochs: len(batch),
		Rows: rows, Bytes: int64(bytes), Duration: took, At: time.Now()})
}

// endStats records in the Stats that ctx carries, if it reads run r, that the run ended
// with err: the run's error, also among its errors unless a worker recorded it already
// or ctx ended the run (an interruption is no error of the flow).
func endStats(ctx context.Context, r *runState, err error) {
	s, _ := ctx.Value(statsKey{}).(*Stats)
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.r != r {
		return
	}
	s.ended = time.Now()
	if err == nil {
		return
	}
	s.err = err.Error()
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return
	}
	s.o.mu.Lock()
	known := false
	for _, e := range s.o.errs {
		known = known || e.Error == s.err
	}
	s.o.mu.Unlock()
	if !known {
		s.o.failed(err)
	}
}

// Size passes on the size on disk of this process's share of the recovery store, when the
// store can tell.
func (s *clusterStore) Size() (int64, bool) {
	if sz, ok := s.Store.(storeSizer); ok {
		return sz.Size()
	}
	return 0, false
}
