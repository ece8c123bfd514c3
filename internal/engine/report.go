package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/weirflow/weir/internal/state"
)

// counters are one worker's running totals, kept apart from the worker so that the
// summary can read them while the worker runs. The worker adds once per batch, never per
// item; the committer publishes what it has written.
type counters struct {
	in      atomic.Int64  // items read from inputs
	out     atomic.Int64  // items written to sinks
	epoch   atomic.Uint64 // of the last batch read
	written atomic.Uint64 // the frontier the committer last wrote; 0 before its first write
	final   atomic.Bool   // that write completed the worker's stream
	call    callWatch     // the source call the worker is in, for the watchdog (stuck.go)
	_       [64]byte      // keeps the next worker's counters off this one's cache line
}

// Outcome is what a run leaves behind, for a caller with no other way to learn it (run.Main
// names the resumable epoch after Ctrl-C, with RunConfig between it and the engine).
type Outcome struct {
	// Resume is the epoch the next execution on the same store resumes from (epochs below
	// it are committed); 0 without a store.
	Resume uint64
}

type outcomeKey struct{}

// WithOutcome returns a context that makes Run fill o before it returns, once it has
// started the execution.
func WithOutcome(ctx context.Context, o *Outcome) context.Context {
	return context.WithValue(ctx, outcomeKey{}, o)
}

// resumable is the epoch the next execution would resume from, by the store's own rule
// (state.NextResume) over what each worker's committer has written, so it holds once
// Write has returned, as the store's own count does. A worker that wrote nothing counts
// at the start. In a cluster it counts every process's workers: the others' frontiers
// arrive as notices once they are written everywhere (clusterStore.Write).
func (r *runState) resumable() uint64 {
	return state.NextResume(r.total, r.start, func(w int) (uint64, bool, bool) {
		s := &r.stats[w]
		f := s.written.Load()
		return f, s.final.Load(), f != 0
	})
}

// totals sums the workers' counters, and returns the latest epoch a worker read in (a
// worker that reads nothing never moves its epoch, so the lowest would say little).
func (r *runState) totals() (in, out int64, epoch uint64) {
	epoch = r.start
	for i := range r.stats {
		in += r.stats[i].in.Load()
		out += r.stats[i].out.Load()
		epoch = max(epoch, r.stats[i].epoch.Load())
	}
	return in, out, epoch
}

// logStart logs where the execution starts: the flow, its workers, the recovery directory
// and the epoch it resumes from, with what it resumes (the last epoch committed before,
// nothing committed yet, or no recovery at all).
func (r *runState) logStart(ctx context.Context) {
	dir, from := "none", "no recovery"
	if r.cfg.Store != nil {
		dir = r.cfg.RecoveryDir
		if dir == "" {
			dir = "in memory"
		}
		// The store says where an execution resumes, not which execution it follows.
		from = "nothing committed"
		if r.start > 1 {
			from = fmt.Sprintf("epoch %d, committed by an earlier execution", r.start-1)
		}
	}
	attrs := []slog.Attr{slog.String("flow", r.plan.Flow), slog.Int("workers", r.cfg.Workers)}
	if c := r.cfg.Cluster; c != nil {
		attrs = append(attrs, slog.Int("process", c.Process), slog.Int("processes", len(c.Addresses)))
	}
	attrs = append(attrs, slog.Duration("epoch_interval", r.cfg.EpochInterval),
		slog.String("recovery", dir), slog.Uint64("resume", r.start), slog.String("from", from))
	r.cfg.Logger.LogAttrs(ctx, slog.LevelInfo, "weir: run starting", attrs...)
}

// summarize logs a summary at info level every interval until stop is closed: the items
// read and written since the start, their rates over the interval, the latest epoch and,
// with a store, the last committed one.
func (r *runState) summarize(ctx context.Context, every time.Duration, stop <-chan struct{}) {
	t := time.NewTicker(every)
	defer t.Stop()
	lastIn, lastOut, last := int64(0), int64(0), time.Now()
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			in, out, epoch := r.totals()
			secs := now.Sub(last).Seconds()
			attrs := []slog.Attr{slog.String("flow", r.plan.Flow), slog.Int64("in", in), slog.Int64("out", out),
				slog.Float64("in_per_sec", rate(in-lastIn, secs)), slog.Float64("out_per_sec", rate(out-lastOut, secs)),
				slog.Uint64("epoch", epoch)}
			if r.cfg.Store != nil {
				attrs = append(attrs, slog.Uint64("committed", r.resumable()-1))
			}
			r.cfg.Logger.LogAttrs(ctx, slog.LevelInfo, "weir: progress", attrs...)
			lastIn, lastOut, last = in, out, now
		}
	}
}

func rate(n int64, secs float64) float64 {
	if secs <= 0 {
		return 0
	}
	return float64(int64(float64(n)/secs*10)) / 10 // one decimal is plenty to read
}

// logEnd logs how the run ended, once: finished (every input ended, or a source aborted
// the run), interrupted (ctx ended it) or failed (err). With a store it names the epoch the
// next run resumes from, and fills the caller's Outcome.
func (r *runState) logEnd(ctx context.Context, began time.Time, err error) {
	in, out, epoch := r.totals()
	attrs := []slog.Attr{slog.String("flow", r.plan.Flow), slog.Int64("in", in), slog.Int64("out", out),
		slog.Uint64("epoch", epoch), slog.Duration("duration", time.Since(began))}
	var resume uint64
	if r.cfg.Store != nil {
		resume = r.resumable()
		attrs = append(attrs, slog.Uint64("resume", resume), slog.Uint64("committed", resume-1))
	}
	if o, ok := ctx.Value(outcomeKey{}).(*Outcome); ok {
		o.Resume = resume
	}
	// The record is logged with a context that is not done, for handlers that look at it.
	lctx := context.WithoutCancel(ctx)
	switch {
	case err == nil:
		if _, aborted := r.outcome(); aborted {
			attrs = append(attrs, slog.Bool("aborted", true))
		}
		r.cfg.Logger.LogAttrs(lctx, slog.LevelInfo, "weir: run finished", attrs...)
	case ctx.Err() != nil && errors.Is(err, ctx.Err()):
		attrs = append(attrs, slog.String("cause", context.Cause(ctx).Error()))
		r.cfg.Logger.LogAttrs(lctx, slog.LevelWarn, "weir: run interrupted", attrs...)
	default:
		attrs = append(attrs, slog.String("error", err.Error()))
		r.cfg.Logger.LogAttrs(lctx, slog.LevelError, "weir: run failed", attrs...)
	}
}
