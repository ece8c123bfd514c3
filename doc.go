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
// Only operators make streams. The zero Stream (a variable declared and never assigned)
// is declared by no operator, and giving it to one is a build error, reported where a
// flow can be reached: an operator with another, real input (op.Merge, a join) records
// "weir: step flow.m: input 2 is the zero Stream (declared by no operator)" on that
// input's flow. An operator whose every input is the zero Stream reaches no flow: it
// declares nothing and returns a stream that carries the error, and so does every
// operator after it, until one that also has a real input records the error on its flow.
// A chain from the zero Stream that never meets a real stream reaches no flow at all, and
// its steps are not part of any run. op.Input with a nil flow is the same case.
//
// Dataflow, Scope and Stream keep the engine's record of the steps in unexported fields:
// the only way to add to a flow is to declare steps on it with operators.
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
