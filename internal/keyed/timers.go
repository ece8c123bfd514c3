package keyed

import "math/bits"

// timerQueue holds the notification times of a runtime's keys and hands out the keys that
// are due. Its members are timerSlots that the owners (the runtime's entries) hold, each
// pointing back to its owner, so that the queue costs no interface or function call per
// key.
//
// Rules: a slot is armed at one time (its want) or not at all; arming it again replaces
// the time, disarming withdraws it, and due hands each slot whose want has passed out
// once, disarmed. next is the earliest want of all.
//
// How: a min-heap of slots on the time filed for each (each slot knows its place). A
// slot's want may differ from the time filed: a later want is filed again when its slot
// reaches the top, and an earlier want (or a new slot) waits in the early list, with
// earlyMin their smallest want, until the list is filed all at once: when it is due or
// long. Logics that move their deadline on every activation (an event clock's windows
// move theirs earlier with every event) then cost a flag and an append, not a sift through
// the heap.
//
// Costs: arm and disarm O(1) but for disarming a filed slot, O(log n) for n filed; filing
// the early list of m slots O(m log n) when m log n < n, else a rebuild of the heap, O(n);
// due O(log n) per slot handed out or postponed; next O(1) but for the postponed slots it
// files again, a rebuild of the heap when they are many.
type timerQueue[E any] struct {
	heap       []timer[E]
	early      []*timerSlot[E]
	earlyMin   int64
	earlyStale bool // the slot whose want was earlyMin has withdrawn or postponed it
	armed      int  // slots armed: in the heap or the early list (monitoring reads it)
}

// timerSlot is what the timer queue holds of one key, kept in the key's owner.
type timerSlot[E any] struct {
	want  int64 // the notification time asked for (Unix ns)
	hpos  int32 // 1 + index in the heap, 0 when not in it (int32: an entry a size class smaller, and no worker holds 2^31 keys)
	early bool  // in the early list: want is not yet filed in the heap
	owner *E
}

// timer is a slot of the heap: the time is kept beside the slot so that sifting compares
// without loading slots.
type timer[E any] struct {
	at int64
	s  *timerSlot[E]
}

// arm sets s's notification time. A later time than the one filed leaves the heap alone
// (the slot is filed again when it reaches the top); an earlier one, or a first one, goes
// to the early list.
//
// A listed slot keeps earlyMin no later than its want whatever its want is, even when
// the time filed for it would account for it: earlyMin must stay the want of a listed
// slot (or be flagged stale), or next would report a time no key asks for.
func (q *timerQueue[E]) arm(s *timerSlot[E], want int64) {
	if s.early {
		if want < q.earlyMin {
			q.earlyMin = want
		} else if want > s.want && s.want == q.earlyMin {
			q.earlyStale = true
		}
		s.want = want
		return
	}
	if s.hpos == 0 {
		q.armed++
	}
	s.want = want
	if s.hpos > 0 && want >= q.heap[s.hpos-1].at {
		return
	}
	if len(q.early) == 0 || want < q.earlyMin {
		q.earlyMin = want
	}
	s.early = true
	q.early = append(q.early, s)
	// The list holds each slot once, but a slot disarmed and armed again is listed
	// anew: file the list before it outgrows the keys.
	if len(q.early) > 64+2*len(q.heap) {
		q.fileEarly(false)
	}
}

// disarm withdraws s's notification: out of the heap, and out of the early list (lazily).
func (q *timerQueue[E]) disarm(s *timerSlot[E]) {
	if s.early || s.hpos > 0 {
		q.armed--
	}
	if s.early && s.want == q.earlyMin {
		q.earlyStale = true
	}
	s.early = false
	if s.hpos == 0 {
		return
	}
	i, last := int(s.hpos-1), len(q.heap)-1
	if i != last {
		q.swap(i, last)
	}
	q.heap[last] = timer[E]{}
	q.heap = q.heap[:last]
	s.hpos = 0
	if i != last {
		q.fix(i)
	}
}

