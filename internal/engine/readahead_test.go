package engine_test

import (
	"context"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/internal/engine"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/source"
	"github.com/weirflow/weir/weirtest"
)

// slowing returns its first fast items at once, then each of its next slow items after
// wait: a source that suddenly blocks.
type slowing struct {
	fast, slow int
	wait       time.Duration
	next       int
}

func (s *slowing) Build(context.Context, source.Part, []byte) (source.Partition[int], error) {
	return s, nil
}
func (s *slowing) Next(context.Context) ([]int, error) {
	if s.next == s.fast+s.slow {
		return nil, errEOF
	}
	if s.next >= s.fast {
		time.Sleep(s.wait)
	}
	s.next++
	return []int{s.next - 1}, nil
}
func (s *slowing) Snapshot() []byte { return nil }
func (s *slowing) Close() error     { return nil }

// A round that read a batch polls the sources again while rounds are short (the worker's
// read-ahead), without an epoch's close or a notification due between rounds waiting for
// more than a few batches. Here a source suddenly blocks for wait before each item, under
// an epoch interval of a second: an epoch then holds a second's worth of items (perEpoch),
// or one more read before the close was seen to be due, but for one epoch, where the
// round that met the slowdown still read ahead, up to 8 batches. That epoch shows when the
// source blocks for a whole interval (the fast rounds, which took no time here, had
// reached 8 polls a round); when it blocks for a tenth, the first second holds it.
func TestReadAheadAfterSlowdown(t *testing.T) {
	for _, c := range []struct {
		wait time.Duration
		over int // epochs holding more than perEpoch+1 slow items
	}{{time.Second, 1}, {100 * time.Millisecond, 0}} {
		t.Run(fmt.Sprint(c.wait), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const fast, slow = 96, 50
				perEpoch := int(time.Second / c.wait)
				slowIn := map[uint64]int{}
				flow := weir.NewDataflow("ahead")
				s := op.Input("in", flow, &slowing{fast: fast, slow: slow, wait: c.wait})
				s = op.InspectDebug("see", s, func(_ string, x int, epoch uint64, _ int) {
					if x >= fast {
						slowIn[epoch]++
					}
				})
				op.Output("out", s, weirtest.NewSink[int]())
				if err := runFlow(t, flow, engine.Config{EpochInterval: time.Second}); err != nil {
					t.Fatal(err)
				}
				var counts []int
				for e := range uint64(len(slowIn)) {
					counts = append(counts, slowIn[e+1])
				}
				over := 0
				for _, n := range counts {
					if n > perEpoch+1 {
						over++
					}
					if n > perEpoch+8 {
						over = -1
						break
					}
				}
				if over != c.over {
					t.Errorf("slow items by epoch %v: want %d epochs over %d, and none over %d", counts, c.over, perEpoch+1, perEpoch+8)
				}
			})
		})
	}
}
