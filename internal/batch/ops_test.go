package batch

import (
	"strings"
	"testing"
	"time"

	"github.com/weirflow/weir"
)

type event struct {
	ID   int64
	Name string
	Data []byte
	tags [2]string
}

type node struct {
	Name string
	Next *node
}

type withMap struct {
	M map[string]int
}

// Bytes counts what items hold, not only their headers: a limit on it means memory.
func TestBytes(t *testing.T) {
	long := strings.Repeat("x", 1000)
	for _, c := range []struct {
		name string
		got  int
		want int
	}{
		{"nil", NewOps[int]().Bytes(nil), 0},
		{"ints: the array, by capacity", NewOps[int]().Bytes(make([]int, 3, 10)), 80},
		{"strings", NewOps[string]().Bytes([]string{"ab", long}), 2*16 + 2 + 1000},
		{"KV of string", NewOps[weir.KV[string]]().Bytes([]weir.KV[string]{{Key: "k", Value: long}}), 32 + 1 + 1000},
		{"KV of int", NewOps[weir.KV[int]]().Bytes([]weir.KV[int]{{Key: "key", Value: 1}}), 24 + 3},
		{"struct with strings and bytes", NewOps[event]().Bytes([]event{{Name: "n", Data: make([]byte, 5, 50), tags: [2]string{"a", "bc"}}}),
			8 + 16 + 24 + 32 + 1 + 50 + 3},
		{"pointers, sampled", NewOps[*node]().Bytes([]*node{{Name: long, Next: &node{Name: "ab"}}}), 8 + 2*24 + 1000 + 2},
		{"slices of strings, sampled", NewOps[[]string]().Bytes([][]string{{long, long}}), 24 + 2*16 + 2000},
		{"maps, sampled", NewOps[withMap]().Bytes([]withMap{{M: map[string]int{long: 1}}}), 8 + 2*24 + 1000},
		{"interfaces, sampled", NewOps[any]().Bytes([]any{long}), 16 + 16 + 1000},
		// A time's location is the zone's, shared, and not walked (the time package fills
		// time.Local's lazily: walking it raced with that).
		{"times in a zone, sampled", NewOps[time.Time]().Bytes([]time.Time{time.Now().Local()}), 24},
	} {
		if c.got != c.want {
			t.Errorf("%s: %d bytes, want %d", c.name, c.got, c.want)
		}
	}
}

// A sampled type is measured again every sampleEvery batches; in between, batches are
// sized from the last sample.
func TestBytesSampledEstimate(t *testing.T) {
	ops := NewOps[*node]()
	small := []*node{{Name: "a"}, {Name: "b"}}
	big := []*node{{Name: strings.Repeat("x", 100)}, {Name: strings.Repeat("y", 100)}}
	if got, want := ops.Bytes(small), 2*8+2*(24+1); got != want {
		t.Fatalf("first batch: %d, want %d", got, want)
	}
	if got, want := ops.Bytes(big), 2*8+2*(24+1); got != want {
		t.Fatalf("batch between samples: %d, want %d (the last sample's estimate)", got, want)
	}
	for range sampleEvery - 2 {
		ops.Bytes(big)
	}
	if got, want := ops.Bytes(big), 2*8+2*(24+100); got != want {
		t.Errorf("batch %d: %d, want %d (sampled again)", sampleEvery+1, got, want)
	}
}

func BenchmarkBytes(b *testing.B) {
	items := make([]weir.KV[int], 1024)
	for i := range items {
		items[i].Key = "key"
	}
	ops := NewOps[weir.KV[int]]()
	for b.Loop() {
		ops.Bytes(items)
	}
}

// A long batch is sized from a spread sample of its items, scaled to its length.
func TestBytesLongBatch(t *testing.T) {
	items := make([]string, 1000)
	for i := range items {
		items[i] = strings.Repeat("x", 10+i%2)
	}
	got, want := NewOps[string]().Bytes(items), 1000*16+10500
	if got < want*95/100 || got > want*105/100 {
		t.Errorf("%d bytes, want about %d", got, want)
	}
}

// Sizing a batch of a sampled type between samples allocates nothing: the batch is not
// boxed again for the sampler.
func TestBytesSampledNoAllocs(t *testing.T) {
	ops := NewOps[*node]()
	var b any = []*node{{Name: "a"}, {Name: "b"}}
	ops.Bytes(b)
	// Samples, every sampleEvery batches, allocate a little; far less than one per batch.
	if n := testing.AllocsPerRun(1000, func() { ops.Bytes(b) }); n != 0 {
		t.Errorf("%v allocations per batch, want 0", n)
	}
}

// TestDecodedBytes checks that a batch sent to another process is counted as the
// receiver holds it, its array by length: a sender's reused buffer has room for a whole
// FlushItems, and counting that made each small message weigh tens of kilobytes.
func TestDecodedBytes(t *testing.T) {
	ops := NewOps[weir.KV[int]]()
	roomy := make([]weir.KV[int], 3, 1024)
	for i := range roomy {
		roomy[i] = weir.KV[int]{Key: "key", Value: i}
	}
	exact := append([]weir.KV[int](nil), roomy...)[:3:3]
	if got, want := ops.DecodedBytes(roomy), ops.Bytes(exact); got != want || want != 3*(24+3) {
		t.Errorf("DecodedBytes of 3 items in room for 1024: %d, want %d (the 3 items and their keys, 81)", got, want)
	}
	if got := ops.Bytes(roomy); got != 1024*24+3*3 {
		t.Errorf("Bytes of the same batch: %d, want its whole array and the keys, %d", got, 1024*24+3*3)
	}
	if got := ops.DecodedBytes(nil); got != 0 {
		t.Errorf("DecodedBytes(nil) = %d", got)
	}
}
