package engine_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/internal/engine"
	"github.com/weirflow/weir/internal/graph"
	"github.com/weirflow/weir/internal/plan"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/source"
)

// lockedBuffer is a log's destination that the test reads while the run writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// hanging is a source of two partitions: "flows" reads an item a millisecond, "hangs"
// reads one and then blocks in Next until release is closed; deaf, it does not return
// when the run stops (its context is done) either.
type hanging struct {
	release chan struct{}
	deaf    bool
}

func (hanging) Partitions(context.Context) ([]string, error) { return []string{"flows", "hangs"}, nil }

func (h hanging) Build(_ context.Context, p source.Part, _ []byte) (source.Partition[string], error) {
	return &hangingPart{hanging: h, name: p.Partition}, nil
}

type hangingPart struct {
	hanging
	name string
	n    int
	wake time.Time
}

func (p *hangingPart) Next(ctx context.Context) ([]string, error) {
	if p.name == "hangs" && p.n > 0 {
		if p.deaf {
			<-p.release
			return nil, io.EOF
		}
		select {
		case <-p.release:
			return nil, io.EOF
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	p.n++
	p.wake = time.Now().Add(time.Millisecond)
	return []string{p.name}, nil
}
func (p *hangingPart) NextAwake() time.Time { return p.wake }
func (p *hangingPart) Snapshot() []byte     { return nil }
func (p *hangingPart) Close() error         { return nil }

// A source's call that hangs holds its worker, and an interrupted run waits for it: the
// log names the step, the partition and the call after stuckAfter, while the run goes on
// and again once it is stopping, so that the user sees what holds the run. The other
// worker's partition goes on reading meanwhile. A Next that returns when the run stops
// lets the run stop at once; a deaf one, or a FromFunc whose function ignores its
// context, holds the stop until it returns.
func TestStuckSourceCall(t *testing.T) {
	defer engine.StuckAfter(300 * time.Millisecond)()
	for _, tc := range []struct {
		name            string
		deaf            bool
		fromFunc        bool
		partition, call string
	}{
		{"Next returns when stopped", false, false, "hangs", "Next"},
		{"Next deaf to the stop", true, false, "hangs", "Next"},
		{"FromFunc deaf to the stop", true, true, "func", "Close"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			release := make(chan struct{})
			defer func() {
				select {
				case <-release:
				default:
					close(release)
				}
			}()
			flow := weir.NewDataflow("stuck")
			var seen atomic.Int64
			count := func(_ string, s string) {
				if s == "flows" {
					seen.Add(1)
				}
			}
			if tc.fromFunc {
				op.InspectWith("see", op.Input("read", flow, hanging{release: release}), count)
				op.Inspect("see_func", op.Input("func", flow, source.FromFunc(func(ctx context.Context) (string, error) {
					<-release // deaf to ctx
					return "", io.EOF
				})))
			} else {
				op.InspectWith("see", op.Input("read", flow, hanging{release: release, deaf: tc.deaf}), count)
			}
			p, err := plan.New(graph.FlowOf(flow))
			if err != nil {
				t.Fatal(err)
			}
			var log lockedBuffer
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() {
				done <- engine.Run(ctx, p, engine.Config{Workers: 2, EpochInterval: 50 * time.Millisecond,
					Logger: slog.New(slog.NewTextHandler(&log, nil))})
			}()
			named := func(stopping bool) bool {
				for l := range strings.Lines(log.String()) {
					if strings.Contains(l, "has not returned") && strings.Contains(l, "stopping:") == stopping &&
						strings.Contains(l, "partition="+tc.partition+" ") && strings.Contains(l, "call="+tc.call+" ") &&
						(tc.fromFunc || strings.Contains(l, "step=stuck.read ")) {
						return true
					}
				}
				return false
			}
			if !tc.fromFunc {
				waitFor(t, time.Second+3*300*time.Millisecond, func() bool { return named(false) }, "log line naming the hanging call", &log)
				before := seen.Load()
				time.Sleep(100 * time.Millisecond)
				if seen.Load() <= before {
					t.Errorf("partition flows read nothing more while partition hangs hung (%d items)", before)
				}
			} else {
				time.Sleep(200 * time.Millisecond)
			}
			cancel()
			stopped := time.Now()
			if !tc.deaf {
				select {
				case err := <-done:
					if !errors.Is(err, context.Canceled) {
						t.Errorf("run: %v, want context.Canceled", err)
					}
					if d := time.Since(stopped); d > time.Second {
						t.Errorf("the run took %v to stop", d)
					}
				case <-time.After(5 * time.Second):
					t.Fatalf("the run did not stop within 5 s of its cancel:\n%s", log.String())
				}
				return
			}
			waitFor(t, time.Second+3*300*time.Millisecond, func() bool { return named(true) }, "log line naming the call the stopping run waits for", &log)
			select {
			case err := <-done:
				t.Fatalf("the run returned (%v) while a source's call had not", err)
			default:
			}
			close(release)
			select {
			case err := <-done:
				if !errors.Is(err, context.Canceled) {
					t.Errorf("run: %v, want context.Canceled", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("the run did not stop within 5 s of the call's return:\n%s", log.String())
			}
		})
	}
}

// waitFor polls cond until it holds, failing the test with the log after d.
func waitFor(t *testing.T, d time.Duration, cond func() bool, what string, log *lockedBuffer) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %v:\n%s", what, d, log.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
