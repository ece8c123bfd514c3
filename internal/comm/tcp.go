package comm

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Codec encodes the batches of one edge: graph.BatchOps satisfies it.
type Codec interface {
	AppendEncode(dst []byte, batch any) ([]byte, error)
	// Decode returns the batch data holds. The batch may keep references into data: the
	// mesh gives each batch bytes of its own.
	Decode(data []byte) (any, error)
	Bytes(batch any) int
}

// ClusterConfig says how this process joins the mesh. Its zero durations and limits mean
// the defaults each field names.
type ClusterConfig struct {
	Process int // this process, from 0
	// Addresses are host:port of every process, by process id. This process listens on
	// its own: on that host when it is an IP address, else on every interface at its
	// port (a pod's own DNS name may not resolve before the pod is ready).
	Addresses []string
	// Workers per process: process p has the global worker ids p*Workers to
	// p*Workers+Workers-1.
	Workers int
	// Fingerprint identifies the dataflow (at most 512 bytes); every peer must match.
	Fingerprint string
	// Secret, when set, must be the same in every process: the handshake proves it both
	// ways (challenge and HMAC-SHA256) without sending it.
	Secret []byte
	// TLS, when set, holds this process's certificate (Certificates) and the CA (RootCAs
	// or ClientCAs, the same CA for both directions). Both sides present their
	// certificate, and each verifies the other's chain to the CA, but not the host name:
	// peers are often addressed by IP or by pod names that certificates do not list, so
	// the CA itself says who belongs to the cluster.
	TLS *tls.Config
	// StartupTimeout is how long Join waits for every peer; default 60s.
	StartupTimeout time.Duration
	// HeartbeatInterval: a connection idle this long carries a heartbeat; default 1s.
	HeartbeatInterval time.Duration
	// HeartbeatTimeout: a peer silent this long is lost; default 10s.
	HeartbeatTimeout time.Duration
	// Limit is the most in-flight bytes a local worker accepts, as NewLocal's limit;
	// default 64 MiB.
	Limit int
	// Initial is the limit each worker has until it reports one; default 64 KiB (at most
	// Limit).
	Initial int
	// Codecs encode the batches of each edge, by edge id; nil for edges whose batches
	// never go to another worker.
	Codecs []Codec
	// EdgeNames name the edges, by edge id, in error messages.
	EdgeNames []string
	// MaxFrame is the largest frame payload a peer may send; default 256 MiB. A batch
	// must encode to less; setup exchanges and calls are cut into frames of at most 1 MiB.
	MaxFrame int
	// Logger gets the waiting for peers (info) and dropped connections (debug, or warn
	// for a certificate refused); default slog.Default().
	Logger *slog.Logger
	// Listener, when set, is the listener of this process's address, which Join uses
	// (and closes once every peer joined) instead of listening itself.
	Listener net.Listener

	version byte // tests: the protocol version this process claims, if not FrameVersion
}

