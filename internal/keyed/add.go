package keyed

import (
	"github.com/weirflow/weir"
	"github.com/weirflow/weir/internal/batch"
	"github.com/weirflow/weir/internal/graph"
)

// Add declares a StatefulBatch node in up's scope, its logics built by a builder
// made once per worker, so that the logics of one worker may share scratch space. Workers
// run concurrently: nothing perWorker makes may be shared between them.
func Add[V, W, S any](id string, up weir.KeyedStream[V], perWorker func() func(resume S, ok bool) Logic[V, W, S]) weir.KeyedStream[W] {
	spec := &graph.StatefulSpec{New: func() graph.StatefulRuntime { return New[V, W, S](perWorker()) }}
	st := graph.Declare(id, up)
	return graph.Out[weir.KeyedStream[W]](st, st.Add(graph.Stateful, 1, batch.NewOps[weir.KV[V]](), spec), 0)
}
