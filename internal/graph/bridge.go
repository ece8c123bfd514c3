package graph

import "fmt"

// Package weir's Dataflow, Scope and Stream keep their fields unexported, so that a user
// cannot reach or change the record, and package weir imports only this one. The build
// layer (packages op, window, keyed, run, plan) still needs the record behind them: the
// Bridge is how it gets there. Package weir installs it in its init, and everything here
// is build time only: no batch or item ever goes through it.

// Site is where a stream is visible: the record of its flow, the full id of its scope,
// and the public scope itself (a *weir.Scope), which the build layer only hands back.
// The zero Site is no place at all: the site of a stream that no operator declared.
type Site struct {
	Flow  *Dataflow
	Path  string
	Scope any
}

// Bridge reaches into package weir's types, which are passed as `any` because this
// package cannot name them.
type Bridge struct {
	// Flow returns the record of a *weir.Dataflow, nil for a nil one.
	Flow func(flow any) *Dataflow
	// Root returns the top-level site of a *weir.Dataflow, the zero Site for a nil one.
	Root func(flow any) Site
	// Stream returns the site and port of a weir.Stream[T], and the build error it
	// carries: port.Node is nil for a stream that no operator declared (the zero Stream,
	// or the output of a step whose every input was such a stream).
	Stream func(s any) (site Site, port Port, err error)
	// SetStream sets *s, a *weir.Stream[T], to the stream of port in site carrying err.
	SetStream func(s any, site Site, port Port, err error)
	// KeyFunc returns, for a nil *weir.KV[V], the func(*weir.KV[V]) string that reads an
	// item's key, and nil for a pointer to any other type.
	KeyFunc func(p any) any
}

var bridge Bridge

// SetBridge installs b. Package weir calls it from its init, before any flow exists.
func SetBridge(b Bridge) { bridge = b }

// FlowOf returns the record of flow, a *weir.Dataflow.
func FlowOf(flow any) *Dataflow { return bridge.Flow(flow) }

// PortOf returns the node output that s, a weir.Stream[T], comes from; Node is nil when no
// operator declared s.
func PortOf(s any) Port {
	_, p, _ := bridge.Stream(s)
	return p
}

// KeyFunc returns the function that reads the key of a T when T is a weir.KV type, else
// nil. It is found once per type at build time, so that routing by key does not box each
// item. Without package weir in the program there is no KV type, and nil is right.
func KeyFunc[T any]() func(*T) string {
	if bridge.KeyFunc == nil {
		return nil
	}
	f, _ := bridge.KeyFunc((*T)(nil)).(func(*T) string)
	return f
}

// ZeroInput is the build error of a step (id, declared in the scope whose full id is
// path, "" when the step has no scope) whose input i of n is a stream no operator declared.
func ZeroInput(path, id string, i, n int) error {
	step := id
	if path != "" {
		step = path + "." + id
	}
	if n == 1 {
		return fmt.Errorf("weir: step %s: its input is the zero Stream (declared by no operator)", step)
	}
	return fmt.Errorf("weir: step %s: input %d is the zero Stream (declared by no operator)", step, i+1)
}

// Step is a core primitive being declared: where, on which inputs, and, when it has no
// site, why it cannot be.
type Step struct {
	site  Site
	id    string
	ports []Port
	err   error // set when site is the zero Site
}

// Declare starts the declaration of step id on ups, each a weir.Stream of some type. Its
// site is that of the first input that has one. An input that no operator declared is a
// build error: recorded on the site's flow when there is a site; otherwise the step is
// broken, Add declares nothing, and Out returns streams that carry the error to the next
// step that has a site (a Merge or a join with a real stream), which records it.
func Declare(id string, ups ...any) *Step {
	st := &Step{id: id, ports: make([]Port, len(ups))}
	bad, badAt := error(nil), -1
	for i, up := range ups {
		site, port, err := bridge.Stream(up)
		if st.site.Flow == nil {
			st.site = site
		}
		st.ports[i] = port
		if port.Node == nil && badAt < 0 {
			bad, badAt = err, i
		}
	}
	if badAt >= 0 && bad == nil {
		bad = ZeroInput(st.site.Path, id, badAt, len(ups))
	}
	if st.site.Flow == nil {
		st.err = bad
		if st.err == nil { // no inputs at all
			st.err = fmt.Errorf("weir: step %s: no input stream", id)
		}
		return st
	}
	if bad != nil {
		st.site.Flow.Fail(bad)
	}
	return st
}

// DeclareIn starts the declaration of step id, which has no input, at the top level of
// flow, a *weir.Dataflow. A nil flow makes the step broken, as in Declare.
func DeclareIn(id string, flow any) *Step {
	st := &Step{site: bridge.Root(flow), id: id}
	if st.site.Flow == nil {
		st.err = fmt.Errorf("weir: step %s: the dataflow is nil", id)
	}
	return st
}

// Add declares the step as a primitive of the given kind and returns its node, or nil when
// the step is broken. An invalid or duplicate id becomes the flow's build error.
func (st *Step) Add(kind Kind, outputs int, batch BatchOps, spec any) *Node {
	f := st.site.Flow
	if f == nil {
		return nil
	}
	n := &Node{ID: f.Claim(st.site.Path, st.id), Kind: kind, Inputs: st.ports, Outputs: outputs, Batch: batch, Spec: spec}
	f.nodes = append(f.nodes, n)
	return n
}

// Out returns output i of n, which st.Add returned, as a stream S (a weir.Stream[T])
// visible in the step's scope; for a broken step, a stream that carries its error.
func Out[S any](st *Step, n *Node, i int) S {
	var s S
	if st.site.Flow == nil {
		bridge.SetStream(&s, Site{}, Port{}, st.err)
	} else {
		bridge.SetStream(&s, st.site, Port{Node: n, Out: i}, nil)
	}
	return s
}