func (c *ClusterConfig) defaults() error {
	if c.StartupTimeout <= 0 {
		c.StartupTimeout = 60 * time.Second
	}
	if c.HeartbeatInterval <= 0 {
		c.HeartbeatInterval = time.Second
	}
	if c.HeartbeatTimeout <= 0 {
		c.HeartbeatTimeout = 10 * time.Second
	}
	if c.Limit <= 0 {
		c.Limit = 64 << 20
	}
	if c.Initial <= 0 {
		c.Initial = 64 << 10
	}
	c.Initial = min(c.Initial, c.Limit)
	if c.MaxFrame <= 0 {
		c.MaxFrame = 256 << 20
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	switch {
	case len(c.Addresses) == 0:
		return errors.New("weir: cluster: no addresses")
	case c.Process < 0 || c.Process >= len(c.Addresses):
		return fmt.Errorf("weir: cluster: process id %d is not among the %d addresses", c.Process, len(c.Addresses))
	case c.Workers <= 0:
		return fmt.Errorf("weir: cluster: %d workers per process", c.Workers)
	case len(c.Fingerprint) > 512:
		return fmt.Errorf("weir: cluster: a fingerprint of %d bytes, at most 512", len(c.Fingerprint))
	case c.HeartbeatInterval >= c.HeartbeatTimeout:
		return fmt.Errorf("weir: cluster: heartbeat interval %v is not below the heartbeat timeout %v", c.HeartbeatInterval, c.HeartbeatTimeout)
	case int64(len(c.Addresses))*int64(c.Workers) > math.MaxInt32:
		return fmt.Errorf("weir: cluster: %d processes of %d workers", len(c.Addresses), c.Workers)
	}
	return nil
}

// Why a peer stopped, in a FrameStop's Edge: an error (its text in the payload), an abort,
// or its context's end.
const (
	stopFailed uint32 = iota
	stopAborted
	stopInterrupted
)

// Errors of a mesh between processes. A *PeerError's cause matches one of ErrPeerLost,
// ErrPeerStopped, ErrPeerInterrupted, ErrPeerAborted and ErrProtocol with errors.Is.
var (
	// ErrAborted, as Leave's cause, stops the peers without an error: a source aborted
	// the run.
	ErrAborted = errors.New("weir: cluster: aborted")
	// ErrPeerAborted: a peer left with ErrAborted.
	ErrPeerAborted = errors.New("weir: cluster: a peer aborted")
	// ErrPeerStopped: a peer left with an error.
	ErrPeerStopped = errors.New("weir: cluster: a peer stopped")
	// ErrPeerInterrupted: a peer left because its context ended (Ctrl-C or SIGTERM, which
	// a platform sends every process at about the same time): a process that is being
	// stopped too may take it for its own stop.
	ErrPeerInterrupted = errors.New("weir: cluster: a peer was interrupted")
	// ErrPeerLost: a peer's connection closed or broke without a goodbye, or the peer was
	// silent for the heartbeat timeout.
	ErrPeerLost = errors.New("weir: cluster: a peer was lost")
	// ErrProtocol: a peer sent a frame this process cannot take.
	ErrProtocol = errors.New("weir: cluster: protocol error")
	// ErrStartup: not every peer joined within the startup timeout.
	ErrStartup = errors.New("weir: cluster: startup timeout")
	// ErrLeft: the mesh was used after Leave.
	ErrLeft = errors.New("weir: cluster: this process left the mesh")
)

// PeerError is why the mesh failed: which peer, and what happened to it.
type PeerError struct {
	Process int
	Addr    string
	Cause   error
}

func (e *PeerError) Error() string {
	return fmt.Sprintf("weir: cluster: process %d (%s): %v", e.Process, e.Addr, e.Cause)
}

func (e *PeerError) Unwrap() error { return e.Cause }

// reason is a PeerError's cause: its text, the condition it is, and what underlies it.
type reason struct {
	msg  string
	kind error
	err  error
}

func (r *reason) Error() string { return r.msg }
func (r *reason) Unwrap() []error {
	if r.err == nil {
		return []error{r.kind}
	}
	return []error{r.kind, r.err}
}

// RemoteError is an error the handler of a Call returned in the process called.
type RemoteError struct {
	Process int
	Addr    string
	Msg     string
}

func (e *RemoteError) Error() string {
	return fmt.Sprintf("weir: cluster: process %d (%s): %s", e.Process, e.Addr, e.Msg)
}

// StartupError is a Join that timed out: the processes that had not joined, and why the
// last attempt to reach each one this process dials failed.
type StartupError struct {
	Timeout time.Duration
	Missing []int
	Addrs   []string
	Last    []error // by Missing's index; nil for the processes that dial this one
}

func (e *StartupError) Error() string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "weir: cluster: startup timeout (%v): still waiting for", e.Timeout)
	for i, q := range e.Missing {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, " process %d (%s", q, e.Addrs[i])
		if e.Last[i] != nil {
			fmt.Fprintf(&b, ": %v", e.Last[i])
		}
		b.WriteByte(')')
	}
	return b.String()
}

func (e *StartupError) Unwrap() error { return ErrStartup }

// TCP is the Mesh between processes: one TCP connection (optionally TLS) per pair of
// processes carries every worker's batches, markers and credit grants both ways, and
// the setup exchanges and calls. Workers are numbered across the cluster; the ones of
// this process exchange through an in-memory Local as in one process.
type TCP struct {
	cfg     ClusterConfig
	proc    int
	procs   int
	workers int
	first   int // this process's first global worker id
	chunk   int // the largest control frame payload sent
	log     *slog.Logger

	local *Local
	inbox []inbox // by local worker
	peers []*peer // by process; nil for this one
	// Toward each remote worker, by global id: the cumulative bytes its process granted
	// this one, and what this process's workers have sent it.
	grant []atomic.Int64
	sent  []atomic.Int64

	failOnce sync.Once
	failed   chan struct{}
	err      error         // set before failed closes
	done     chan struct{} // closed when Leave has closed the mesh

	leaving  atomic.Bool // Leave was called
	stopping atomic.Bool // Leave was called with a cause, or the mesh is closing: errors are expected

	mu        sync.Mutex
	exchanges map[uint32]*exchange
	calls     map[uint32]*call
	nextCall  uint32
	handler   func(from int, req []byte) ([]byte, error)
	queued    []request // calls that came before Handle
	serving   sync.WaitGroup
}

