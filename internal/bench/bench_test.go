package bench_test

import (
	"context"
	"io"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/internal/bench"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/source"
	"github.com/weirflow/weir/weirtest"
	"github.com/weirflow/weir/window"
)

// benchItems is how many items one benchmark operation processes: enough that a run's
// setup (planning, starting workers) is a small share of it.
const benchItems = 1 << 20

func job(name string) bench.Job {
	for _, j := range bench.Jobs {
		if j.Name == name {
			return j
		}
	}
	panic("no job " + name)
}

// measure runs a job benchItems items per operation and reports the time per item, the
// unit of DESIGN.md's budget.
func measure(b *testing.B, name string) { measureN(b, name, benchItems) }

func measureN(b *testing.B, name string, n int) {
	j := job(name)
	for b.Loop() {
		if _, err := j.Run(n); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/item")
}

func BenchmarkChain(b *testing.B)          { measure(b, "chain") }
func BenchmarkChainLoop(b *testing.B)      { measure(b, "chain-loop") }
func BenchmarkChainInlined(b *testing.B)   { measure(b, "chain-inlined") }
func BenchmarkChainBatchLoop(b *testing.B) { measure(b, "chain-batchloop") }
func BenchmarkCount1(b *testing.B)         { measure(b, "count-1w") }
func BenchmarkCount2(b *testing.B)         { measure(b, "count-2w") }
func BenchmarkCountLoop(b *testing.B)      { measure(b, "count-loop") }

// BenchmarkCount1Batch16k is BenchmarkCount1 with batches of 16384 items: each key then
// has about 16 items per batch, which shows the per-key cost of a stateful activation.
func BenchmarkCount1Batch16k(b *testing.B) { measure(b, "count-1w-16k") }

// The windowed paths run at bench.WindowEvents events per operation, as in the report.
func BenchmarkWindowCount1(b *testing.B)  { measureN(b, "window-1w", bench.WindowEvents) }
func BenchmarkWindowLoop(b *testing.B)    { measureN(b, "window-loop", bench.WindowEvents) }
func BenchmarkWindowMapLoop(b *testing.B) { measureN(b, "window-maploop", bench.WindowEvents) }

// TestJobs runs every path on small inputs, including ones that end mid-batch and leave a
// worker without items, and checks that each family computes the same result.
func TestJobs(t *testing.T) {
	for _, n := range []int{0, 1, 999, 1000, 1025, 5000} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			wantChain := 0
			for i := range n {
				wantChain += ((i + 1) * 3) ^ 5
			}
			want := map[string]int{"chain": wantChain, "count": n, "window": windowSum(n)}
			for _, j := range bench.Jobs {
				family, _, _ := strings.Cut(j.Name, "-")
				w, ok := want[family]
				if !ok {
					t.Fatalf("%s: no expected result for family %q", j.Name, family)
				}
				got, err := j.Run(n)
				if err != nil {
					t.Fatalf("%s: %v", j.Name, err)
				}
				if got != w {
					t.Errorf("%s: got %d, want %d", j.Name, got, w)
				}
			}
		})
	}
}

// windowSum is what the windowed paths return for the first n events: every event's
// window id plus one, added up.
func windowSum(n int) int {
	per := int(bench.WindowLength / bench.EventStep)
	sum := 0
	for i := range n {
		sum += i/per + 1
	}
	return sum
}

// windowN is an input of the windowed paths over three windows, the last one with fewer
// events than keys.
const windowN = 2*int(bench.WindowLength/bench.EventStep) + bench.WindowKeys*7/10

// TestWindowJobs runs the windowed paths over several windows: weir and both anchors must
// agree with the expected sum.
func TestWindowJobs(t *testing.T) {
	want := windowSum(windowN)
	for _, j := range bench.Jobs {
		if !strings.HasPrefix(j.Name, "window-") {
			continue
		}
		got, err := j.Run(windowN)
		if err != nil {
			t.Fatalf("%s: %v", j.Name, err)
		}
		if got != want {
			t.Errorf("%s: got %d, want %d", j.Name, got, want)
		}
	}
}

