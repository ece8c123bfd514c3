// Package weir is a stateful stream-processing framework for Go: a program declares a
// dataflow of named steps, and weir runs it on one or many workers, keeping per-key state.
//
// # Dataflows and steps
//
// NewDataflow starts a flow. Every operator call (package op, package window) adds one step
// with a user-given id, unique within its scope; the step's full id is "flow.step", and the
// steps a composite operator builds inside itself are nested: "flow.step.sub". Invalid and
// duplicate ids are build errors: building never panics, the first error is kept on the
// flow (Dataflow.Err) and returned by every way of running it.
//
// # Streams and keys
//
// Stream[T] is the typed output of a step. KeyedStream[V] is an alias of Stream[KV[V]]:
// keys are strings, and a stable hash of the key decides which worker owns its state.
//
// # Composite operators
//
// Operators are plain functions. Users write their own the same way, with Composite (one
// input, one output) or Scope.Nest and In:
//
//	func Doubled(id string, up weir.Stream[int]) weir.Stream[int] {
//		return weir.Composite(id, up, func(in weir.Stream[int]) weir.Stream[int] {
//			return op.Map("double", in, func(x int) int { return 2 * x })
//		})
//	}
//
// # Errors
//
// A panic or error in user code stops the run; package run returns a *StepError naming
// the full step id (and key or partition) that wraps the cause.
package weir
