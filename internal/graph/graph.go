package graph

import (
	"fmt"
	"strings"
)

// Dataflow is the record of the core primitives a program declares: the nodes, the full
// step ids in use and the first build error. Package weir's Dataflow wraps it; the build
// layer reaches it through FlowOf and the plan reads it.
type Dataflow struct {
	id    string
	nodes []*Node
	ids   map[string]bool // every full step id in use, composites included
	err   error
}

// NewDataflow starts an empty record. An invalid id is kept as the flow's build error.
func NewDataflow(id string) *Dataflow {
	f := &Dataflow{id: id, ids: map[string]bool{}}
	if err := checkID(id); err != nil {
		f.Fail(fmt.Errorf("weir: dataflow id %q: %w", id, err))
	}
	return f
}

// ID returns the dataflow's id, the path of its top-level scope.
func (f *Dataflow) ID() string { return f.id }

// Err returns the first build error, or nil.
func (f *Dataflow) Err() error { return f.err }

// Nodes returns the flow's primitives in the order they were declared.
func (f *Dataflow) Nodes() []*Node { return f.nodes }

// Fail records err as the flow's build error unless one is already kept. Operators use it
// for invalid arguments; building never panics.
func (f *Dataflow) Fail(err error) {
	if f.err == nil {
		f.err = err
	}
}

func checkID(id string) error {
	switch {
	case id == "":
		return fmt.Errorf("empty id")
	case strings.Contains(id, "."):
		return fmt.Errorf("id must not contain '.'")
	}
	return nil
}

// Claim reserves the full id path+"."+id for a step declared in the scope whose full id
// is path, recording a build error when id is invalid or the full id taken. It returns
// the full id either way, so that building goes on and reports the first error only.
func (f *Dataflow) Claim(path, id string) string {
	full := path + "." + id
	if err := checkID(id); err != nil {
		f.Fail(fmt.Errorf("weir: step id %q in %s: %w", id, path, err))
		return full
	}
	if f.ids[full] {
		f.Fail(fmt.Errorf("weir: duplicate step id %q", full))
		return full
	}
	f.ids[full] = true
	return full
}

// Port names one output of a node.
type Port struct {
	Node *Node
	Out  int
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
