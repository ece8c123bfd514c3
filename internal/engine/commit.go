package engine

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/weirflow/weir/internal/state"
)

// maxQueuedBytes bounds the snapshots a worker may have waiting for its committer before
// the worker itself waits: a store slower than the flow slows the flow instead of
// filling memory.
const maxQueuedBytes = 64 << 20

// committer writes one worker's closed epochs to the store on a goroutine of its own, so
// that the worker computes the next epoch while the last one is made durable. Epochs that
// close while a write is under way go to the store together in the next one.
//
// Writing late is safe: an epoch counts as committed only once the store has every
// worker's frontier past it, and a crash before that resumes from an earlier epoch, with
// sinks truncated to their positions as of that epoch.
type committer struct {
	store  state.Store
	copies bool // store is a Copier that copies: written snapshots are released
	worker int
	fail   func(error) // stops the run when a write fails
	log    *slog.Logger
	stats  *counters // where the worker's written frontier is published
	wrote  func()    // called after each write: an epoch may have committed
	obs    *workerStats
	shown  *Stats // the Stats that reads obs, which keeps the history of writes; nil for none
	spans  *spans // weir.commit spans; nil without a tracer
	done   chan struct{}

	mu     sync.Mutex
	cond   sync.Cond // queue changed, or the committer took it, or failed
	queue  []state.Epoch
	queued int // bytes of snapshots in queue
	closed bool
	err    error
}

func startCommitter(r *runState, worker int, obs *workerStats, shown *Stats, sp *spans) *committer {
	c := &committer{store: r.cfg.Store, worker: worker, fail: r.fail, log: r.cfg.Logger,
		stats: &r.stats[worker], wrote: r.twoPhase.poke, obs: obs, shown: shown, spans: sp, done: make(chan struct{})}
	cp, ok := c.store.(state.Copier)
	c.copies = ok && cp.CopiesWrites()
	c.cond.L = &c.mu
	go c.loop()
	return c
}

func (c *committer) loop() {
	defer close(c.done)
	for {
		c.mu.Lock()
		for len(c.queue) == 0 && !c.closed {
			c.cond.Wait()
		}
		batch := c.queue
		c.queue, c.queued = nil, 0
		c.cond.Broadcast() // a worker waiting for room may go on
		c.mu.Unlock()
		if len(batch) == 0 {
			return // closed, and everything written
		}
		// The store's errors name the directory, the partition and the epochs.
		began := time.Now()
		last := batch[len(batch)-1]
		span := c.spans.commit(last.Epoch, len(batch), last.Final)
		err := c.store.Write(c.worker, batch)
		if span != nil {
			rows, bytes := sizeOf(batch)
			endCommit(span, rows, bytes, err)
		}
		if err != nil {
			c.mu.Lock()
			c.err = err
			c.cond.Broadcast()
			c.mu.Unlock()
			c.fail(err)
			return
		}
		c.stats.written.Store(last.Epoch + 1)
		c.stats.final.Store(last.Final)
		c.wrote()
		took := time.Since(began)
		c.observe(batch, took)
		c.logWrite(batch, took)
		if c.copies {
			release(batch)
		}
	}
}

// release gives the memory of the snapshots of batch, which a Copier has written, back to
// the steps that made them.
func release(batch []state.Epoch) {
	for _, e := range batch {
		for _, s := range e.Snaps {
			if s.Release != nil {
				s.Release()
			}
		}
	}
}

// logWrite logs, at debug level, what one write made durable: this worker's part of the
// epochs; an epoch is committed once every worker has written its part.
func (c *committer) logWrite(batch []state.Epoch, took time.Duration) {
	ctx := context.Background()
	if !c.log.Enabled(ctx, slog.LevelDebug) {
		return
	}
	rows, bytes := sizeOf(batch)
	last := batch[len(batch)-1]
	c.log.LogAttrs(ctx, slog.LevelDebug, "weir: epoch written", slog.Int("worker", c.worker),
		slog.Uint64("epoch", last.Epoch), slog.Int("epochs", len(batch)), slog.Int("rows", rows),
		slog.Int("bytes", bytes), slog.Bool("final", last.Final), slog.Duration("duration", took))
}

// add queues a closed epoch. It waits while too much is queued, and returns the error of
// a write that failed.
func (c *committer) add(e state.Epoch) error {
	size := 0
	for _, s := range e.Snaps {
		for _, ch := range s.Changes {
			size += len(ch.Key) + len(ch.State) + 32
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return c.err
	}
	c.queue = append(c.queue, e)
	c.queued += size
	c.cond.Broadcast()
	for c.queued > maxQueuedBytes && c.err == nil {
		c.cond.Wait()
	}
	return c.err
}

// close writes what is queued, ends the committer and returns the error of a failed write.
func (c *committer) close() error {
	c.mu.Lock()
	c.closed = true
	c.cond.Broadcast()
	c.mu.Unlock()
	<-c.done
	return c.err
}
