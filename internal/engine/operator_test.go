package engine

import (
	"fmt"
	"slices"
	"testing"

	"github.com/weirflow/weir/internal/batch"
)

// closings records what pending.close asks of an operator, in order.
type closings []string

func (c *closings) apply(e uint64, b any) error {
	*c = append(*c, fmt.Sprintf("apply %d %v", e, b))
	return nil
}

func (c *closings) closeEpoch(e uint64, last bool) error {
	s := fmt.Sprintf("close %d", e)
	if last {
		s += " last"
	}
	*c = append(*c, s)
	return nil
}

// A pending closes the epochs between two frontiers in order, each after the data held
// for it, applies the data of the new frontier, and keeps later epochs' data, with the
// parked bytes counted in the worker's load.
func TestPendingClose(t *testing.T) {
	tests := []struct {
		name     string
		park     map[uint64][]int
		from, to uint64
		want     []string
		left     []uint64 // epochs still held
	}{{
		name: "nothing held",
		from: 2, to: 3,
		want: []string{"close 2"},
	}, {
		name: "epochs in order, later ones kept",
		park: map[uint64][]int{5: {50}, 3: {30, 31}, 7: {70}, 6: {60}},
		from: 2, to: 6,
		want: []string{"close 2", "apply 3 [30 31]", "close 3", "apply 5 [50]", "close 5", "apply 6 [60]"},
		left: []uint64{7},
	}, {
		name: "the end closes the last epoch as the last",
		park: map[uint64][]int{4: {40}, 9: {90}},
		from: 3, to: never,
		want: []string{"close 3", "apply 4 [40]", "close 4", "apply 9 [90]", "close 9 last"},
	}, {
		name: "the end with nothing held",
		from: 3, to: never,
		want: []string{"close 3 last"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var l load
			ops := batch.NewOps[int]()
			p := newPending(ops, &l)
			total := 0
			for e, items := range tt.park {
				for _, x := range items {
					b := []int{x}
					total += ops.Bytes(b)
					p.park(e, b)
				}
			}
			if l.held != total {
				t.Fatalf("held %d after parking, want %d", l.held, total)
			}
			var got closings
			if err := p.close(&got, tt.from, tt.to); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, closings(tt.want)) {
				t.Errorf("close %d→%d:\n got %q\nwant %q", tt.from, tt.to, got, tt.want)
			}
			var left []uint64
			leftBytes := 0
			for e, q := range p.byEpoch {
				left = append(left, e)
				leftBytes += q.bytes
			}
			slices.Sort(left)
			if !slices.Equal(left, tt.left) {
				t.Errorf("still held: epochs %v, want %v", left, tt.left)
			}
			if l.held != leftBytes || l.drained != total-leftBytes || l.worked != (total > leftBytes) {
				t.Errorf("load %+v; want held %d, drained %d", l, leftBytes, total-leftBytes)
			}
		})
	}
}
