package op_test

import (
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/weirtest"
)

func TestCollect(t *testing.T) {
	type out struct {
		Key   string
		Items string
		At    time.Duration // since the start of the run
	}
	a, b, c := func(v int) weir.KV[int] { return kvOf("a", v) }, func(v int) weir.KV[int] { return kvOf("b", v) }, func(v int) weir.KV[int] { return kvOf("c", v) }
	tests := []struct {
		name    string
		src     *weirtest.Source[weir.KV[int]]
		timeout time.Duration
		max     int
		want    []out
	}{
		{"by_size", weirtest.NewSource(a(1), b(1), a(2), a(3), a(4), b(2), a(5), a(6)), time.Minute, 3,
			[]out{{"a", "[1 2 3]", 0}, {"a", "[4 5 6]", 0}, {"b", "[1 2]", 0}}},
		{"by_size_in_one_batch", weirtest.NewSource(a(1), a(2), a(3), a(4), a(5), b(1), a(6), a(7)).BatchSize(8), time.Minute, 2,
			// One batch: several lists of one key come out together, the rest waits for EOF.
			[]out{{"a", "[1 2]", 0}, {"a", "[3 4]", 0}, {"a", "[5 6]", 0}, {"a", "[7]", 0}, {"b", "[1]", 0}}},
		{"size_one", weirtest.NewSource(a(1), b(1), a(2)), time.Minute, 1,
			[]out{{"a", "[1]", 0}, {"b", "[1]", 0}, {"a", "[2]", 0}}},
		{"by_timeout_since_last_item", weirtest.NewSource(a(1), b(1)).Pause(5 * time.Second).
			Then(a(2)).Pause(7 * time.Second). // b times out at 10s; a's deadline moved to 15s
			Then(a(3)).                        // a is full at 12s
			Then(c(1)).Pause(30 * time.Second).Then(c(2)),
			10 * time.Second, 3,
			[]out{{"b", "[1]", 10 * time.Second}, {"a", "[1 2 3]", 12 * time.Second}, {"c", "[1]", 22 * time.Second}, {"c", "[2]", 42 * time.Second}}},
		{"timeouts_fire_in_key_order", weirtest.NewSource(b(1), c(1), a(1)).BatchSize(3).Pause(time.Hour), time.Second, 0,
			[]out{{"a", "[1]", time.Second}, {"b", "[1]", time.Second}, {"c", "[1]", time.Second}}},
		{"at_eof", weirtest.NewSource(b(1), a(1), b(2)), time.Minute, 10,
			[]out{{"a", "[1]", 0}, {"b", "[1 2]", 0}}},
		{"no_limits_waits_for_eof", weirtest.NewSource(b(1), a(1)).Pause(time.Hour).Then(b(2), a(2), a(3)), 0, 0,
			[]out{{"a", "[1 2 3]", time.Hour}, {"b", "[1 2]", time.Hour}}},
		{"no_timeout", weirtest.NewSource(a(1), a(2)).Pause(time.Hour).Then(a(3), b(1)), -time.Second, 3,
			[]out{{"a", "[1 2 3]", time.Hour}, {"b", "[1]", time.Hour}}},
		{"fresh_list_after_timeout", weirtest.NewSource(a(1)).Pause(2*time.Second).Then(a(2), a(3)).Pause(2 * time.Second).Then(a(4)), time.Second, 3,
			[]out{{"a", "[1]", time.Second}, {"a", "[2 3]", 3 * time.Second}, {"a", "[4]", 4 * time.Second}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				start := time.Now()
				var got []out
				runSource(t, 1, tt.src, func(s weir.KeyedStream[int]) weir.KeyedStream[[]int] {
					return op.InspectWith("rec", op.Collect("col", s, tt.timeout, tt.max), func(_ string, kv weir.KV[[]int]) {
						got = append(got, out{kv.Key, fmt.Sprint(kv.Value), time.Since(start)})
					})
				})
				diffOut(t, got, tt.want)
			})
		})
	}
}

// TestCollectListsAreOwned checks that emitted lists do not share memory with the
// pending list or each other: downstream may keep and change them.
func TestCollectListsAreOwned(t *testing.T) {
	var in []weir.KV[int]
	for i := range 20 {
		in = append(in, kvOf("k", i))
	}
	got := runItems(t, 1, 7, in, func(s weir.KeyedStream[int]) weir.KeyedStream[[]int] {
		return op.MapValue("scribble", op.Collect("col", s, 0, 3), func(l []int) []int {
			l = append(l, -1) // would overwrite the next list's first item if shared
			return l[:len(l)-1]
		})
	})
	diffOut(t, fmt.Sprint(got), "[(k, [0 1 2]) (k, [3 4 5]) (k, [6 7 8]) (k, [9 10 11]) (k, [12 13 14]) (k, [15 16 17]) (k, [18 19])]")
}
