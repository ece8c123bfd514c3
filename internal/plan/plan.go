// Package plan turns a declared dataflow into what the engine runs: it validates the
// graph, lists the primitives in an order where every node comes after its upstreams,
// connects outputs to consumers, and decides every exchange between workers.
//
// Composite operators need no flattening here: the build layer records only core
// primitives (with nested ids), so the plan is the graph with edges and exchanges. The one
// rewrite is fusion: a chain of stateless steps that declare per-item functions (op.Map),
// each the only consumer of the one before, runs as one loop in the chain's first node.
package plan

import (
	"errors"
	"fmt"

	"github.com/weirflow/weir/internal/graph"
)

// Exchange says how items cross from the workers that produce them to the workers that
// consume them on an edge.
type Exchange int

const (
	// Local edges stay on the producing worker.
	Local Exchange = iota
	// ByKey routes each keyed item to hash(key) % workers: the input of a stateful step.
	ByKey
	// ByPartition routes each keyed item to the owner of partition hash(key) % partitions,
	// and every item of an unkeyed stream to the empty key's: the input of a partitioned
	// sink.
	ByPartition
	// Even spreads items round robin over all workers: Redistribute.
	Even
)

// Plan is a validated dataflow ready to run.
type Plan struct {
	Flow  string
	Nodes []*Node // every node after its upstreams
	Edges []*Edge // numbered by Edge.ID
}

// Node is a primitive with its edges.
type Node struct {
	*graph.Node
	Index   int
	In      []*Edge   // by input port
	Out     [][]*Edge // by output port: every consumer of that output
	Sharded bool      // a partitioned input or sink: partitions are assigned to workers

	// FlatMap makes the batch function of a FlatMapBatch node for one worker: the node's
	// own, or, when later nodes are fused into it, the chain's.
	FlatMap func() func(batch any) any
	// Emit is the node whose consumers get what the node emits: the node itself, or the
	// last node fused into it.
	Emit *Node
	// FusedInto is the node whose chain runs this node's function. Such a node receives
	// no batches; its frontier follows its upstream's as any node's does.
	FusedInto *Node
}

// Edge connects an output port to an input port.
type Edge struct {
	ID       int
	From     *Node
	Port     int // output port of From
	To       *Node
	In       int // input port of To
	Exchange Exchange
}

// ErrNoInput and ErrNoOutput are the build errors of a flow that cannot do anything.
var (
	ErrNoInput  = errors.New("dataflow needs at least one input step")
	ErrNoOutput = errors.New("dataflow needs at least one output or inspect step")
)

// New validates flow and plans it.
func New(flow *graph.Dataflow) (*Plan, error) {
	if err := flow.Err(); err != nil {
		return nil, err
	}
	p := &Plan{Flow: flow.ID()}
	index := map[*graph.Node]*Node{}
	var inputs, outputs int
	for i, gn := range flow.Nodes() {
		r := roleOf(gn)
		n := &Node{Node: gn, Index: i, In: make([]*Edge, len(gn.Inputs)), Out: make([][]*Edge, gn.Outputs), Sharded: r.sharded}
		n.Emit = n
		if r.input {
			inputs++
		}
		if r.output {
			outputs++
		}
		for port, in := range gn.Inputs {
			from, ok := index[in.Node]
			if !ok {
				return nil, fmt.Errorf("weir: step %s: upstream %s is not declared before it", gn.ID, in.Node.ID)
			}
			e := &Edge{ID: len(p.Edges), From: from, Port: in.Out, To: n, In: port, Exchange: r.exchange}
			p.Edges = append(p.Edges, e)
			n.In[port] = e
			from.Out[in.Out] = append(from.Out[in.Out], e)
		}
		index[gn] = n
		p.Nodes = append(p.Nodes, n)
	}
	switch {
	case inputs == 0:
		return nil, fmt.Errorf("weir: dataflow %s: %w", flow.ID(), ErrNoInput)
	case outputs == 0:
		return nil, fmt.Errorf("weir: dataflow %s: %w", flow.ID(), ErrNoOutput)
	}
	for _, n := range p.Nodes {
		fuse(n)
	}
	return p, nil
}

// fuse sets up a FlatMapBatch node's batch function, fusing into it the chain of nodes
// after it: each the only consumer of the one before, on a local edge, with a chain of its
// own that continues the previous one. Nodes come in plan order, so a chain's first node
// is reached before the others.
func fuse(n *Node) {
	if n.Kind != graph.FlatMapBatch || n.FusedInto != nil {
		return
	}
	spec := n.Spec.(*graph.FlatMapSpec)
	n.FlatMap = spec.New
	chain := spec.Chain
	for chain != nil && len(n.Emit.Out[0]) == 1 {
		e := n.Emit.Out[0][0]
		if e.To.Kind != graph.FlatMapBatch || e.Exchange != Local {
			return
		}
		next := e.To.Spec.(*graph.FlatMapSpec).Chain
		if next == nil {
			return
		}
		fused, ok := chain.Then(next)
		if !ok {
			return
		}
		chain = fused
		e.To.FusedInto, n.Emit, n.FlatMap = n, e.To, chain.New
	}
}

// role is what the planner needs to know of a kind of primitive.
type role struct {
	input    bool     // the flow needs one: data comes in here
	output   bool     // the flow needs one: data goes out (or is seen) here
	sharded  bool     // partitions are assigned to workers
	exchange Exchange // how items cross into the node
}

// roleOf is the one place the planner tells the kinds of primitives apart (fusion aside,
// which concerns FlatMapBatch alone).
func roleOf(n *graph.Node) role {
	switch n.Kind {
	case graph.Input:
		return role{input: true, sharded: n.Spec.(*graph.InputSpec).Partitions != nil}
	case graph.Output:
		if n.Spec.(*graph.OutputSpec).Partitions != nil {
			return role{output: true, sharded: true, exchange: ByPartition}
		}
		return role{output: true}
	case graph.Inspect:
		return role{output: true}
	case graph.Stateful:
		return role{exchange: ByKey}
	case graph.Redistribute:
		return role{exchange: Even}
	}
	return role{}
}
