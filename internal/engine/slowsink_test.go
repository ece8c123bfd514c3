package engine_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/internal/engine"
	"github.com/weirflow/weir/internal/graph"
	"github.com/weirflow/weir/internal/keyhash"
	"github.com/weirflow/weir/internal/plan"
	"github.com/weirflow/weir/internal/state"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/sink"
	"github.com/weirflow/weir/source"
)

// endless is a source of three partitions that each emit a batch of distinct keyed
// strings every millisecond, until the run is stopped.
type endless struct{ batch int }

func (endless) Partitions(context.Context) ([]string, error) { return []string{"a", "b", "c"}, nil }

func (s endless) Build(_ context.Context, p source.Part, _ []byte) (source.Partition[weir.KV[string]], error) {
	return &endlessPart{name: p.Partition, batch: s.batch}, nil
}

type endlessPart struct {
	name  string
	batch int
	n     int
	wake  time.Time
}

func (p *endlessPart) Next(context.Context) ([]weir.KV[string], error) {
	out := make([]weir.KV[string], p.batch)
	for i := range out {
		out[i] = weir.KV[string]{Key: strconv.Itoa(p.n % 97), Value: fmt.Sprintf("%s-%013d", p.name, p.n)}
		p.n++
	}
	p.wake = time.Now().Add(time.Millisecond)
	return out, nil
}
func (p *endlessPart) NextAwake() time.Time { return p.wake }
func (p *endlessPart) Snapshot() []byte     { return strconv.AppendInt(nil, int64(p.n), 10) }
func (p *endlessPart) Close() error         { return nil }

// slowSink is a partitioned sink of one partition whose writes take perItem per item.
type slowSink struct {
	perItem time.Duration
	written *atomic.Int64
}

func (slowSink) Partitions(context.Context) ([]string, error) { return []string{"only"}, nil }

func (s slowSink) Build(context.Context, sink.Part, []byte) (sink.Partition[weir.KV[string]], error) {
	return &slowPart{slowSink: s}, nil
}

type slowPart struct {
	slowSink
	n int
}

func (p *slowPart) Write(items []weir.KV[string]) error {
	time.Sleep(time.Duration(len(items)) * p.perItem)
	p.n += len(items)
	p.written.Add(int64(len(items)))
	return nil
}
func (p *slowPart) Snapshot() []byte { return strconv.AppendInt(nil, int64(p.n), 10) }
func (p *slowPart) Close() error     { return nil }

// commitClock is a store that records when epochs commit: when the lowest frontier over
// the workers moves.
type commitClock struct {
	*state.Memory
	workers  int
	mu       sync.Mutex
	frontier map[int]uint64
	low      uint64
	at       []time.Time
}

func newCommitClock(workers int) *commitClock {
	return &commitClock{Memory: state.NewMemory(), workers: workers, frontier: map[int]uint64{}}
}

func (c *commitClock) Write(worker int, epochs []state.Epoch) error {
	err := c.Memory.Write(worker, epochs)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.frontier[worker] = epochs[len(epochs)-1].Epoch + 1
	if len(c.frontier) < c.workers {
		return err
	}
	low := uint64(0)
	for _, f := range c.frontier {
		if low == 0 || f < low {
			low = f
		}
	}
	if low > c.low {
		c.low = low
		c.at = append(c.at, time.Now())
	}
	return err
}