// TestWindowCountPerKey checks every (key, window) count of window.Count on the windowed
// paths' input against counts made directly from the events, with one and two workers,
// and that nothing is late. Time is frozen, so that a slow run (the race detector) cannot
// make the clock's watermark overtake a key's next event.
func TestWindowCountPerKey(t *testing.T) {
	type pair struct {
		key string
		id  int64
	}
	want := map[pair]int{}
	for i := range windowN {
		e := bench.EventAt(i)
		want[pair{e.Key, int64(e.At.Sub(bench.EventBase) / bench.WindowLength)}]++
	}
	if len(want) != bench.WindowPairs(windowN) {
		t.Fatalf("WindowPairs(%d) = %d, want %d", windowN, bench.WindowPairs(windowN), len(want))
	}
	for _, workers := range []int{1, 2} {
		t.Run(strconv.Itoa(workers), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				flow := weir.NewDataflow("window_count")
				s := op.Input("events", flow, bench.NewEvents(windowN, workers))
				counts := window.Count("count", s, window.EventClock(func(e bench.Event) time.Time { return e.At }, 0),
					window.Tumbling(bench.WindowLength, bench.EventBase), func(e bench.Event) string { return e.Key })
				down := weirtest.NewSink[weir.KV[window.Windowed[int]]]()
				late := weirtest.NewSink[weir.KV[window.Windowed[bench.Event]]]()
				op.Output("down", counts.Down, down)
				op.Output("late", counts.Late, late)
				weirtest.Run(t, flow, workers)
				if n := len(late.Items()); n > 0 {
					t.Errorf("%d late events", n)
				}
				got := map[pair]int{}
				for _, kv := range down.Items() {
					p := pair{kv.Key, kv.Value.Window}
					if _, dup := got[p]; dup {
						t.Errorf("%v counted twice", p)
					}
					got[p] = kv.Value.Value
				}
				if !maps.Equal(got, want) {
					t.Errorf("got %d counts, want %d; they differ", len(got), len(want))
				}
			})
		})
	}
}

// TestCountPerKey checks every key's count, not just their sum, with both worker counts.
func TestCountPerKey(t *testing.T) {
	const n = 2*bench.Keys + 7
	for _, workers := range []int{1, 2} {
		t.Run(strconv.Itoa(workers), func(t *testing.T) {
			flow := weir.NewDataflow("count")
			s := op.Input("ints", flow, bench.NewInts(n, workers).BatchSize(100))
			out := weirtest.NewSink[weir.KV[int]]()
			op.Output("out", op.CountFinal("count", s, func(x int) string { return strconv.Itoa(x % bench.Keys) }), out)
			weirtest.Run(t, flow, workers)
			got := out.Items()
			if len(got) != bench.Keys {
				t.Fatalf("got %d keys, want %d", len(got), bench.Keys)
			}
			for _, kv := range got {
				k, _ := strconv.Atoi(kv.Key)
				want := 2
				if k < 7 {
					want = 3
				}
				if kv.Value != want {
					t.Errorf("key %s: got %d, want %d", kv.Key, kv.Value, want)
				}
			}
		})
	}
}

// TestInts checks the generator: every int once, partitions in order, in batches no larger
// than asked, each partition ending with io.EOF; every batch is read from a partition
// resumed from the previous one's snapshot, as a restarted run would.
func TestInts(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct{ n, parts, batch int }{
		{0, 1, 4}, {10, 1, 4}, {10, 3, 4}, {10, 12, 1}, {1000, 2, 1024},
	} {
		src := bench.NewInts(tc.n, tc.parts).BatchSize(tc.batch)
		names, _ := src.Partitions(ctx)
		if len(names) != tc.parts || !slices.IsSorted(names) {
			t.Fatalf("%+v: partitions %q", tc, names)
		}
		var all []int
		for _, name := range names {
			// Read one batch, then resume from its snapshot as a restarted run would.
			p, err := src.Build(ctx, source.Part{Partition: name}, nil)
			if err != nil {
				t.Fatal(err)
			}
			b, err := p.Next(ctx)
			for {
				if len(b) > tc.batch {
					t.Fatalf("%+v: batch of %d", tc, len(b))
				}
				all = append(all, b...)
				if err != nil {
					break
				}
				if p, err = src.Build(ctx, source.Part{Partition: name}, p.Snapshot()); err != nil {
					t.Fatal(err)
				}
				b, err = p.Next(ctx)
			}
			if err != io.EOF {
				t.Fatalf("%+v: partition %s ended with %v", tc, name, err)
			}
		}
		for i, x := range all {
			if x != i {
				t.Fatalf("%+v: item %d is %d", tc, i, x)
			}
		}
		if len(all) != tc.n {
			t.Fatalf("%+v: %d items, want %d", tc, len(all), tc.n)
		}
	}
}

func TestIntsBuildErrors(t *testing.T) {
	src := bench.NewInts(10, 2) // partitions "0" (0-4) and "1" (5-9)
	for _, tc := range []struct {
		part   string
		resume []byte
	}{
		{"2", nil},          // no such partition
		{"x", nil},          // not a partition name
		{"0", []byte{0xff}}, // truncated varint
		{"1", []byte{3}},    // position before the partition's range
		{"0", []byte{6}},    // position past the partition's range
	} {
		if _, err := src.Build(context.Background(), source.Part{Partition: tc.part}, tc.resume); err == nil {
			t.Errorf("Build(%q, %x): no error", tc.part, tc.resume)
		}
	}
}

