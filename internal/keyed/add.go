package keyed

import (
	"github.com/weirflow/weir/internal/batch"
	"github.com/weirflow/weir/internal/graph"
)

// Add declares a StatefulBatch node in up's scope, its logics built by a builder
// made once per worker, so that the logics of one worker may share scratch space. Workers
// run concurrently: nothing perWorker makes may be shared between them.
func Add[V, W, S any](id string, up graph.Stream[graph.KV[V]], perWorker func() func(resume S, ok bool) Logic[V, W, S]) graph.Stream[graph.KV[W]] {
	sc := up.Scope()
	if sc == nil {
		return graph.Stream[graph.KV[W]]{}
	}
	spec := &graph.StatefulSpec{New: func() graph.StatefulRuntime { return New[V, W, S](perWorker()) }}
	n := graph.AddNode(sc, id, graph.Stateful, []graph.Port{up.Port()}, 1, batch.NewOps[graph.KV[V]](), spec)
	return graph.Out[graph.KV[W]](sc, n, 0)
}
