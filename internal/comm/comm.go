// Package comm carries batches and progress between workers: the Mesh interface, and its
// in-process implementation, where a batch is handed over as is (no copy, no encoding).
// A TCP implementation between processes plugs into the same interface, so nothing above
// it may assume that workers share memory.
package comm

import "sync"

// Message is what one worker sends another on an exchange edge: a batch of one epoch, or
// a progress marker saying the sender will send nothing more below Frontier on the edge.
type Message struct {
	Edge     int
	From     int
	Epoch    uint64
	Batch    any // a []T; nil for a progress marker
	Bytes    int // estimated size of Batch, for backpressure
	Frontier uint64
}

// Mesh connects every worker with every other.
type Mesh interface {
	// Send queues m for worker to. It never blocks: senders pace themselves with Congested.
	Send(to int, m Message)
	// Receive appends every message queued for worker w to buf, in the order each sender
	// sent them, and returns it.
	Receive(w int, buf []Message) []Message
	// Wake returns a channel that receives when w has messages, or when a congested
	// worker's queue has drained.
	Wake(w int) <-chan struct{}
	// Congested reports whether any worker holds more queued bytes than the limit, so that
	// w should stop reading its sources (but keep draining its own queue).
	Congested(w int) bool
}

// Local is the in-process Mesh.
type Local struct {
	limit int
	boxes []*box
}

type box struct {
	mu    sync.Mutex
	msgs  []Message
	bytes int
	wake  chan struct{}
}

// NewLocal returns a mesh of n workers in this process, where a worker whose queue holds
// more than limit bytes makes every sender congested.
func NewLocal(n, limit int) *Local {
	l := &Local{limit: limit, boxes: make([]*box, n)}
	for i := range l.boxes {
		l.boxes[i] = &box{wake: make(chan struct{}, 1)}
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
	b.bytes += m.Bytes
	b.mu.Unlock()
	signal(b.wake)
}

func (l *Local) Receive(w int, buf []Message) []Message {
	b := l.boxes[w]
	b.mu.Lock()
	buf = append(buf, b.msgs...)
	clear(b.msgs)
	b.msgs = b.msgs[:0]
	wasFull := b.bytes > l.limit
	b.bytes = 0
	b.mu.Unlock()
	if wasFull {
		// Senders paused on this queue wait on their own wake channels.
		for i, o := range l.boxes {
			if i != w {
				signal(o.wake)
			}
		}
	}
	return buf
}

func (l *Local) Wake(w int) <-chan struct{} { return l.boxes[w].wake }

func (l *Local) Congested(int) bool {
	for _, b := range l.boxes {
		b.mu.Lock()
		full := b.bytes > l.limit
		b.mu.Unlock()
		if full {
			return true
		}
	}
	return false
}