// inbox is the receiving side of one local worker's credit. Only that worker's goroutine
// (Receive, Done, Report) touches it, except recv, which the readers add to.
type inbox struct {
	fifo  []origin // the batches received, in the order Done will be called for them
	head  int
	held  int
	limit int
	// By process: bytes received, bytes done with, and the grant last sent.
	recv     []atomic.Int64
	returned []int64
	granted  []int64
}

type origin struct {
	proc  int
	bytes int
}

// share is what the worker accepts from each process: its limit less what it holds
// parked, divided among the processes (this one's workers share theirs with it).
func (ib *inbox) share(procs int) int64 { return int64(max(ib.limit-ib.held, 0) / procs) }

func newTCP(cfg ClusterConfig) *TCP {
	procs := len(cfg.Addresses)
	t := &TCP{
		cfg: cfg, proc: cfg.Process, procs: procs, workers: cfg.Workers, first: cfg.Process * cfg.Workers,
		chunk: min(1<<20, cfg.MaxFrame), log: cfg.Logger,
		local: NewLocal(cfg.Workers, cfg.Limit), inbox: make([]inbox, cfg.Workers), peers: make([]*peer, procs),
		grant: make([]atomic.Int64, procs*cfg.Workers), sent: make([]atomic.Int64, procs*cfg.Workers),
		failed: make(chan struct{}), done: make(chan struct{}), exchanges: map[uint32]*exchange{}, calls: map[uint32]*call{},
	}
	for w := range t.inbox {
		t.local.Report(w, 0, cfg.Initial)
		ib := &t.inbox[w]
		ib.limit = cfg.Initial
		ib.recv = make([]atomic.Int64, procs)
		ib.returned = make([]int64, procs)
		ib.granted = make([]int64, procs)
		for q := range ib.granted {
			ib.granted[q] = ib.share(procs)
		}
	}
	for w := range t.grant { // as every receiver starts: its initial share
		t.grant[w].Store(int64(cfg.Initial / procs))
	}
	return t
}

// Process returns this process's id.
func (t *TCP) Process() int { return t.proc }

// Processes returns the number of processes.
func (t *TCP) Processes() int { return t.procs }

// Workers returns the number of workers per process.
func (t *TCP) Workers() int { return t.workers }

func (t *TCP) edgeName(e uint32) string {
	if int(e) < len(t.cfg.EdgeNames) && t.cfg.EdgeNames[e] != "" {
		return fmt.Sprintf("edge %d (%s)", e, t.cfg.EdgeNames[e])
	}
	return fmt.Sprintf("edge %d", e)
}

// localID returns w's index among this process's workers, or -1.
func (t *TCP) localID(w int) int {
	if l := w - t.first; l >= 0 && l < t.workers {
		return l
	}
	return -1
}

var scratch = sync.Pool{New: func() any { return new([]byte) }}

// Send queues m for worker to: in memory for a local worker; else encoded here, on the
// sender's goroutine, into the outbound buffer of to's process, which that connection's
// writer sends. It never blocks.
func (t *TCP) Send(to int, m Message) {
	if l := t.localID(to); l >= 0 {
		t.local.Send(l, m)
		return
	}
	p := t.peers[to/t.workers]
	if m.Batch == nil {
		p.enqueue(Frame{Kind: FrameMarker, Edge: uint32(m.Edge), From: uint32(m.From), To: uint32(to), Epoch: m.Frontier})
		return
	}
	var codec Codec
	if m.Edge < len(t.cfg.Codecs) {
		codec = t.cfg.Codecs[m.Edge]
	}
	if codec == nil {
		panic(fmt.Sprintf("weir: cluster: a batch sent to worker %d on %s, which has no codec", to, t.edgeName(uint32(m.Edge))))
	}
	sb := scratch.Get().(*[]byte)
	buf := binary.AppendUvarint((*sb)[:0], uint64(m.Bytes))
	buf, err := codec.AppendEncode(buf, m.Batch)
	if err != nil {
		t.fail(fmt.Errorf("weir: cluster: encoding a batch of %s for worker %d: %w", t.edgeName(uint32(m.Edge)), to, err))
	} else {
		p.enqueue(Frame{Kind: FrameBatch, Edge: uint32(m.Edge), From: uint32(m.From), To: uint32(to), Epoch: m.Epoch, Payload: buf})
		t.sent[to].Add(int64(m.Bytes))
	}
	if cap(buf) <= 4<<20 { // a rare huge batch's buffer is not kept
		*sb = buf
		scratch.Put(sb)
	}
}

// Receive appends the messages queued for local worker w, from this process's workers
// and from the peers, and notes where each batch came from, for Done.
func (t *TCP) Receive(w int, buf []Message) []Message {
	l := w - t.first
	n := len(buf)
	buf = t.local.Receive(l, buf)
	ib := &t.inbox[l]
	if ib.head == len(ib.fifo) {
		ib.fifo, ib.head = ib.fifo[:0], 0
	}
	for i := n; i < len(buf); i++ {
		if m := &buf[i]; m.Batch != nil {
			ib.fifo = append(ib.fifo, origin{m.From / t.workers, m.Bytes})
		}
	}
	return buf
}

