package engine_test

import (
	"context"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/internal/engine"
	"github.com/weirflow/weir/internal/graph"
	"github.com/weirflow/weir/internal/keyhash"
	"github.com/weirflow/weir/internal/plan"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/source"
)

// TestSentBytesAsDecoded runs a keyed sum on two processes of one worker, fed in small
// batches by one partition, and checks that the bytes sent to the other process (its
// credit, and WorkerStatus.SentBytes) are what the items weigh there, 24 bytes per KV[int]
// and its one-byte key: counted by the capacity of the sender's reused buffer (room for
// FlushItems), each message of a few items weighed about 24 KiB, and the credit toward a
// remote worker ran out after a few messages.
func TestSentBytesAsDecoded(t *testing.T) {
	const n = 2000
	items := make([]int, n)
	for i := range items {
		items[i] = i
	}
	flow := weir.NewDataflow("sent")
	in := op.Input("in", flow, source.FromSlice(items...).BatchSize(8))
	op.Inspect("see", op.StatefulBatch("sum", keyBy("key", in, 4), newSum))
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
	stats := []*engine.Stats{engine.NewStats(), engine.NewStats()}
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Go(func() {
			ctx := engine.WithStats(context.Background(), stats[i])
			errs[i] = engine.Run(ctx, p, engine.Config{Workers: 1, EpochInterval: 50 * time.Millisecond,
				Cluster: &engine.Cluster{Process: i, Addresses: addrs, HeartbeatTimeout: 5 * time.Second}})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("process %d: %v", i, err)
		}
	}
	// Items of keys owned by worker w, which the other worker sends it when it reads the
	// one partition.
	var owned [2]int
	for _, x := range items {
		owned[keyhash.Of(strconv.Itoa(x%4))%2]++
	}
	for p := range 2 {
		sent := stats[p].Read().WorkerStatus[0].SentBytes
		if len(sent) != 2 {
			t.Fatalf("process %d: SentBytes %v, want one count per process", p, sent)
		}
		if got := sent[1-p]; got != 0 && got != int64(owned[1-p])*25 {
			t.Errorf("process %d sent %d bytes to the other, want %d (%d items of 25 bytes)", p, got, owned[1-p]*25, owned[1-p])
		}
		if sent[p] != 0 {
			t.Errorf("process %d counts %d bytes sent to itself", p, sent[p])
		}
	}
	if s0, s1 := stats[0].Read().WorkerStatus[0].SentBytes[1], stats[1].Read().WorkerStatus[0].SentBytes[0]; s0 == 0 && s1 == 0 {
		t.Error("neither process sent anything to the other")
	}
}
