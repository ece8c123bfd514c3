package engine_test

import (
	"sync/atomic"
	"testing"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/internal/engine"
	"github.com/weirflow/weir/internal/graph"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/weirtest"
)

// A pure FlatMapBatch step (graph.FlatMapSpec.Pure) whose output no step consumes is not
// run, so that a window operator's unread Late and Meta splits cost nothing; one that is
// read runs, and so does a step that is not pure, read or not (its function may have
// effects of its own).
func TestUnreadPureStepDoesNotRun(t *testing.T) {
	for _, workers := range []int{1, 2} {
		var readPure, unreadPure, unreadPlain atomic.Int64
		counting := func(id string, up weir.Stream[int], calls *atomic.Int64, pure bool) weir.Stream[int] {
			s := op.FlatMapBatch(id, up, func(xs []int) []int {
				calls.Add(1)
				return xs
			})
			if pure {
				graph.PortOf(s).Node.Spec.(*graph.FlatMapSpec).Pure = true
			}
			return s
		}
		flow := weir.NewDataflow("unread")
		in := op.Input("in", flow, weirtest.NewSource(1, 2, 3))
		out := weirtest.NewSink[int]()
		op.Output("out", counting("read_pure", in, &readPure, true), out)
		counting("unread_pure", in, &unreadPure, true)
		counting("unread_plain", in, &unreadPlain, false)
		if err := runFlow(t, flow, engine.Config{Workers: workers}); err != nil {
			t.Fatal(err)
		}
		if got := len(out.Items()); got != 3 {
			t.Errorf("%d workers: %d items out, want 3", workers, got)
		}
		if readPure.Load() == 0 || unreadPlain.Load() == 0 {
			t.Errorf("%d workers: a read pure step ran %d times and an unread plain one %d, want both to run",
				workers, readPure.Load(), unreadPlain.Load())
		}
		if n := unreadPure.Load(); n != 0 {
			t.Errorf("%d workers: an unread pure step ran %d times, want none", workers, n)
		}
	}
}
