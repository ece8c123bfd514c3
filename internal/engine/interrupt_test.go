package engine_test

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/internal/comm"
	"github.com/weirflow/weir/internal/engine"
	"github.com/weirflow/weir/internal/graph"
	"github.com/weirflow/weir/internal/plan"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/source"
)

// A platform stops every process of a cluster at about the same time (Kubernetes sends
// each pod SIGTERM): a process whose peer was interrupted just before it was stopped
// itself ends as interrupted, not with the peer's error; one that is not stopped itself
// fails with the peer's interruption, naming it.
func TestPeerInterrupted(t *testing.T) {
	for _, tc := range []struct {
		name string
		own  time.Duration // when process 0 is stopped after process 1; 0 for never
	}{
		{"stopped soon after", 200 * time.Millisecond},
		{"not stopped", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Each process's worker says when it first sees an item spread to it: both
			// then run, joined. Process 1 is stopped after that, not after a fixed wait: a
			// join took up to half a second here when the first dial found no listener
			// yet, and a busy machine can take longer.
			var seen [2]chan struct{}
			var once [2]sync.Once
			for i := range seen {
				seen[i] = make(chan struct{})
			}
			flow := weir.NewDataflow("interrupt")
			tick := op.Input("tick", flow, source.Poll(time.Millisecond, func(context.Context) (int, bool, error) { return 1, true, nil }))
			op.Inspect("see", op.StatefulBatch("sum", keyBy("key", tick, 4), newSum))
			op.InspectDebug("seen", op.Redistribute("spread", tick), func(_ string, _ int, _ uint64, worker int) {
				once[worker].Do(func() { close(seen[worker]) })
			})
			p, err := plan.New(graph.FlowOf(flow))
			if err != nil {
				t.Fatal(err)
			}
			var addrs []string
			for range 2 {
				l, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				addrs = append(addrs, l.Addr().String())
				l.Close()
			}
			ctxs := make([]context.Context, 2)
			cancels := make([]context.CancelFunc, 2)
			for i := range ctxs {
				ctxs[i], cancels[i] = context.WithCancel(context.Background())
				defer cancels[i]()
			}
			errs := make([]error, 2)
			var wg sync.WaitGroup
			for i := range 2 {
				wg.Go(func() {
					errs[i] = engine.Run(ctxs[i], p, engine.Config{Workers: 1, EpochInterval: 50 * time.Millisecond,
						Cluster: &engine.Cluster{Process: i, Addresses: addrs, HeartbeatTimeout: 5 * time.Second}})
				})
			}
			for i := range seen {
				select {
				case <-seen[i]:
				case <-time.After(30 * time.Second):
					cancels[0]()
					cancels[1]()
					wg.Wait()
					t.Fatalf("process %d saw no item in 30 s: %v", i, errs[i])
				}
			}
			time.Sleep(100 * time.Millisecond) // running
			cancels[1]()
			stopped := time.Now()
			if tc.own > 0 {
				time.Sleep(tc.own)
				cancels[0]()
			}
			wg.Wait()
			if !errors.Is(errs[1], context.Canceled) {
				t.Errorf("process 1: %v, want context.Canceled", errs[1])
			}
			if tc.own > 0 {
				if !errors.Is(errs[0], context.Canceled) {
					t.Errorf("process 0: %v, want context.Canceled", errs[0])
				}
				return
			}
			var pe *comm.PeerError
			if !errors.As(errs[0], &pe) || pe.Process != 1 || !errors.Is(errs[0], comm.ErrPeerInterrupted) {
				t.Errorf("process 0: %v, want process 1's interruption", errs[0])
			}
			if d := time.Since(stopped); d > 4*time.Second {
				t.Errorf("process 0 stopped %v after its peer", d)
			}
		})
	}
}
