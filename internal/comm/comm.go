// Package comm carries batches and progress between workers: the Mesh interface, and its
// in-process implementation, where a batch is handed over as is (no copy, no encoding).
// A TCP implementation between processes plugs into the same interface, so nothing above
// it may assume that workers share memory.
package comm

import (
	"sync"
	"sync/atomic"
)

// Message is what one worker sends another on an exchange edge: a batch of one epoch, or
// a progress marker saying the sender will send nothing more below Frontier on the edge.
type Message struct {
	Edge     int
	From     int
	Epoch    uint64
	Batch    any // a []T; nil for a progress marker
	Bytes    int // memory Batch holds (graph.BatchOps.Bytes), for backpressure
	Frontier uint64
}

// Mesh connects every worker with every other.
//
// Backpressure: a worker's load is the bytes queued for it, plus those it has received and
// not yet finished with (Done), plus those it holds parked for a later epoch (Report).
// Each worker advertises the load above which senders should pause (Report's limit, at
// most the mesh's limit); Congested tells a sender whether any worker is above its own.
type Mesh interface {
	// Send queues m for worker to. It never blocks: senders pace themselves with Congested.
	Send(to int, m Message)
	// Receive appends every message queued for worker w to buf, in the order each sender
	// sent them, and returns it. Their bytes count toward w's load until w calls Done.
	Receive(w int, buf []Message) []Message
	// Done tells that w has finished with n bytes of the messages it received.
	Done(w, n int)
	// Report sets the bytes w holds outside its queue (batches parked for a later epoch),
	// which count toward its load like queued bytes, and the load above which w makes
	// senders congested (capped at the mesh's limit).
	Report(w, held, limit int)
	// Wake returns a channel that receives when w has messages, or when another worker's
	// held bytes make it congested, or its load has fallen below its limit.
	Wake(w int) <-chan struct{}
	// Congested reports whether any worker's load is above its limit, so that w should
	// stop reading its sources (but keep draining its own queue).
	Congested(w int) bool
}

// Local is the in-process Mesh.
type Local struct {
	limit int
	boxes []*box
}

type box struct {
	mu   sync.Mutex
	msgs []Message
	wake chan struct{}

	queued atomic.Int64 // bytes sent and not done
	held   atomic.Int64 // as last reported
	limit  atomic.Int64
}

func (b *box) load() int64 { return b.queued.Load() + b.held.Load() }

// NewLocal returns a mesh of n workers in this process, where a worker whose load is
// above limit (or the lower limit it reports) makes every sender congested.
func NewLocal(n, limit int) *Local {
	l := &Local{limit: limit, boxes: make([]*box, n)}
	for i := range l.boxes {
		b := &box{wake: make(chan struct{}, 1)}
		b.limit.Store(int64(limit))
		l.boxes[i] = b
	}
	return l
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

func (l *Local) Send(to int, m Message) {
	b := l.boxes[to]
	b.mu.Lock()
	b.msgs = append(b.msgs, m)
	b.mu.Unlock()
	b.queued.Add(int64(m.Bytes))
	signal(b.wake)
}

func (l *Local) Receive(w int, buf []Message) []Message {
	b := l.boxes[w]
	b.mu.Lock()
	buf = append(buf, b.msgs...)
	clear(b.msgs)
	b.msgs = b.msgs[:0]
	b.mu.Unlock()
	return buf
}

func (l *Local) Done(w, n int) {
	if n == 0 {
		return
	}
	b := l.boxes[w]
	after := b.queued.Add(-int64(n)) + b.held.Load()
	if lim := b.limit.Load(); after+int64(n) > lim && after <= lim {
		l.unpause(w)
	}
}

func (l *Local) Report(w, held, limit int) {
	b := l.boxes[w]
	lim := int64(min(limit, l.limit))
	was := b.load() > b.limit.Load()
	b.held.Store(int64(held))
	b.limit.Store(lim)
	if was != (b.load() > lim) {
		l.unpause(w)
	}
}

// unpause wakes every other worker: the senders paused on w's load when it falls below
// its limit (they wait on their own wake channels), and every worker when w's held bytes
// congest it, so that a worker behind may move on what w waits for.
func (l *Local) unpause(w int) {
	for i, o := range l.boxes {
		if i != w {
			signal(o.wake)
		}
	}
}

// Queued returns the bytes sent to w that it is not done with.
func (l *Local) Queued(w int) int { return int(l.boxes[w].queued.Load()) }

func (l *Local) Wake(w int) <-chan struct{} { return l.boxes[w].wake }

func (l *Local) Congested(int) bool {
	for _, b := range l.boxes {
		if b.load() > b.limit.Load() {
			return true
		}
	}
	return false
}
