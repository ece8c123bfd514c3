// Package flowview describes a planned dataflow for people and tools: its steps, the
// composite operators that nest them, and the edges between them with how items cross
// from worker to worker on each. The description is what `prog graph` prints (as JSON,
// Mermaid or Graphviz DOT) and what the monitoring server's /api/dataflow serves, so that
// the picture a user draws before running is the one the running flow reports.
//
// The description is built from the plan, not from the declared graph alone, so that it
// shows what will run: each edge's exchange as the planner decided it, and which Map
// steps run fused into the one before them.
//
// # JSON
//
// Graph's JSON form is stable: fields are only ever added, and Version changes if a field
// ever changes meaning. Its fields:
//
//	version        1
//	flow           the dataflow's id
//	scopes[]       the composite steps (operators) that hold other steps, outermost first
//	  id           full id ("wordcount.count")
//	  name         last part of the id ("count")
//	  parent       full id of the enclosing scope: the flow's id at the top level
//	steps[]        the core primitives, in plan order (every step after its upstreams)
//	  id           full id ("wordcount.count.fold_final.stateful_batch")
//	  name         last part of the id
//	  scope        full id of the scope that declared it: the composite operator the step
//	               is part of, or the flow's id for a primitive declared at the top level
//	  kind         the primitive: input, output, flat_map_batch, branch, merge,
//	               redistribute, inspect_debug, stateful_batch
//	  item_type    the Go type of the items the step receives (an input: emits), with
//	               package paths shortened to the package name ("weir.KV[int]"); "" when
//	               not known
//	  inputs       number of input ports
//	  outputs      number of output ports
//	  partitioned  an input or output whose partitions are assigned to workers (omitted
//	               when false)
//	  fused_into   the id of the step whose loop runs this one's function, for a Map fused
//	               into the Map before it (omitted when not fused)
//	edges[]        every connection from an output port to an input port
//	  id           the edge's number in the plan
//	  from, to     full ids of the producing and the consuming step
//	  from_port    output port of from (a branch: 0 for the items that matched, 1 for
//	               the others)
//	  to_port      input port of to (a merge or a join: which input)
//	  exchange     forward (stays on the producing worker), by_key (to the worker owning
//	               the item's key: a stateful step's input), by_partition (to the worker
//	               owning the key's sink partition), round_robin (spread over all workers)
//	  item_type    the Go type of the items on the edge
//
// # Mermaid and DOT
//
// Mermaid (WriteMermaid) draws a flowchart with one subgraph per scope, and DOT (WriteDOT)
// a digraph with one cluster per scope. Both label nodes with the step's name and kind
// and edges with their exchange (forward edges unlabelled, "fused" for a fused Map); node
// ids are n0, n1... in plan order, so that ids need no escaping; names are escaped for
// each (entity codes in Mermaid's quoted labels, backslashes in DOT's strings).
//
// The tests hold the drawings to the real tools: Mermaid's own parser under Node and
// Mermaid itself in headless Chromium render the Mermaid, Graphviz's dot lays out the DOT,
// for a sample flow, for ids full of characters to escape, and for the golden files of
// every example (see flowviewtest).
package flowview