// Done returns the bytes of the next batch w received: to this process's senders at
// once, as Local does, and to a peer by a grant when it is worth a frame.
func (t *TCP) Done(w, n int) {
	l := w - t.first
	t.local.Done(l, n)
	ib := &t.inbox[l]
	if ib.head == len(ib.fifo) {
		return
	}
	o := ib.fifo[ib.head]
	ib.head++
	if o.proc == t.proc {
		return
	}
	ib.returned[o.proc] += int64(o.bytes)
	t.regrant(w, ib, o.proc)
}

// Report sets w's held bytes and limit, which change every process's share.
func (t *TCP) Report(w, held, limit int) {
	l := w - t.first
	t.local.Report(l, held, limit)
	ib := &t.inbox[l]
	ib.held, ib.limit = held, min(limit, t.cfg.Limit)
	for q := range t.peers {
		if q != t.proc {
			t.regrant(w, ib, q)
		}
	}
}

// regrant sends process q a new grant from worker w when it is worth a frame: when it
// moved by a quarter of the share, or when q may be paused on w (it has sent all it was
// granted) and may now go on, or must now pause.
func (t *TCP) regrant(w int, ib *inbox, q int) {
	share := ib.share(t.procs)
	g, last := ib.returned[q]+share, ib.granted[q]
	if g == last {
		return
	}
	r := ib.recv[q].Load()
	step := max(share/4, 1)
	if g-last >= step || last-g >= step || r >= last && g > r || g <= r && last > r {
		ib.granted[q] = g
		t.peers[q].enqueue(Frame{Kind: FrameCredit, From: uint32(w), To: uint32(q * t.workers), Epoch: uint64(g)})
	}
}

// granted records remote worker w's new grant, waking the local workers when it turns
// their credit toward w from used up to available or back.
func (t *TCP) granted(w int, g int64) {
	old := t.grant[w].Swap(g)
	sent := t.sent[w].Load()
	if (old-sent > 0) != (g-sent > 0) {
		t.wakeAll()
	}
}

func (t *TCP) wakeAll() {
	for _, b := range t.local.boxes {
		signal(b.wake)
	}
}

// Wake returns local worker w's wake channel.
func (t *TCP) Wake(w int) <-chan struct{} { return t.local.Wake(w - t.first) }

// Credit returns what local worker from may still send to: toward a local worker, as
// Local; toward a remote one, its process's last grant less what this process sent it.
//
// What was sent is read before the grant. Sent only grows, so the difference is never
// below what the credit was when the grant was read: a sender that finds it used up
// finds it so truly, and the grant that next takes it above 0 sees the crossing in
// granted, which wakes the senders. Read the other way round, a grant raised between the
// two reads (and bytes another worker sent meanwhile) could show a credit used up that
// no longer was, with granted's check finding no crossing, as Local's three separate
// reads once did: a sender congested without an epoch interval would wait for ever.
func (t *TCP) Credit(from, to int) int {
	if l := t.localID(to); l >= 0 {
		return t.local.Credit(from, l)
	}
	sent := t.sent[to].Load()
	return int(t.grant[to].Load() - sent)
}

// Failed returns a channel closed when the mesh fails.
func (t *TCP) Failed() <-chan struct{} { return t.failed }

// Err returns why the mesh failed (a *PeerError when a peer failed), or nil.
func (t *TCP) Err() error {
	select {
	case <-t.failed:
		return t.err
	default:
		return nil
	}
}

func (t *TCP) fail(err error) {
	t.failOnce.Do(func() {
		t.err = err
		t.wakeAll() // first: whoever sees Failed closed finds the workers woken
		close(t.failed)
		if !t.stopping.Load() {
			t.log.Debug("weir: cluster: mesh failed", "process", t.proc, "err", err)
		}
	})
}

// peerFail fails the mesh for peer p's reason.
func (t *TCP) peerFail(p *peer, kind error, err error, format string, args ...any) {
	t.fail(&PeerError{Process: p.id, Addr: p.addr, Cause: &reason{msg: fmt.Sprintf(format, args...), kind: kind, err: err}})
}

