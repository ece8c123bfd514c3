package graph

import (
	"fmt"
	"strings"
)

// Dataflow is the graph of core primitives a program declares. See package weir.
type Dataflow struct {
	root  *Scope
	nodes []*Node
	ids   map[string]bool // every full step id in use, composites included
	err   error
}

// NewDataflow starts an empty dataflow. An invalid id is kept as the flow's build error.
func NewDataflow(id string) *Dataflow {
	f := &Dataflow{ids: map[string]bool{}}
	f.root = &Scope{flow: f, path: id}
	if err := checkID(id); err != nil {
		f.fail(fmt.Errorf("weir: dataflow id %q: %w", id, err))
	}
	return f
}

// ID returns the dataflow's id.
func (f *Dataflow) ID() string { return f.root.path }

// Err returns the first build error, or nil. Every way of running the flow returns it too.
func (f *Dataflow) Err() error { return f.err }

// Scope returns the flow's top-level scope.
func (f *Dataflow) Scope() *Scope { return f.root }

// Nodes returns the flow's primitives in the order they were declared.
func (f *Dataflow) Nodes() []*Node { return f.nodes }

func (f *Dataflow) fail(err error) {
	if f.err == nil {
		f.err = err
	}
}

// Fail records err as the flow's build error unless one is already kept. Operators use it
// for invalid arguments; building never panics.
func (f *Dataflow) Fail(err error) { f.fail(err) }

func checkID(id string) error {
	switch {
	case id == "":
		return fmt.Errorf("empty id")
	case strings.Contains(id, "."):
		return fmt.Errorf("id must not contain '.'")
	}
	return nil
}

// Scope is where steps are declared: a flow's top level or the inside of a composite step.
type Scope struct {
	flow *Dataflow
	path string // full id of the scope: "flow" or "flow.step.sub"
}

// Flow returns the dataflow the scope belongs to.
func (s *Scope) Flow() *Dataflow { return s.flow }

// Path returns the scope's full id.
func (s *Scope) Path() string { return s.path }

// Nest declares a composite step id inside s and returns the scope of its inner steps,
// whose full ids are "s.id.inner". An invalid or duplicate id becomes the flow's build error.
func (s *Scope) Nest(id string) *Scope {
	return &Scope{flow: s.flow, path: s.claim(id)}
}

// claim reserves the full id s.path+"."+id, recording a build error when it is invalid or taken.
func (s *Scope) claim(id string) string {
	full := s.path + "." + id
	if err := checkID(id); err != nil {
		s.flow.fail(fmt.Errorf("weir: step id %q in %s: %w", id, s.path, err))
		return full
	}
	if s.flow.ids[full] {
		s.flow.fail(fmt.Errorf("weir: duplicate step id %q", full))
		return full
	}
	s.flow.ids[full] = true
	return full
}

// Port names one output of a node.
type Port struct {
	Node *Node
	Out  int
}

// Stream is the typed output of a step. See package weir.
type Stream[T any] struct {
	scope *Scope
	port  Port
}

// Scope returns the scope the stream is visible in: its step's parent scope.
func (s Stream[T]) Scope() *Scope { return s.scope }

// Flow returns the stream's dataflow, or nil for the zero Stream.
func (s Stream[T]) Flow() *Dataflow {
	if s.scope == nil {
		return nil
	}
	return s.scope.flow
}

// Port returns the node output the stream comes from.
func (s Stream[T]) Port() Port { return s.port }

// In returns s as seen from scope sc: the same items, with steps declared on it nested in sc.
func In[T any](sc *Scope, s Stream[T]) Stream[T] { return Stream[T]{scope: sc, port: s.port} }

// KV is a keyed item. See package weir.
type KV[V any] struct {
	Key   string
	Value V
}

func (kv KV[V]) String() string { return fmt.Sprintf("(%s, %v)", kv.Key, kv.Value) }

// kvType is implemented by *KV[V] for every V: it lets KeyFunc find the key of a T that is
// a KV without knowing V, once at build time instead of boxing each item.
type kvType interface{ keyFunc() any }

func (*KV[V]) keyFunc() any { return func(kv *KV[V]) string { return kv.Key } }

// KeyFunc returns the function that reads the key of a T when T is a KV type, else nil.
func KeyFunc[T any]() func(*T) string {
	if k, ok := any((*T)(nil)).(kvType); ok {
		return k.keyFunc().(func(*T) string)
	}
	return nil
}

// Kind is the kind of a core primitive.
type Kind int

// The core primitives: the only operators the engine knows.
const (
	Input Kind = iota
	Output
	FlatMapBatch
	Branch
	Merge
	Redistribute
	Inspect
	Stateful
)

var kindNames = [...]string{"input", "output", "flat_map_batch", "branch", "merge", "redistribute", "inspect_debug", "stateful_batch"}

func (k Kind) String() string { return kindNames[k] }

// Node is one core primitive of the graph.
type Node struct {
	ID      string // full step id
	Kind    Kind
	Inputs  []Port
	Outputs int
	Batch   BatchOps // operations on batches of the node's input items
	Spec    any      // *InputSpec, *OutputSpec, ... by kind
}

// AddNode declares a primitive in scope sc with the given step id and upstream ports and
// returns it. Operators call it through the typed helpers in package op.
func AddNode(sc *Scope, id string, kind Kind, inputs []Port, outputs int, batch BatchOps, spec any) *Node {
	n := &Node{ID: sc.claim(id), Kind: kind, Inputs: inputs, Outputs: outputs, Batch: batch, Spec: spec}
	for _, in := range inputs {
		if in.Node == nil {
			sc.flow.fail(fmt.Errorf("weir: step %s: upstream stream is not part of a dataflow", n.ID))
		}
	}
	sc.flow.nodes = append(sc.flow.nodes, n)
	return n
}

// Out returns output port i of n as a stream of T visible in sc.
func Out[T any](sc *Scope, n *Node, i int) Stream[T] {
	return Stream[T]{scope: sc, port: Port{Node: n, Out: i}}
}