// slowSinkRun runs a flow of three sources on three workers into a sink of one
// partition 100 times slower per item than a source for d, with a store and epochs of
// interval, and returns the gaps between commits (the first from the start) and the items
// written. With heap, it also returns HeapInuse sampled every second.
func slowSinkRun(t *testing.T, d, interval time.Duration, heap bool) (gaps []time.Duration, written int, heaps []uint64) {
	t.Helper()
	const batch = 1000 // per partition and millisecond: 1 µs an item
	flow := weir.NewDataflow("slow")
	var n atomic.Int64
	op.Output("out", op.Input("in", flow, endless{batch: batch}), slowSink{perItem: 100 * time.Microsecond, written: &n})
	p, err := plan.New(graph.FlowOf(flow))
	if err != nil {
		t.Fatal(err)
	}
	store := newCommitClock(3)
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	done := make(chan struct{})
	if heap {
		go func() {
			tick := time.NewTicker(time.Second)
			defer tick.Stop()
			var ms runtime.MemStats
			for {
				select {
				case <-done:
					return
				case <-tick.C:
					runtime.ReadMemStats(&ms)
					heaps = append(heaps, ms.HeapInuse)
				}
			}
		}()
	}
	start := time.Now()
	err = engine.Run(ctx, p, engine.Config{Workers: 3, EpochInterval: interval, Store: store})
	close(done)
	if err != context.DeadlineExceeded {
		t.Fatalf("run: %v, want the deadline", err)
	}
	store.mu.Lock()
	defer store.mu.Unlock()
	last := start
	for _, at := range store.at {
		gaps = append(gaps, at.Sub(last))
		last = at
	}
	gaps = append(gaps, start.Add(d).Sub(last)) // the time since the last commit counts too
	return gaps, int(n.Load()), heaps
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// A sink much slower than its sources: epochs keep committing every few intervals,
// because only about two intervals' worth of data waits in front of it, and what waits
// (queued or parked for a later epoch) stays small. Before, 64 MiB of batch headers
// (hundreds of MiB) queued in front of the sink and no epoch committed until the sink had
// written all of it.
func TestSlowSinkKeepsCommitting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const interval = 100 * time.Millisecond
		stop := engine.MaxLoad()
		gaps, written, _ := slowSinkRun(t, 5*time.Second, interval, false)
		loads := stop()
		t.Logf("%d commits, gaps: median %v, max %v; max load by worker %v; %d items written",
			len(gaps)-1, median(gaps), slices.Max(gaps), loads, written)
		if worst := slices.Max(gaps); worst > 10*interval {
			t.Errorf("%v without a commit; want at most 10 epoch intervals (%v)", worst, 10*interval)
		}
		// The sink is kept busy: it writes 10,000 items a second at most. (Its worker's
		// epochs, one per round of 100 ms or more, fell behind the others' while their data
		// waited parked for them, and the sink idled.)
		if written < 45_000 {
			t.Errorf("%d items written in 5s, want at least 45,000 (90%% of what the sink can write)", written)
		}
		// The sink drains about 10,000 items (500 KiB) a second: two intervals of it, plus
		// a batch from each source that was on its way when they paused.
		for w, load := range loads {
			if load > 1<<20 {
				t.Errorf("worker %d held %d bytes, want at most 1 MiB", w, load)
			}
		}
	})
}

// The slow sink for longer, in real time, with the heap sampled every second: the figures
// in docs/ARCHITECTURE.md. Set WEIR_SLOW_SINK to a duration (e.g. 60s) to run it.
func TestSlowSinkLong(t *testing.T) {
	v := os.Getenv("WEIR_SLOW_SINK")
	if v == "" {
		t.Skip("set WEIR_SLOW_SINK to a duration to run")
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		t.Fatal(err)
	}
	gaps, written, heaps := slowSinkRun(t, d, 100*time.Millisecond, true)
	mib := make([]string, len(heaps))
	for i, h := range heaps {
		mib[i] = strconv.FormatUint(h>>20, 10)
	}
	t.Logf("%d commits in %v, gaps: median %v, max %v; %d items written; HeapInuse MiB each second: %v",
		len(gaps)-1, d, median(gaps), slices.Max(gaps), written, mib)
}

// aheadSource has two partitions: "a" emits a batch every millisecond of keys that all
// belong to worker 0 (of 2); "b" blocks for a while in its first call, so that its worker's
// epochs, and the progress it sends, stay behind, and then never has anything.
type aheadSource struct {
	keys  []string
	block time.Duration
}