// peer is the connection to one other process.
type peer struct {
	t    *TCP
	id   int
	addr string
	conn net.Conn

	mu     sync.Mutex
	out    []byte // frames for the writer
	closed bool   // nothing more may be queued: a stop is, or the connection broke, or Leave ends
	byeOut bool   // this process said goodbye: no more heartbeats (replies may follow)

	kick  chan struct{} // the writer has frames
	stop  chan struct{} // the writer must end now
	wdone chan struct{}
	rdone chan struct{}
	bye   chan struct{} // the peer said goodbye
	byed  atomic.Bool
	mute  atomic.Bool // tests: the writer writes nothing, as a hung process

	partial map[uint64][]byte // chunked messages being read, by kind and id
}

func (t *TCP) addPeer(id int, conn net.Conn) {
	p := &peer{t: t, id: id, addr: t.cfg.Addresses[id], conn: conn, kick: make(chan struct{}, 1),
		stop: make(chan struct{}), wdone: make(chan struct{}), rdone: make(chan struct{}), bye: make(chan struct{}),
		partial: map[uint64][]byte{}}
	t.peers[id] = p
	go p.write()
	go p.read()
}

func (p *peer) enqueue(f Frame) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	kick := len(p.out) == 0
	p.out = AppendFrame(p.out, f)
	p.mu.Unlock()
	if kick {
		signal(p.kick)
	}
}

// last queues f as the last frame for p.
func (p *peer) last(f Frame) {
	p.enqueue(f)
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	signal(p.kick)
}

// sendChunked queues data as frames of kind with id, cut to the chunk size.
func (p *peer) sendChunked(kind FrameKind, id uint32, data []byte) {
	for {
		n := min(len(data), p.t.chunk)
		p.enqueue(Frame{Kind: kind, Edge: id, From: uint32(p.t.proc), To: uint32(p.id), Epoch: uint64(len(data) - n), Payload: data[:n]})
		data = data[n:]
		if len(data) == 0 {
			return
		}
	}
}

// write sends what is queued for p, many frames per write, and a heartbeat when the
// connection has been idle for the heartbeat interval.
func (p *peer) write() {
	defer close(p.wdone)
	t := p.t
	timer := time.NewTimer(t.cfg.HeartbeatInterval)
	defer timer.Stop()
	var buf []byte
	for {
		p.mu.Lock()
		buf, p.out = p.out, buf[:0]
		closed := p.closed
		p.mu.Unlock()
		if len(buf) == 0 {
			if closed {
				return
			}
			select {
			case <-p.kick:
				continue
			case <-timer.C:
				p.mu.Lock()
				bye := p.byeOut
				p.mu.Unlock()
				if bye {
					// After a goodbye only replies to the peer's last calls go out, so
					// that nothing this process sends is left unread when the peer
					// closes (which would reset the connection, losing what it had not
					// read yet).
					timer.Reset(t.cfg.HeartbeatInterval)
					continue
				}
				buf = AppendFrame(buf, Frame{Kind: FrameHeartbeat, From: uint32(t.proc), To: uint32(p.id)})
			case <-p.stop:
				return
			}
		}
		if !p.mute.Load() {
			if err := p.send(buf); err != nil {
				p.mu.Lock()
				p.closed = true
				p.mu.Unlock()
				// The reader sees most breaks too, and may have a better reason to
				// read first (the peer's stop frame): give it a moment.
				select {
				case <-p.rdone:
				case <-time.After(500 * time.Millisecond):
				}
				if !t.stopping.Load() && !p.byed.Load() {
					t.peerFail(p, ErrPeerLost, err, "connection lost: %v", err)
				}
				return
			}
		}
		if cap(buf) > 16<<20 && len(buf) < cap(buf)/4 {
			buf = nil // written, and from a burst: let it go
		}
		timer.Reset(t.cfg.HeartbeatInterval)
	}
}

// send writes buf in pieces, each within the heartbeat timeout: a peer that takes no
// piece for that long is lost, however long a large buffer takes at the pace it reads.
func (p *peer) send(buf []byte) error {
	const piece = 1 << 20
	for len(buf) > 0 {
		n := min(len(buf), piece)
		p.conn.SetWriteDeadline(time.Now().Add(p.t.cfg.HeartbeatTimeout))
		if _, err := p.conn.Write(buf[:n]); err != nil {
			return err
		}
		buf = buf[n:]
	}
	return nil
}

// read reads p's frames until the connection ends.
func (p *peer) read() {
	defer close(p.rdone)
	t := p.t
	// The deadline moves with every read from the connection, not with every frame: a
	// large frame arriving at the pace the network allows is not silence.
	br := bufio.NewReaderSize(&deadlineReader{conn: p.conn, timeout: t.cfg.HeartbeatTimeout}, 256<<10)
	var buf []byte
	for {
		f, b, err := ReadFrame(br, t.cfg.MaxFrame, buf)
		buf = b
		if err != nil {
			p.readFailed(err)
			return
		}
		if f.Kind == FrameBatch {
			buf = nil // the batch keeps it: the next frame is read into a buffer of its own
		}
		if err := p.handle(f); err != nil {
			if !errors.Is(err, errStopped) {
				t.peerFail(p, ErrProtocol, err, "protocol error: %v", err)
			}
			return
		}
	}
}

