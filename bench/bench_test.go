package bench_test

import (
	"context"
	"io"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/bench"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/source"
	"github.com/weirflow/weir/weirtest"
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
func measure(b *testing.B, name string) {
	j := job(name)
	for b.Loop() {
		if _, err := j.Run(benchItems); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/benchItems, "ns/item")
}

func BenchmarkChain(b *testing.B)        { measure(b, "chain") }
func BenchmarkChainLoop(b *testing.B)    { measure(b, "chain-loop") }
func BenchmarkChainInlined(b *testing.B) { measure(b, "chain-inlined") }
func BenchmarkCount1(b *testing.B)       { measure(b, "count-1w") }
func BenchmarkCount2(b *testing.B)       { measure(b, "count-2w") }
func BenchmarkCountLoop(b *testing.B)    { measure(b, "count-loop") }

// BenchmarkCount1Batch16k is BenchmarkCount1 with batches of 16384 items: each key then
// has about 16 items per batch, which shows the per-key cost of a stateful activation.
func BenchmarkCount1Batch16k(b *testing.B) { measure(b, "count-1w-16k") }

// TestJobs runs every path on small inputs, including ones that end mid-batch and leave a
// worker without items, and checks that each family computes the same result.
func TestJobs(t *testing.T) {
	for _, n := range []int{0, 1, 999, 1000, 1025, 5000} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			wantChain := 0
			for i := range n {
				wantChain += ((i + 1) * 3) ^ 5
			}
			want := map[string]int{"chain": wantChain, "count": n}
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
