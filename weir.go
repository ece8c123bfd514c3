package weir

import (
	"fmt"

	"github.com/weirflow/weir/internal/graph"
)

// Dataflow is a directed graph of named steps. Declare steps on it with the functions of
// packages op and window, then run it with package run. It holds the engine's record of
// the steps privately: a flow can be extended only through operators.
type Dataflow struct {
	g    *graph.Dataflow
	root *Scope
}

// NewDataflow starts an empty dataflow. The id must not be empty or contain '.'; an invalid
// id is kept as the flow's build error, returned by every way of running it.
func NewDataflow(id string) *Dataflow {
	f := &Dataflow{g: graph.NewDataflow(id)}
	f.root = &Scope{flow: f, path: id}
	return f
}

// ID returns the dataflow's id, the first part of every full step id.
func (f *Dataflow) ID() string { return f.g.ID() }

// Err returns the flow's first build error (an invalid or duplicate step id, an invalid
// argument, the zero Stream given to an operator), or nil. Every way of running the flow
// returns it too, so checking it is only needed to fail early.
func (f *Dataflow) Err() error { return f.g.Err() }

// Scope returns the flow's top-level scope, where its inputs are declared.
func (f *Dataflow) Scope() *Scope { return f.root }

// Fail records err as the flow's build error unless one is already kept. Operators use it
// for invalid arguments, so that building never panics and the first mistake is reported.
func (f *Dataflow) Fail(err error) { f.g.Fail(err) }

// Scope is where steps are declared: a dataflow's top level or the inside of a composite
// step. A step's full id is its scope's path and its own id joined by '.'.
type Scope struct {
	flow *Dataflow
	path string // full id of the scope: "flow" or "flow.step.sub"
}

// Flow returns the dataflow the scope belongs to.
func (s *Scope) Flow() *Dataflow { return s.flow }

// Path returns the scope's full id: the flow's id, or a composite step's full id.
func (s *Scope) Path() string { return s.path }

// Nest declares a composite step id inside s and returns the scope of its inner steps,
// whose full ids are "s.id.inner". An invalid or duplicate id becomes the flow's build error.
func (s *Scope) Nest(id string) *Scope {
	return &Scope{flow: s.flow, path: s.flow.g.Claim(s.path, id)}
}

// Stream is the typed output of a step. A stream may feed several steps; each gets every
// item.
//
// The zero Stream was declared by no operator, and passing it to one is a build error; see
// the package doc for where it is reported. Operators never return it for a real input.
type Stream[T any] struct {
	scope *Scope
	port  graph.Port // the step output the items come from; Node is nil for no step
	err   error      // the build error a stream declared by no operator carries
}

// Scope returns the scope the stream is visible in, nil for the zero Stream.
func (s Stream[T]) Scope() *Scope { return s.scope }

// Flow returns the stream's dataflow, or nil for the zero Stream.
func (s Stream[T]) Flow() *Dataflow {
	if s.scope == nil {
		return nil
	}
	return s.scope.flow
}

// KV is a keyed item. The key decides which worker owns the key's state.
type KV[V any] struct {
	Key   string
	Value V
}

// String formats kv as "(key, value)", the value with %v.
func (kv KV[V]) String() string { return fmt.Sprintf("(%s, %v)", kv.Key, kv.Value) }

// KeyedStream is a stream of keyed items. Every stream operator also works on keyed streams.
type KeyedStream[V any] = Stream[KV[V]]

// In returns s as seen from scope sc, so that steps declared on the result get ids nested
// in sc. Composite operators use it with Scope.Nest; see Composite for the common case.
// A stream that no operator declared stays one: the first step given it inside sc
// records the build error on sc's flow.
func In[T any](sc *Scope, s Stream[T]) Stream[T] {
	return Stream[T]{scope: sc, port: s.port, err: s.err}
}

// Composite declares a composite step: body builds inner steps on up, their ids nested as
// "parent.id.inner", and the stream it returns is handed back to the caller's scope.
//
// Operators with several inputs or outputs use Scope.Nest and In directly.
//
// When no operator declared up (the zero Stream), body is not called: the build error is
// recorded on the flow of up's scope if it has one, and the stream returned carries it
// on, as the package doc describes.
func Composite[X, Y any](id string, up Stream[X], body func(Stream[X]) Stream[Y]) Stream[Y] {
	outer := up.scope
	if up.port.Node == nil {
		// Declared by no operator: the step is not built, and the error is recorded on the
		// flow when up is visible in a scope, or carried on to the next step otherwise.
		err := up.err
		if err == nil {
			path := ""
			if outer != nil {
				path = outer.path
			}
			err = graph.ZeroInput(path, id, 0, 1)
		}
		if outer != nil {
			outer.flow.Fail(err)
		}
		return Stream[Y]{scope: outer, err: err}
	}
	inner := outer.Nest(id)
	return In(outer, body(In(inner, up)))
}
