// Package graph is the build layer's record of a dataflow: the core primitives users
// declared (through packages op and window), with their full step ids, ports and the
// typed functions each runs, erased to one `any` per batch.
//
// # Ids and scopes
//
// A Scope is where steps are declared: the flow itself or the inside of a composite step.
// A step's full id is its scope's path and its own id joined by '.'. Invalid and duplicate
// ids are recorded as the flow's first build error; building never panics.
//
// # Typed halves of the primitives
//
// The engine is untyped: it moves batches as `any` holding a []T. Everything that touches
// items lives here, instantiated per type at build time: Ops (length, concatenation, split
// by key or round robin) and the stateful runtime, which groups a batch by key and calls
// each key's Logic in the order op.Logic documents.
package graph
