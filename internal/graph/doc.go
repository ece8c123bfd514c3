// Package graph is the build layer's record of a dataflow, the bridge to package weir's
// public types, and the interfaces the engine calls.
//
// # The record
//
// Dataflow records the core primitives users declared (through packages op and window):
// each Node has its full step id, its input ports and the spec of its kind, holding the
// typed functions it runs erased to one `any` per batch. Invalid and duplicate ids
// (Claim) and invalid arguments (Fail) are kept as the flow's first build error; building
// never panics.
//
// # The bridge
//
// The types users hold (weir.Dataflow, Scope, Stream, KV) are defined in package weir,
// which imports this package and nothing else of weir's: their fields are unexported, so
// that no program can change the record behind a flow. The build layer reaches it through
// Bridge, a set of functions package weir installs in its init, with weir's values passed
// as `any` and asserted there to interfaces with unexported methods. Operators call
// Declare (the site and ports of their inputs; a stream no operator declared is a build
// error, recorded or carried as package weir documents), Step.Add and Out (which makes a
// weir.Stream of the new node's output); run and the plan use FlowOf, and package batch
// KeyFunc. This costs one indirect call per step declared, never anything per batch or
// item. Defining the public types here as aliases, as before, showed no methods or
// fields in weir's documentation and let users change nodes; defining the record in weir
// would put the engine's specs in the public package.
//
// # Interfaces of the engine
//
// The engine is untyped: it moves batches as `any` holding a []T. BatchOps, Splitter,
// SourcePart, SinkPart, Chain and StatefulRuntime are what it calls on them; packages
// batch, keyed and op implement them per item type at build time. Its errors are this
// package's StepError, PanicError, KeyError and StepPanic; package run converts them to
// weir.StepError and weir.PanicError at the boundary of a run.
package graph