// TestEvents checks the windowed paths' generator as TestInts checks Ints: every event
// once, each key's events from one partition and in time order, batches no larger than
// asked, and a partition resumed from any batch's snapshot going on from there.
func TestEvents(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct{ n, parts, batch int }{
		{0, 1, 4}, {10, 1, 4}, {10, 3, 4}, {3*bench.WindowKeys + 17, 3, 1000}, {2*bench.WindowKeys - 1, 7, 333},
	} {
		src := bench.NewEvents(tc.n, tc.parts).BatchSize(tc.batch)
		names, _ := src.Partitions(ctx)
		if len(names) != tc.parts {
			t.Fatalf("%+v: partitions %q", tc, names)
		}
		seen := make([]bool, tc.n)
		partOf := map[string]string{}
		last := map[string]time.Time{}
		for _, name := range names {
			p, err := src.Build(ctx, source.Part{Partition: name}, nil)
			if err != nil {
				t.Fatal(err)
			}
			for {
				b, err := p.Next(ctx)
				if len(b) > tc.batch {
					t.Fatalf("%+v: batch of %d", tc, len(b))
				}
				for _, e := range b {
					i := int(e.At.Sub(bench.EventBase) / bench.EventStep)
					if i < 0 || i >= tc.n || seen[i] || bench.EventAt(i) != e {
						t.Fatalf("%+v: unexpected event %v", tc, e)
					}
					seen[i] = true
					if q, ok := partOf[e.Key]; ok && q != name {
						t.Fatalf("%+v: key %s in partitions %s and %s", tc, e.Key, q, name)
					}
					if !e.At.After(last[e.Key]) {
						t.Fatalf("%+v: key %s goes back in time", tc, e.Key)
					}
					partOf[e.Key], last[e.Key] = name, e.At
				}
				if err != nil {
					if err != io.EOF {
						t.Fatalf("%+v: partition %s ended with %v", tc, name, err)
					}
					break
				}
				if p, err = src.Build(ctx, source.Part{Partition: name}, p.Snapshot()); err != nil {
					t.Fatal(err)
				}
			}
		}
		for i, ok := range seen {
			if !ok {
				t.Fatalf("%+v: event %d missing", tc, i)
			}
		}
	}
}

func TestEventsBuildErrors(t *testing.T) {
	src := bench.NewEvents(10, 2) // partitions "0" (keys below WindowKeys/2) and "1"
	for _, tc := range []struct {
		part   string
		resume []byte
	}{
		{"2", nil},          // no such partition
		{"x", nil},          // not a partition name
		{"0", []byte{0xff}}, // truncated varint
		{"1", []byte{3}},    // an event of partition 0
	} {
		if _, err := src.Build(context.Background(), source.Part{Partition: tc.part}, tc.resume); err == nil {
			t.Errorf("Build(%q, %x): no error", tc.part, tc.resume)
		}
	}
}

// The recovery paths (issue 4). An operation of the aggregate benchmarks runs long enough
// for a few snapshots; compare BenchmarkAggregate with BenchmarkAggregateRecovery.
const aggBenchItems = 1 << 24

func BenchmarkAggregate(b *testing.B) {
	measureFunc(b, aggBenchItems, func(n int) (int, error) { return bench.Aggregate(context.Background(), n, "") })
}

func BenchmarkAggregateRecovery(b *testing.B) {
	measureFunc(b, aggBenchItems, func(n int) (int, error) { return bench.AggregateRecovery(context.Background(), n) })
}

func measureFunc(b *testing.B, n int, run func(int) (int, error)) {
	for b.Loop() {
		if _, err := run(n); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/item")
}

// BenchmarkResume times resuming bench.ResumeKeys keys of state, built once before the
// timer starts: s/op is a whole resuming run; the store's own share and the time to the
// first new item are reported beside it.
func BenchmarkResume(b *testing.B) {
	dir := filepath.Join(b.TempDir(), "recovery")
	if err := bench.BuildResumeStore(context.Background(), dir, bench.ResumeKeys); err != nil {
		b.Fatal(err)
	}
	var store, first time.Duration
	for b.Loop() {
		t, err := bench.Resume(context.Background(), dir, bench.ResumeKeys)
		if err != nil {
			b.Fatal(err)
		}
		store += t.Store
		first += t.FirstItem
	}
	b.ReportMetric(store.Seconds()/float64(b.N), "store-s/op")
	b.ReportMetric(first.Seconds()/float64(b.N), "first-item-s/op")
}

// TestRecoveryPaths checks the recovery paths on small inputs: the aggregate computes the
// same with and without recovery, and a resume finds every key and continues the flow.
func TestRecoveryPaths(t *testing.T) {
	for _, n := range []int{0, 1, 1025, bench.AggKeys + 5000} {
		want := bench.AggregateLoop(n)
		plain, err := bench.Aggregate(context.Background(), n, "")
		if err != nil {
			t.Fatal(err)
		}
		rec, err := bench.AggregateRecovery(context.Background(), n)
		if err != nil {
			t.Fatal(err)
		}
		if plain != want || rec != want {
			t.Errorf("n=%d: aggregate %d, with recovery %d, want %d", n, plain, rec, want)
		}
	}
	dir := filepath.Join(t.TempDir(), "recovery")
	const keys = 3000
	if err := bench.BuildResumeStore(context.Background(), dir, keys); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		got, err := bench.Resume(context.Background(), dir, keys)
		if err != nil {
			t.Fatal(err)
		}
		if got.Keys != keys+i {
			t.Errorf("resume %d: %d keys, want %d", i, got.Keys, keys+i)
		}
	}
}