// due appends to into the owners of the slots whose want is at or before now, disarmed,
// in no particular order.
func (q *timerQueue[E]) due(now int64, into []*E) []*E {
	if q.refreshEarly(); len(q.early) > 0 && q.earlyMin <= now {
		q.fileEarly(false)
	}
	for len(q.heap) > 0 && q.heap[0].at <= now {
		s := q.heap[0].s
		if s.want > now { // postponed since it was filed: file it again
			q.heap[0].at = s.want
			q.down(0)
			continue
		}
		q.disarm(s)
		into = append(into, s.owner)
	}
	return into
}

// next returns the earliest want, filed or waiting in the early list.
func (q *timerQueue[E]) next() (int64, bool) {
	q.refreshEarly()
	// Postponed slots on top are filed again at their wants; when many are, as when
	// every key moved on to a later window, the heap is rebuilt instead.
	for refiled := 0; len(q.heap) > 0 && q.heap[0].at < q.heap[0].s.want; refiled++ {
		if refiled > bits.Len(uint(len(q.heap))) {
			q.fileEarly(true)
			break
		}
		q.heap[0].at = q.heap[0].s.want
		q.down(0)
	}
	switch {
	case len(q.early) > 0 && (len(q.heap) == 0 || q.earlyMin < q.heap[0].at):
		return q.earlyMin, true
	case len(q.heap) == 0:
		return 0, false
	}
	return q.heap[0].at, true
}

// fileEarly files the wants of the early list into the heap: one by one when they are
// few, else all at once and the heap rebuilt, which costs about a pass over it. With all,
// every slot of the heap is filed again at its want too.
func (q *timerQueue[E]) fileEarly(all bool) {
	if all {
		for i := range q.heap {
			q.heap[i].at = q.heap[i].s.want
		}
	}
	few := !all && len(q.early)*bits.Len(uint(len(q.heap))) < len(q.heap)
	for _, s := range q.early {
		if !s.early { // disarmed since it was listed
			continue
		}
		s.early = false
		if s.hpos == 0 {
			q.heap = append(q.heap, timer[E]{at: s.want, s: s})
			s.hpos = int32(len(q.heap))
		} else {
			q.heap[s.hpos-1].at = s.want
		}
		if few {
			q.fix(int(s.hpos - 1))
		}
	}
	clear(q.early)
	q.early, q.earlyStale = q.early[:0], false
	if !few {
		for i := len(q.heap)/2 - 1; i >= 0; i-- {
			q.down(i)
		}
	}
}

// refreshEarly recomputes earlyMin when it is stale, dropping the slots disarmed since
// they were listed.
func (q *timerQueue[E]) refreshEarly() {
	if !q.earlyStale {
		return
	}
	q.earlyStale = false
	live := q.early[:0]
	for _, s := range q.early {
		if s.early {
			if len(live) == 0 || s.want < q.earlyMin {
				q.earlyMin = s.want
			}
			live = append(live, s)
		}
	}
	clear(q.early[len(live):])
	q.early = live
}

func (q *timerQueue[E]) swap(i, j int) {
	h := q.heap
	h[i], h[j] = h[j], h[i]
	h[i].s.hpos, h[j].s.hpos = int32(i+1), int32(j+1)
}

func (q *timerQueue[E]) fix(i int) {
	if !q.down(i) {
		q.up(i)
	}
}

func (q *timerQueue[E]) up(i int) {
	h := q.heap
	for i > 0 {
		p := (i - 1) / 2
		if h[p].at <= h[i].at {
			return
		}
		q.swap(i, p)
		i = p
	}
}

// down sifts i toward the leaves and reports whether it moved.
func (q *timerQueue[E]) down(i int) bool {
	h := q.heap
	start, n := i, len(h)
	for {
		c := 2*i + 1
		if c >= n {
			break
		}
		if r := c + 1; r < n && h[r].at < h[c].at {
			c = r
		}
		if h[i].at <= h[c].at {
			break
		}
		q.swap(i, c)
		i = c
	}
	return i > start
}
