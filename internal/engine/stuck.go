package engine

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"
)

// stuckAfter is how long a source's call (Build, Next, Close) may run before the run's log
// names it. A source must not block in Next (a partition waits with NextAwake; FromFunc
// blocks in a goroutine of its own), so a call this long is a source that hangs: its
// worker does nothing else meanwhile, its epochs and the run's commits stand still, and an
// interrupted run waits for the call to return. Without this line the user sees only a run
// that stops making progress, or does not stop, and not which step and partition hold it.
var stuckAfter = 5 * time.Second

// sourceCall is a source's call that a worker is in: what it is, for the log.
type sourceCall struct {
	step, partition, call string
}

// callWatch is a worker's source call in progress, published for the watchdog. The worker
// stores the call (unless it is the one stored already: a partition's reads are one
// call), then its start; it clears the start when the call returns. Two atomic stores a
// call, for a call that reads a batch.
type callWatch struct {
	what  atomic.Pointer[sourceCall]
	since atomic.Int64 // UnixNano of the call's start; 0: in no source call
}

// enter records that the worker calls c, from about now.
func (cw *callWatch) enter(c *sourceCall, now time.Time) {
	if cw.what.Load() != c {
		cw.what.Store(c)
	}
	cw.since.Store(now.UnixNano())
}

// leave records that the call returned.
func (cw *callWatch) leave() { cw.since.Store(0) }

// watchCalls logs a source's call that has run for stuckAfter, naming the step, the
// partition and the worker: once while the run goes on, and once more when the run is
// stopping (ctx done) and waits for it. It returns when stop is closed.
func (r *runState) watchCalls(ctx context.Context, stop <-chan struct{}) {
	t := time.NewTicker(max(stuckAfter/5, 10*time.Millisecond))
	defer t.Stop()
	type report struct {
		since    int64 // the start of the call last logged
		stopping bool  // whether the run was stopping then
	}
	reported := make([]report, r.cfg.Workers) // per worker
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			for i := range r.cfg.Workers {
				cw := &r.stats[r.first+i].call
				since, stopping := cw.since.Load(), ctx.Err() != nil
				last := reported[i]
				if since == 0 || now.Sub(time.Unix(0, since)) < stuckAfter || (since == last.since && stopping == last.stopping) {
					continue
				}
				c := cw.what.Load()
				if cw.since.Load() != since { // the call returned, and another began
					continue
				}
				reported[i] = report{since, stopping}
				msg := "weir: a source's call has not returned"
				if stopping {
					msg = "weir: stopping: waiting for a source's call that has not returned"
				}
				r.cfg.Logger.LogAttrs(context.Background(), slog.LevelWarn, msg, slog.String("step", c.step),
					slog.String("partition", c.partition), slog.String("call", c.call), slog.Int("worker", r.first+i),
					slog.Duration("for", now.Sub(time.Unix(0, since)).Round(time.Millisecond)))
			}
		}
	}
}