func (p *peer) readFailed(err error) {
	t := p.t
	if t.stopping.Load() {
		return
	}
	if p.byed.Load() {
		// It said goodbye and is gone: that ends nothing, but calls to it will
		// never be answered.
		t.mu.Lock()
		for id, c := range t.calls {
			if c.proc == p.id {
				delete(t.calls, id)
				c.reply <- reply{err: &PeerError{Process: p.id, Addr: p.addr, Cause: &reason{msg: "left before it answered", kind: ErrPeerLost}}}
			}
		}
		t.mu.Unlock()
		return
	}
	var ne net.Error
	var fe *FrameError
	switch {
	case errors.As(err, &fe):
		t.peerFail(p, ErrProtocol, err, "protocol error: %v", err)
	case errors.As(err, &ne) && ne.Timeout():
		t.peerFail(p, ErrPeerLost, err, "no heartbeat for %v", t.cfg.HeartbeatTimeout)
	default:
		t.peerFail(p, ErrPeerLost, err, "connection lost: %v", err)
	}
}

// deadlineReader reads from conn with a read deadline of timeout from the latest read.
// Renewing it costs a timer update, so it is renewed when a quarter of it has passed:
// a silent peer is found within 3/4 to 4/4 of timeout.
type deadlineReader struct {
	conn    net.Conn
	timeout time.Duration
	set     time.Time
}

func (r *deadlineReader) Read(b []byte) (int, error) {
	if now := time.Now(); now.Sub(r.set) > r.timeout/4 {
		r.conn.SetReadDeadline(now.Add(r.timeout))
		r.set = now
	}
	return r.conn.Read(b)
}

// errStopped: the peer stopped, and the mesh failed with its reason.
var errStopped = errors.New("stopped")

// handle takes one frame from p.
func (p *peer) handle(f Frame) error {
	t := p.t
	switch f.Kind {
	case FrameBatch, FrameMarker:
		from, to := int(f.From), int(f.To)
		if from/t.workers != p.id {
			return fmt.Errorf("a %s frame from worker %d, not one of process %d's", f.Kind, from, p.id)
		}
		l := t.localID(to)
		if l < 0 {
			return fmt.Errorf("a %s frame for worker %d, not one of process %d's", f.Kind, to, t.proc)
		}
		if int(f.Edge) >= len(t.cfg.Codecs) || t.cfg.Codecs[f.Edge] == nil {
			return fmt.Errorf("a %s frame on %s, which carries nothing between workers", f.Kind, t.edgeName(f.Edge))
		}
		if f.Kind == FrameMarker {
			t.local.Send(l, Message{Edge: int(f.Edge), From: from, Frontier: f.Epoch})
			return nil
		}
		est, n := binary.Uvarint(f.Payload)
		if n <= 0 || est > math.MaxInt32 {
			return fmt.Errorf("a batch frame on %s without its size", t.edgeName(f.Edge))
		}
		// The read buffer becomes the batch's own (read gives it away): it may keep
		// references into it.
		batch, err := t.cfg.Codecs[f.Edge].Decode(f.Payload[n:len(f.Payload):len(f.Payload)])
		if err != nil {
			return fmt.Errorf("a batch on %s from worker %d: %w", t.edgeName(f.Edge), from, err)
		}
		t.inbox[l].recv[p.id].Add(int64(est))
		t.local.Send(l, Message{Edge: int(f.Edge), From: from, Epoch: f.Epoch, Batch: batch, Bytes: int(est)})
	case FrameCredit:
		w := int(f.From)
		if w/t.workers != p.id {
			return fmt.Errorf("a credit frame from worker %d, not one of process %d's", w, p.id)
		}
		if f.Epoch > math.MaxInt64 {
			return fmt.Errorf("a grant of %d bytes", f.Epoch)
		}
		t.granted(w, int64(f.Epoch))
	case FrameHeartbeat:
	case FrameGoodbye:
		p.byed.Store(true)
		close(p.bye)
	case FrameStop:
		switch f.Edge {
		case stopAborted:
			t.peerFail(p, ErrPeerAborted, nil, "aborted")
		case stopInterrupted:
			t.peerFail(p, ErrPeerInterrupted, nil, "interrupted: %s", f.Payload)
		default:
			t.peerFail(p, ErrPeerStopped, nil, "stopped: %s", f.Payload)
		}
		return errStopped
	case FrameExchange, FrameCall, FrameReply, FrameFault:
		data, ok := p.assemble(f)
		if !ok {
			return nil
		}
		switch f.Kind {
		case FrameExchange:
			return t.exchanged(p, f.Edge, data)
		case FrameCall:
			t.called(p, f.Edge, data)
		default:
			return t.replied(p, f.Edge, f.Kind == FrameFault, data)
		}
	}
	return nil
}

