package bench

import "testing"

// A row's ratio is the median of its rounds' ratios, not the ratio of its two medians:
// a round in which the machine ran slow for both sides leaves it as it is.
func TestPairRatio(t *testing.T) {
	for _, tc := range []struct {
		name         string
		weir, anchor []float64
		want         float64
	}{
		{"one round", []float64{3}, []float64{2}, 1.5},
		{"steady", []float64{2, 2, 2}, []float64{1, 1, 1}, 2},
		// The rounds' medians are 12 and 10 (1.2); in every round but one weir took its
		// anchor's time.
		{"a slow spell", []float64{10, 12, 30}, []float64{10, 4, 30}, 1},
		{"even rounds take the upper middle", []float64{1, 2, 3, 4}, []float64{1, 1, 1, 1}, 3},
	} {
		if got := pairRatio(tc.weir, tc.anchor); got != tc.want {
			t.Errorf("%s: pairRatio(%v, %v) = %v, want %v", tc.name, tc.weir, tc.anchor, got, tc.want)
		}
	}
}
