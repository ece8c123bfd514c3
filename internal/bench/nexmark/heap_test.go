package nexmark

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func TestMinHeap(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3, 10, 1000} {
		h := minHeap[int]{less: func(a, b int) bool { return a < b }}
		want := make([]int, n)
		for i := range want {
			want[i] = rand.IntN(50)
			h.push(want[i])
		}
		slices.Sort(want)
		got := make([]int, 0, n)
		for h.len() > 0 {
			got = append(got, h.pop())
		}
		if !slices.Equal(got, want) {
			t.Errorf("%d items: popped %v, want %v", n, got, want)
		}
	}
}