// assemble adds a chunk of a control message, returning the message when it is whole.
func (p *peer) assemble(f Frame) ([]byte, bool) {
	k := uint64(f.Kind)<<32 | uint64(f.Edge)
	b, ok := p.partial[k]
	if !ok {
		b = make([]byte, 0, min(uint64(len(f.Payload))+f.Epoch, 64<<20))
	}
	b = append(b, f.Payload...)
	if f.Epoch > 0 {
		p.partial[k] = b
		return nil, false
	}
	delete(p.partial, k)
	return b, true
}

// An exchange is one all-to-all exchange of setup messages.
type exchange struct {
	in      [][]byte
	got     []bool
	left    int // processes yet to send their part, this one included
	done    chan struct{}
	started bool // this process called Exchange
}

func (t *TCP) exchangeOf(tag uint32) *exchange {
	x := t.exchanges[tag]
	if x == nil {
		x = &exchange{in: make([][]byte, t.procs), got: make([]bool, t.procs), left: t.procs, done: make(chan struct{})}
		t.exchanges[tag] = x
	}
	return x
}

func (x *exchange) add(q int, b []byte) {
	x.in[q], x.got[q] = b, true
	if x.left--; x.left == 0 {
		close(x.done)
	}
}

func (t *TCP) exchanged(p *peer, tag uint32, data []byte) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	x := t.exchangeOf(tag)
	if x.got[p.id] {
		return fmt.Errorf("exchange %d sent twice", tag)
	}
	x.add(p.id, data)
	return nil
}

