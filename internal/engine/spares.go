package engine

import "sync"

// spares holds, for one exchange edge, batches that receivers are done with, for senders
// to fill again: in one process this saves allocating (and collecting) a batch per
// message. A sync.Pool alone lost about one batch in five at two workers (its per-P
// caches miss when the receiver puts on one P and the sender gets on another, and every
// collection empties it), and each miss is a new batch, which brings the next collection
// closer: so the batches that circulate are kept in a list that collections leave alone,
// up to spareBytes of them, and only a burst beyond it goes to the pool.
type spares struct {
	mu    sync.Mutex
	free  []spare
	bytes int // of the batches in free
	pool  sync.Pool
}

type spare struct {
	batch any
	bytes int
}

// spareBytes bounds the memory of an edge's list of spares: enough for the batches a
// receiver that fell behind by some milliseconds hands back at once (a thousand items of
// 24 bytes are 24 KiB), little beside the in-flight limit.
const spareBytes = 4 << 20

// maxSpares bounds their number, whatever their sizes say.
const maxSpares = 1024

// get returns a batch nobody uses any more, or nil.
func (s *spares) get() any {
	s.mu.Lock()
	if k := len(s.free); k > 0 {
		b := s.free[k-1]
		s.free[k-1] = spare{}
		s.free = s.free[:k-1]
		s.bytes -= b.bytes
		s.mu.Unlock()
		return b.batch
	}
	s.mu.Unlock()
	return s.pool.Get()
}

// put gives back a batch its holder is done with, which holds about bytes of memory.
func (s *spares) put(b any, bytes int) {
	s.mu.Lock()
	if s.bytes+bytes <= spareBytes && len(s.free) < maxSpares {
		s.free = append(s.free, spare{b, bytes})
		s.bytes += bytes
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	s.pool.Put(b)
}
