// Package comm carries batches and progress between workers: the Mesh interface, its
// in-process implementation, Local, where a batch is handed over as is (no copy, no
// encoding), and TCP, the mesh between the processes of a cluster. Nothing above the
// Mesh may assume that workers share memory.
//
// # Between processes
//
// Join connects every pair of processes by one TCP connection (optionally TLS with
// client certificates), after a handshake that checks the protocol version, the
// dataflow's fingerprint, the process count, the workers per process, the process id and,
// with a secret, that both sides know it (handshake.go). The connection carries frames
// (frame.go): batches, each encoded once at Send with its edge's Codec; progress markers;
// credit grants; heartbeats; and the control frames of setup exchanges (Exchange), calls
// (Call, Handle) and the end of a process's part (Leave). Each connection has a writer
// goroutine, which writes whatever frames the senders queued in one write (Send never
// blocks), and a reader goroutine, which decodes batches into the local workers' queues.
// Each sender's order is kept: a marker arrives after the batches before it.
//
// Flow control is Flink's credit-based one: a receiving worker grants each process a
// share of the load it accepts, as cumulative "may have sent up to" counts, and grants
// more as it is done with what it received. Failure is fail-stop: a connection that
// closes without a goodbye, a peer silent for the heartbeat timeout, a protocol error or
// a peer's stop fails the mesh (Failed, Err: a *PeerError naming the peer and the cause).
//
// # Why plain TCP, not gRPC
//
// The mesh's needs are a byte stream per pair of processes and its own flow control by
// credit; gRPC streams would add HTTP/2 framing, a second flow control (its windows)
// under the credits, a message copy on each side and a dependency tree, and measured no
// faster: in a scratch module carrying the same checksummed frames of 1,024 small items
// (a hand-written codec) on loopback, a gRPC client stream moved 4.0-9.0M items/s and a
// plain TCP connection 4.7-12.7M items/s (9 runs each, same harness, on a 2-core machine
// busy with other builds; TCP ahead in 8 of 9 paired runs, by up to 1.5x). The mesh itself
// (BenchmarkTCPItems: encode, frames, TCP, decode, Receive and Done, paced by credit)
// moves 12-44M items/s with a hand-written codec and 2-7M with CBOR, the default codec,
// from one process's worker to another's (batches of 256 and 1,024 items, 13 runs on that
// machine; the low ends under a load of 6). TLS comes from crypto/tls.
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
// Flow control is by credit, as in Flink's credit-based flow control: the receiver of a
// message decides how much may be in flight toward it, and grants more as it drains, so a
// sender needs to know only its own credit toward each destination, never the queues of
// the others. A worker's load is the bytes queued for it, plus those it has received and
// not yet finished with (Done), plus those it holds parked for a later epoch (Report).
// Each worker advertises the load it accepts (Report's limit, at most the mesh's limit);
// the credit toward it is that limit minus its load. A sender whose credit toward some
// destination is used up stops reading its sources, but keeps draining what it receives,
// so that workers cannot deadlock on each other.
//
// A mesh between processes implements the same methods without shared memory: the
// receiving side grants credit to each sender as it drains (Done) or lets go of parked
// bytes (Report), sending the grant over the wire; Credit reads what the sender was last
// granted less what it has sent since; and Wake fires on the sender when a grant brings
// its credit above zero again. How a receiver shares what it accepts among its senders
// is the mesh's choice (in one process they share it whole, as Local does; between
// processes a share per sender, as Flink's exclusive buffers, bounds each connection).
// A worker's credit toward itself, its own limit less its load, needs no grant.
type Mesh interface {
	// Send queues m for worker to. It never blocks: senders pace themselves with Credit.
	// A mesh between processes is done with m.Batch when Send returns to a worker of
	// another process (it has encoded it), so the sender may fill it again.
	Send(to int, m Message)
	// Receive appends every message queued for worker w to buf, in the order each sender
	// sent them, and returns it. Their bytes count toward w's load until w calls Done.
	Receive(w int, buf []Message) []Message
	// Done tells that w has finished with n bytes of the messages it received, which
	// returns them as credit to the senders.
	Done(w, n int)
	// Report sets the bytes w holds outside its queue (batches parked for a later epoch),
	// which count toward its load like queued bytes, and the load w accepts (capped at the
	// mesh's limit), which bounds the credit of every sender toward w.
	Report(w, held, limit int)
	// Wake returns a channel that receives when w has messages, or when its credit toward
	// a worker has returned above zero, or when another worker's held bytes have used up
	// the credit toward it (so that w, perhaps behind, may move on what that worker waits
	// for).
	Wake(w int) <-chan struct{}
	// Credit returns the bytes worker from may still send to worker to before it should
	// pause: at most 0 means pause. Bytes already sent count against it until the
	// receiver is done with them; it may go below 0, since Send never blocks.
	Credit(from, to int) int
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
	// some is whether msgs may hold messages: set by Send with the lock held, cleared
	// by Receive as it takes them, and read by Receive without the lock, so that a worker
	// polling an empty box (each round, with one worker every round) takes no lock. A
	// message Send adds after Receive has found none wakes the worker.
	some atomic.Bool

	// credit is the limit less the load (bytes sent and not done, and held bytes): what a
	// sender may still send. It is one word, which every change moves by one Add, so that
	// a reader never combines figures of two moments (a limit from before a Report with
	// held bytes from after it; bytes sent from before a Done with held bytes from after
	// the Report that parked them), which could show a credit used up that never was,
	// with no crossing to wake the reader; and the change that makes it cross 0 knows so.
	credit atomic.Int64
	// held and limit as last reported, written only by the worker itself (Report).
	held  atomic.Int64
	limit atomic.Int64
}