// Exchange sends out[q] to every process q (out[self] is kept as is) and returns what
// every process sent this one, by process. Calls with the same tag are matched across
// processes; each tag is used once, in the same order everywhere. Large parts are cut
// into frames.
func (t *TCP) Exchange(ctx context.Context, tag uint32, out [][]byte) ([][]byte, error) {
	if len(out) != t.procs {
		return nil, fmt.Errorf("weir: cluster: exchange %d of %d parts among %d processes", tag, len(out), t.procs)
	}
	if t.leaving.Load() {
		return nil, ErrLeft
	}
	t.mu.Lock()
	x := t.exchangeOf(tag)
	if x.started {
		t.mu.Unlock()
		return nil, fmt.Errorf("weir: cluster: exchange tag %d used twice", tag)
	}
	x.started = true
	x.add(t.proc, out[t.proc])
	t.mu.Unlock()
	for q, p := range t.peers {
		if p != nil {
			p.sendChunked(FrameExchange, tag, out[q])
		}
	}
	select {
	case <-x.done:
	case <-t.failed:
		return nil, t.err
	case <-t.done:
		return nil, ErrLeft
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	t.mu.Lock()
	delete(t.exchanges, tag)
	t.mu.Unlock()
	return x.in, nil
}

type call struct {
	proc  int
	reply chan reply
}

type reply struct {
	data []byte
	err  error
}

type request struct {
	p   *peer
	id  uint32
	req []byte
}

// Handle sets the function that serves other processes' Calls, each in a goroutine of
// its own. Calls that came before are served once it is set. Set it once.
func (t *TCP) Handle(fn func(from int, req []byte) ([]byte, error)) {
	t.mu.Lock()
	if t.handler != nil {
		t.mu.Unlock()
		panic("weir: cluster: Handle called twice")
	}
	t.handler = fn
	queued := t.queued
	t.queued = nil
	t.serving.Add(len(queued))
	t.mu.Unlock()
	for _, r := range queued {
		go t.serve(fn, r)
	}
}

func (t *TCP) called(p *peer, id uint32, req []byte) {
	t.mu.Lock()
	fn := t.handler
	r := request{p, id, req}
	if fn == nil {
		t.queued = append(t.queued, r)
		t.mu.Unlock()
		return
	}
	t.serving.Add(1)
	t.mu.Unlock()
	go t.serve(fn, r)
}

func (t *TCP) serve(fn func(int, []byte) ([]byte, error), r request) {
	defer t.serving.Done()
	resp, err := fn(r.p.id, r.req)
	if err != nil {
		r.p.sendChunked(FrameFault, r.id, []byte(err.Error()))
		return
	}
	r.p.sendChunked(FrameReply, r.id, resp)
}

func (t *TCP) replied(p *peer, id uint32, fault bool, data []byte) error {
	t.mu.Lock()
	c := t.calls[id]
	delete(t.calls, id)
	t.mu.Unlock()
	if c == nil {
		return nil // its caller gave up
	}
	if c.proc != p.id {
		return fmt.Errorf("a reply to call %d, which went to process %d", id, c.proc)
	}
	if fault {
		c.reply <- reply{err: &RemoteError{Process: p.id, Addr: p.addr, Msg: string(data)}}
	} else {
		c.reply <- reply{data: data}
	}
	return nil
}

// Call sends req to process proc's handler and returns its response, or its error as a
// *RemoteError. Calls may run concurrently.
func (t *TCP) Call(ctx context.Context, proc int, req []byte) ([]byte, error) {
	if proc < 0 || proc >= t.procs || proc == t.proc {
		return nil, fmt.Errorf("weir: cluster: a call from process %d to process %d of %d", t.proc, proc, t.procs)
	}
	if t.stopping.Load() {
		return nil, ErrLeft
	}
	c := &call{proc: proc, reply: make(chan reply, 1)}
	t.mu.Lock()
	t.nextCall++
	id := t.nextCall
	t.calls[id] = c
	t.mu.Unlock()
	t.peers[proc].sendChunked(FrameCall, id, req)
	select {
	case r := <-c.reply:
		return r.data, r.err
	case <-t.failed:
		return nil, t.err
	case <-t.done:
		return nil, ErrLeft
	case <-ctx.Done():
		t.mu.Lock()
		delete(t.calls, id)
		t.mu.Unlock()
		return nil, ctx.Err()
	}
}

// Leave ends this process's part of the mesh and closes it.
//
// With a nil cause it is graceful: it sends a goodbye after everything queued and waits
// until every peer has said goodbye too (until then peers may still send batches and
// Calls, which are served and answered), and returns nil, or why the mesh failed
// meanwhile. With
// ErrAborted the peers fail with ErrPeerAborted (they stop without an error); with any
// other cause they fail with a *PeerError whose cause says this process stopped and
// the cause's text. Leave then waits briefly for the peers to close their side, so that
// the stop is read rather than lost in a reset, and returns nil.
func (t *TCP) Leave(cause error) error {
	if !t.leaving.CompareAndSwap(false, true) {
		return ErrLeft
	}
	if cause == nil && t.Err() == nil {
		for _, p := range t.peers {
			if p != nil {
				p.enqueue(Frame{Kind: FrameGoodbye, From: uint32(t.proc), To: uint32(p.id)})
				p.mu.Lock()
				p.byeOut = true
				p.mu.Unlock()
			}
		}
		for _, p := range t.peers {
			if p == nil {
				continue
			}
			select {
			case <-p.bye:
			case <-t.failed:
			}
		}
		for _, p := range t.peers { // flush: then nothing more goes out
			if p != nil {
				p.mu.Lock()
				p.closed = true
				p.mu.Unlock()
				signal(p.kick)
			}
		}
		for _, p := range t.peers {
			if p != nil {
				select {
				case <-p.wdone:
				case <-t.failed:
				}
			}
		}
		err := t.Err()
		t.close()
		return err
	}
	err := t.Err()
	t.stopping.Store(true)
	if cause == nil {
		t.close()
		return err
	}
	f := Frame{Kind: FrameStop, From: uint32(t.proc), Payload: []byte(cause.Error())}
	switch {
	case errors.Is(cause, ErrAborted):
		f.Edge, f.Payload = stopAborted, nil
	case errors.Is(cause, context.Canceled) || errors.Is(cause, context.DeadlineExceeded):
		f.Edge = stopInterrupted
	}
	if len(f.Payload) > maxDetail*4 {
		f.Payload = f.Payload[:maxDetail*4]
	}
	for _, p := range t.peers {
		if p != nil {
			f.To = uint32(p.id)
			p.last(f)
		}
	}
	grace, cancel := context.WithTimeout(context.Background(), min(2*time.Second, t.cfg.HeartbeatTimeout))
	defer cancel()
	for _, p := range t.peers {
		if p == nil {
			continue
		}
		select {
		case <-p.wdone:
			if cw, ok := p.conn.(interface{ CloseWrite() error }); ok {
				cw.CloseWrite()
			}
		case <-grace.Done():
		}
	}
	for _, p := range t.peers {
		if p == nil {
			continue
		}
		select {
		case <-p.rdone:
		case <-grace.Done():
		}
	}
	t.close()
	return nil
}

// close closes every connection and waits for their goroutines.
func (t *TCP) close() {
	t.stopping.Store(true)
	for _, p := range t.peers {
		if p != nil {
			p.mu.Lock()
			p.closed = true
			p.mu.Unlock()
			close(p.stop)
			p.conn.Close()
		}
	}
	for _, p := range t.peers {
		if p != nil {
			<-p.rdone
			<-p.wdone
		}
	}
	close(t.done)
	t.wakeAll()
}
