package engine_test

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/internal/engine"
	"github.com/weirflow/weir/internal/graph"
	"github.com/weirflow/weir/internal/keyhash"
	"github.com/weirflow/weir/internal/plan"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/source"
	"github.com/weirflow/weir/weirtest"
)

// parkSource has two partitions, "a" on worker 0 and "b" on worker 1 (of 2). "b" has
// nothing: each call sleeps a second, with worker 1 inside it, and the tenth ends it. "a"
// emits two batches of a key that worker 1 owns, each while worker 1 sleeps in "b", in
// epochs 1 and 2, then looks every second until "b" has ended and ends too. So worker 1,
// which reads nothing, is behind worker 0's epochs and parks the batch of epoch 2 for its
// own progress, in the round after the one it slept in while worker 0 sent it.
type parkSource struct {
	key      string
	sleeping *atomic.Bool // worker 1 is in "b"'s call
	bDone    *atomic.Bool
}

func (parkSource) Partitions(context.Context) ([]string, error) { return []string{"a", "b"}, nil }

func (s parkSource) Build(_ context.Context, p source.Part, _ []byte) (source.Partition[weir.KV[int]], error) {
	return &parkPart{src: s, name: p.Partition}, nil
}

type parkPart struct {
	src  parkSource
	name string
	n    int // calls for "b", batches for "a"
	wake time.Time
}

func (p *parkPart) Next(context.Context) ([]weir.KV[int], error) {
	if p.name == "b" {
		if p.n++; p.n == 10 {
			p.src.bDone.Store(true)
			return nil, errEOF
		}
		p.src.sleeping.Store(true)
		time.Sleep(time.Second)
		p.src.sleeping.Store(false)
		return nil, nil // looked at again at once
	}
	switch {
	case p.n < 2 && p.src.sleeping.Load():
		// Worker 1 cannot wake while this round goes on: the bubble's clock stands still
		// until every goroutine is blocked.
		p.n++
		out := make([]weir.KV[int], 100)
		for i := range out {
			out[i] = weir.KV[int]{Key: p.src.key, Value: 1}
		}
		p.wake = time.Time{}
		return out, nil
	case p.n < 2:
		p.wake = time.Now().Add(time.Millisecond)
		return nil, nil
	case p.src.bDone.Load():
		return nil, errEOF
	}
	p.wake = time.Now().Add(time.Second)
	return nil, nil
}
func (p *parkPart) NextAwake() time.Time { return p.wake }
func (p *parkPart) Snapshot() []byte     { return nil }
func (p *parkPart) Close() error         { return nil }

// A worker that finds itself congested at the end of a round catches up to the others'
// epochs before it waits without a timer. Here worker 1 is behind and parks worker 0's
// batch of epoch 2 in one round: its load crosses its limit when it reports the parked
// bytes at the end of that round, after the round's start found it uncongested (the
// receive had just drained the queued bytes, and the parked ones were not yet reported),
// so the round did not catch up. It then waited for a wake that nothing would send:
// worker 0, congested on it and not behind, waits too, and the crossing of worker 1's
// own credit wakes only the others. Worker 0 sends while worker 1 sleeps inside "b", not
// in its wait: several messages sent to a waiting worker leave a wake in its channel
// after the first has woken it, which would give it the round that catches up; the hang
// in TestSourceResumesExactly (connectors/kafka) needed the same rare timing. Before,
// the run hung until its deadline every time; now it ends when "b" does, ten seconds in.
func TestCongestedAtRoundEndCatchesUp(t *testing.T) {
	key := ""
	for i := 0; key == ""; i++ {
		if k := strconv.Itoa(i); keyhash.Of(k)%2 == 1 {
			key = k
		}
	}
	synctest.Test(t, func(t *testing.T) {
		flow := weir.NewDataflow("park")
		in := op.Input("in", flow, parkSource{key: key, sleeping: new(atomic.Bool), bDone: new(atomic.Bool)})
		sums := op.StatefulBatch("sum", in, func(s int, _ bool) op.Logic[int, int, int] { return &sumLogic{Sum: s} })
		out := weirtest.NewSink[weir.KV[int]]()
		op.Output("out", sums, out)
		p, err := plan.New(graph.FlowOf(flow))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
		defer cancel()
		start := time.Now()
		// An interval of 0: epochs move on only as a worker reads, or catches up.
		err = engine.Run(ctx, p, engine.Config{Workers: 2, InFlightBytes: 1})
		if err != nil {
			t.Fatalf("run: %v after %v, want it to end once b does (ten seconds in)", err, time.Since(start))
		}
		if d := time.Since(start); d > 20*time.Second {
			t.Errorf("run took %v, want about ten seconds", d)
		}
		if got := out.Items(); len(got) != 1 || got[0].Value != 200 {
			t.Errorf("sums %v, want {%s 200}", got, key)
		}
	})
}
