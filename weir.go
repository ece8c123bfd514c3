package weir

import "github.com/weirflow/weir/internal/graph"

// Dataflow is a directed graph of named steps. Declare steps on it with the functions of
// packages op and window, then run it with package run.
type Dataflow = graph.Dataflow

// Stream is the typed output of a step. A stream may feed several steps; each gets every item.
type Stream[T any] = graph.Stream[T]

// KV is a keyed item. The key decides which worker owns the key's state.
type KV[V any] = graph.KV[V]

// KeyedStream is a stream of keyed items. Every stream operator also works on keyed streams.
type KeyedStream[V any] = Stream[KV[V]]

// Scope is where steps are declared: a dataflow's top level or the inside of a composite step.
type Scope = graph.Scope

// StepError is the error of a failed step. It names the step's full id and, where there is
// one, the key or partition; errors.Is and errors.As reach its Cause.
type StepError = graph.StepError

// PanicError holds a value recovered from a panic in user code; it unwraps to the value
// when the value is an error.
type PanicError = graph.PanicError

// NewDataflow starts an empty dataflow. The id must not be empty or contain '.'; an invalid
// id is kept as the flow's build error, returned by every way of running it.
func NewDataflow(id string) *Dataflow { return graph.NewDataflow(id) }

// In returns s as seen from scope sc, so that steps declared on the result get ids nested
// in sc. Composite operators use it with Scope.Nest; see Composite for the common case.
func In[T any](sc *Scope, s Stream[T]) Stream[T] { return graph.In(sc, s) }

// Composite declares a composite step: body builds inner steps on up, their ids nested as
// "parent.id.inner", and the stream it returns is handed back to the caller's scope.
//
// Operators with several inputs or outputs use Scope.Nest and In directly.
func Composite[X, Y any](id string, up Stream[X], body func(Stream[X]) Stream[Y]) Stream[Y] {
	outer := up.Scope()
	if outer == nil {
		return Stream[Y]{}
	}
	inner := outer.Nest(id)
	return In(outer, body(In(inner, up)))
}
