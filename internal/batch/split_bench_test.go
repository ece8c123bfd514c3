package batch_test

import (
	"strconv"
	"testing"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/internal/batch"
	"github.com/weirflow/weir/internal/graph"
	"github.com/weirflow/weir/internal/keyhash"
)

// splitKeys are the keys of the bench's keyed count: "key-0" to "key-999".
func splitItems(n int) []weir.KV[int] {
	items := make([]weir.KV[int], n)
	for i := range items {
		items[i] = weir.KV[int]{Key: "key-" + strconv.Itoa((i*7919)%1000), Value: i}
	}
	return items
}

// TestSplitByKeyRoutes checks that ByKey puts every item where its key's hash says,
// in order, for destinations that are a power of two (masked) or not (divided), and
// through an owner table (a partitioned sink's), and items without a key where "" goes.
func TestSplitByKeyRoutes(t *testing.T) {
	items := splitItems(3000)
	for _, r := range []graph.Route{{Mod: 1}, {Mod: 2}, {Mod: 3}, {Mod: 4}, {Mod: 7}, {Mod: 8},
		{Mod: 5, Owner: []int{1, 0, 1, 2, 0}}, {Mod: 2, Owner: []int{2, 0}}, {Mod: 4, Owner: []int{2, 2, 0, 1}}} {
		n := int(r.Mod)
		if r.Owner != nil {
			n = 3
		}
		sp := batch.NewOps[weir.KV[int]]().NewSplitter(n, 16)
		sp.ByKey(items[:1000], r)
		sp.ByKey(items[1000:], r)
		want := make([][]weir.KV[int], n)
		for _, it := range items {
			d := int(keyhash.Of(it.Key) % r.Mod)
			if r.Owner != nil {
				d = r.Owner[d]
			}
			want[d] = append(want[d], it)
		}
		for d := range n {
			got, _ := sp.Peek(d).([]weir.KV[int])
			if len(got) != len(want[d]) {
				t.Fatalf("route %+v: destination %d has %d items, want %d", r, d, len(got), len(want[d]))
			}
			for i := range got {
				if got[i] != want[d][i] {
					t.Fatalf("route %+v: destination %d item %d is %v, want %v", r, d, i, got[i], want[d][i])
				}
			}
		}
	}
	plain := batch.NewOps[int]().NewSplitter(3, 0)
	plain.ByKey([]int{1, 2, 3}, graph.Route{Mod: 3})
	if d := int(keyhash.Of("") % 3); plain.Len(d) != 3 {
		t.Errorf("items without a key: destination %d has %d items, want all 3", d, plain.Len(d))
	}
}

// TestFNVLowBit checks the two-destination route against the hash, on keys of every
// length up to 40 bytes and every byte value.
func TestFNVLowBit(t *testing.T) {
	var keys []string
	for n := range 41 {
		for seed := range 8 {
			b := make([]byte, n)
			for i := range b {
				b[i] = byte(i*37 + n*11 + seed*101)
			}
			keys = append(keys, string(b))
		}
	}
	for c := range 256 {
		keys = append(keys, string([]byte{byte(c)}), "key-"+string([]byte{byte(c)}))
	}
	for _, k := range append(keys, "ключ", "key-42") {
		if got, want := batch.FNVLowBit(k), int(keyhash.Of(k)%2); got != want {
			t.Errorf("FNVLowBit(%q) = %d, want %d", k, got, want)
		}
	}
}

// TestSplitByKeyAllocs checks that splitting into buffers with room allocates nothing:
// the exchange splits every batch it sends.
func TestSplitByKeyAllocs(t *testing.T) {
	var items any = splitItems(1024) // a batch, as the engine holds it
	sp := batch.NewOps[weir.KV[int]]().NewSplitter(2, 1024)
	r := graph.Route{Mod: 2}
	if a := testing.AllocsPerRun(100, func() {
		sp.ByKey(items, r)
		sp.Reset(0)
		sp.Reset(1)
	}); a != 0 {
		t.Errorf("ByKey of a batch of 1024 into 2 buffers with room: %v allocations, want 0", a)
	}
}

// BenchmarkSplitByKey is the exchange's work per item at two workers: the keyed count's
// items, split by key into two buffers.
func BenchmarkSplitByKey(b *testing.B) {
	for _, r := range []graph.Route{{Mod: 2}, {Mod: 3}} {
		b.Run(strconv.Itoa(int(r.Mod)), func(b *testing.B) {
			var items any = splitItems(1024)
			n := int(r.Mod)
			sp := batch.NewOps[weir.KV[int]]().NewSplitter(n, 1024)
			for b.Loop() {
				sp.ByKey(items, r)
				for d := range n {
					sp.Reset(d)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1024, "ns/item")
		})
	}
}