func (aheadSource) Partitions(context.Context) ([]string, error) { return []string{"a", "b"}, nil }

func (s aheadSource) Build(_ context.Context, p source.Part, _ []byte) (source.Partition[weir.KV[string]], error) {
	return &aheadPart{src: s, name: p.Partition}, nil
}

type aheadPart struct {
	src  aheadSource
	name string
	n    int
	wake time.Time
}

func (p *aheadPart) Next(context.Context) ([]weir.KV[string], error) {
	p.wake = time.Now().Add(time.Millisecond)
	if p.name == "b" {
		if p.n == 0 {
			time.Sleep(p.src.block)
		}
		p.n++
		return nil, nil // nothing, ever
	}
	out := make([]weir.KV[string], 1000)
	for i := range out {
		out[i] = weir.KV[string]{Key: p.src.keys[p.n%len(p.src.keys)], Value: fmt.Sprintf("%013d", p.n)}
		p.n++
	}
	return out, nil
}
func (p *aheadPart) NextAwake() time.Time { return p.wake }
func (p *aheadPart) Snapshot() []byte     { return nil }
func (p *aheadPart) Close() error         { return nil }

// Data parked at a stateful step for a later epoch counts toward the in-flight limit: a
// worker whose step waits for another worker's progress does not park everything its
// sources read meanwhile. Before, parked data was not counted, and a worker read on.
func TestParkedDataCounts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		loads, written := aheadRun(t, 100*time.Millisecond, 2*time.Second, 3*time.Second)
		t.Logf("max load by worker %v, %d items written", loads, written)
		if loads[0] > 1<<20 {
			t.Errorf("worker 0 held %d bytes, want at most 1 MiB", loads[0])
		}
	})
}

// Without an epoch interval, a worker moves its epochs on only when it reads: one whose
// source has nothing held back every epoch of the others, and their data stayed parked
// (before, growing without bound). Now the worker behind catches up once the parked data
// congests the cluster.
func TestParkedDataCountsNoInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		loads, written := aheadRun(t, 0, 100*time.Millisecond, time.Second)
		t.Logf("max load by worker %v, %d items written", loads, written)
		if loads[0] > 1<<20 {
			t.Errorf("worker 0 held %d bytes, want at most 1 MiB", loads[0])
		}
		if written < 100_000 {
			t.Errorf("%d items written in a second, want at least 100,000", written)
		}
	})
}

// aheadRun counts the items of an aheadSource per key on 2 workers for d, with the given
// epoch interval and the time partition b blocks, and returns the largest load of each
// worker and how many counts were written.
func aheadRun(t *testing.T, interval, block, d time.Duration) (map[int]int, int) {
	t.Helper()
	var keys []string // keys of worker 0
	for i := 0; len(keys) < 50; i++ {
		if k := strconv.Itoa(i); keyhash.Of(k)%2 == 0 {
			keys = append(keys, k)
		}
	}
	flow := weir.NewDataflow("ahead")
	in := op.Input("in", flow, aheadSource{keys: keys, block: block})
	counts := op.StatefulMap("count", in, func(st *op.State[int], _ string) int {
		n, _ := st.Get()
		st.Set(n + 1)
		return n + 1
	})
	var written atomic.Int64
	op.Output("out", counts, sink.Func(func(items []weir.KV[int]) error {
		written.Add(int64(len(items)))
		return nil
	}))
	p, err := plan.New(graph.FlowOf(flow))
	if err != nil {
		t.Fatal(err)
	}
	stop := engine.MaxLoad()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	err = engine.Run(ctx, p, engine.Config{Workers: 2, EpochInterval: interval})
	loads := stop()
	if err != context.DeadlineExceeded {
		t.Fatalf("run: %v, want the deadline", err)
	}
	return loads, int(written.Load())
}
