package engine

import "sync"

// spares holds, for one exchange edge, batches that receivers are done with, for senders
// to fill again: in one process this saves allocating (and collecting) a batch per
// message. A sync.Pool alone lost about one batch in five at two workers (its per-P
// caches miss when the receiver puts on one P and the sender gets on another, and every
// collection empties it), and each miss is a new batch, which brings the next collection
// closer: so the batches that circulate in steady state are kept in a small list that
// collections leave alone, and only a burst beyond it goes to the pool.
type spares struct {
	mu    sync.Mutex
	free  []any
	limit int // of free; a few per worker
	pool  sync.Pool
}

// newSpares returns the spares of one edge in a run of n workers.
func newSpares(n int) *spares { return &spares{limit: max(8, 4*n)} }

// get returns a batch nobody uses any more, or nil.
func (s *spares) get() any {
	s.mu.Lock()
	if k := len(s.free); k > 0 {
		b := s.free[k-1]
		s.free[k-1] = nil
		s.free = s.free[:k-1]
		s.mu.Unlock()
		return b
	}
	s.mu.Unlock()
	return s.pool.Get()
}

// put gives back a batch its holder is done with.
func (s *spares) put(b any) {
	s.mu.Lock()
	if len(s.free) < s.limit {
		s.free = append(s.free, b)
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	s.pool.Put(b)
}
