package op

import (
	"runtime/debug"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/internal/batch"
	"github.com/weirflow/weir/internal/graph"
)

// The pre-reduction of ReduceFinal (and so of CountFinal, MaxFinal and MinFinal) is a
// combiner before the exchange, as Flink's local-global aggregation and Spark's map-side
// combine are: each worker reduces what it reads to one partial value per key and sends
// only those to the keys' owners. Within one batch it would save little (1000 keys in a
// batch of 1024 items are ~640 distinct keys), so it holds its partials across the
// batches of an epoch, and the engine has it emit them when the epoch closes (see
// graph.Holder): one item per key and epoch crosses instead of every item, and nothing
// held outlives an epoch, so there is nothing new to snapshot or resume. With one worker
// there is no exchange to save, but the combiner's lookup in a Go map still costs less
// than the stateful step's per item, so it combines there too.

const (
	// combineKeys is the most keys a worker's combiner holds before it emits them all,
	// which bounds its memory on streams of many keys.
	combineKeys = 1 << 14
	// combineJudge is the least number of items a combiner must have taken since its
	// last emit for the ratio of keys to items to say whether combining pays.
	combineJudge = 256
	// combineSkip is how many batches a combiner passes through as they are, once its
	// keys barely repeated, before it tries again.
	combineSkip = 63
)

// combiner is the per-worker pre_reduce step: out holds one partial value per key, in
// the order the keys first came, and at gives each key's index in out.
type combiner[V any] struct {
	step    string // the step's id, for a panic's error
	reducer func(acc, v V) V
	at      map[string]int32
	out     []weir.KV[V]
	box     boxed[weir.KV[V]]
	in      int  // items combined into out
	emitted bool // out was handed on: empty it before the next use
	skip    int  // batches to pass through before combining again
}

// combine declares the step "id", which pre-reduces its input with reducer.
func combine[V any](id string, up weir.KeyedStream[V], reducer func(acc, v V) V) weir.KeyedStream[V] {
	var n *graph.Node
	spec := &graph.FlatMapSpec{Hold: func() graph.Holder {
		return &combiner[V]{step: n.ID, reducer: reducer, at: map[string]int32{}}
	}}
	st := graph.Declare(id, up)
	n = st.Add(graph.FlatMapBatch, 1, batch.NewOps[weir.KV[V]](), spec)
	return graph.Out[weir.KeyedStream[V]](st, n, 0)
}

// Batch combines a batch into the partials, emitting them all once they hold
// combineKeys keys. A stream whose keys barely repeat gains little from combining and
// pays a map lookup per item: its batches pass through as they are for a while.
func (c *combiner[V]) Batch(b any) any {
	if c.skip > 0 {
		c.skip--
		return b
	}
	c.reset()
	items := b.([]weir.KV[V])
	i := 0
	defer func() {
		if r := recover(); r != nil {
			panic(graph.StepPanic{Err: &graph.StepError{Step: c.step, Key: items[i].Key, Cause: &graph.PanicError{Value: r, Stack: debug.Stack()}}})
		}
	}()
	for ; i < len(items); i++ {
		kv := &items[i]
		if j, ok := c.at[kv.Key]; ok {
			c.out[j].Value = c.reducer(c.out[j].Value, kv.Value)
			continue
		}
		c.at[kv.Key] = int32(len(c.out))
		c.out = append(c.out, *kv)
	}
	c.in += len(items)
	if len(c.out) >= combineKeys {
		return c.Flush()
	}
	return nil
}

// Flush emits the partials. The engine borrows the batch until its consumers are done
// with it, so the table is emptied at its next use, not here.
func (c *combiner[V]) Flush() any {
	c.reset()
	if len(c.out) == 0 {
		return nil
	}
	if c.in >= combineJudge && 2*len(c.out) > c.in {
		c.skip = combineSkip
	}
	c.emitted = true
	return c.box.of(c.out)
}

// reset empties the table after an emit.
func (c *combiner[V]) reset() {
	if !c.emitted {
		return
	}
	c.emitted = false
	clear(c.at)
	clear(c.out) // let go of what the values point to
	c.out = c.out[:0]
	c.in = 0
}