// NewLocal returns a mesh of n workers in this process, where each worker accepts a load
// of limit bytes (or the lower limit it reports), which should be above 0.
func NewLocal(n, limit int) *Local {
	l := &Local{limit: limit, boxes: make([]*box, n)}
	for i := range l.boxes {
		b := &box{wake: make(chan struct{}, 1)}
		b.limit.Store(int64(limit))
		b.credit.Store(int64(limit))
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
	// Counted before the receiver can see m, so that its Done never comes first.
	b.credit.Add(-int64(m.Bytes))
	b.mu.Lock()
	b.msgs = append(b.msgs, m)
	b.some.Store(true)
	b.mu.Unlock()
	signal(b.wake)
}

func (l *Local) Receive(w int, buf []Message) []Message {
	b := l.boxes[w]
	if !b.some.Load() {
		return buf
	}
	b.mu.Lock()
	buf = append(buf, b.msgs...)
	clear(b.msgs)
	b.msgs = b.msgs[:0]
	b.some.Store(false)
	b.mu.Unlock()
	return buf
}

func (l *Local) Done(w, n int) {
	if n == 0 {
		return
	}
	b := l.boxes[w]
	if c := b.credit.Add(int64(n)); c > 0 && c-int64(n) <= 0 {
		l.unpause(w)
	}
}

// Report stores w's figures only when they changed. A worker reports every round, which
// for a busy source is every batch, and every other worker reads w's box each round for
// its credit toward w: a store, even of the same value, takes the box's cache line from
// their cores, so that each of them misses it on its next round; a load leaves it shared.
func (l *Local) Report(w, held, limit int) {
	b := l.boxes[w]
	h, lim := int64(held), int64(min(limit, l.limit))
	if b.held.Load() == h && b.limit.Load() == lim {
		return // nothing changed, so the credit toward w has not either
	}
	if reportStores != nil {
		reportStores(w)
	}
	d := (lim - b.limit.Load()) - (h - b.held.Load())
	b.held.Store(h)
	b.limit.Store(lim)
	if d == 0 {
		return
	}
	if c := b.credit.Add(d); (c > 0) != (c-d > 0) {
		l.unpause(w)
	}
}

// reportStores, when set (by tests), is called each time Report stores a worker's
// figures.
var reportStores func(w int)

// unpause wakes every other worker when the credit toward w changes sign: the senders
// paused on w when their credit returns (they wait on their own wake channels), and every
// worker when w's held bytes use it up, so that a worker behind may move on what w waits
// for.
func (l *Local) unpause(w int) {
	for i, o := range l.boxes {
		if i != w {
			signal(o.wake)
		}
	}
}

// Queued returns the bytes sent to w that it is not done with (its limit less its held
// bytes less its credit), for w itself to read: another worker may see a Report half done.
func (l *Local) Queued(w int) int {
	b := l.boxes[w]
	return int(b.limit.Load() - b.held.Load() - b.credit.Load())
}

func (l *Local) Wake(w int) <-chan struct{} { return l.boxes[w].wake }

// Credit returns to's limit less its load, the same for every sender: in one process the
// senders share the receiver's budget, whoever sent what it holds.
func (l *Local) Credit(_, to int) int {
	return int(l.boxes[to].credit.Load())
}
