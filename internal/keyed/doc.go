// Package keyed is the runtime of stateful steps (op.StatefulBatch and everything built on
// it: folds, joins, windows): per worker, it groups a batch by key, runs each key's Logic
// in the order op.Logic documents, keeps the keys' timers and flags the keys to snapshot.
// It is the hot path of every keyed step, instantiated per type at build time (Add), and
// the engine reaches it only through graph.StatefulRuntime.
//
// The runtime (keyed.go) holds an entry per key and calls the logics. Logics that fold
// (Folding, fold.go: op's Final operators) take each item as its key is looked up, with
// no grouping by key, which is what makes a count cost little more than a map loop.
// Two parts it uses have rules of their own and are tested alone against naive models
// (FuzzKeyOrder, FuzzTimerQueue): the key order (order.go), which visits a batch's keys
// in byte-wise order without sorting their strings every time, and the timer queue
// (timers.go), a heap with lazy updates whose deadlines may move on every item. Both hold
// slots kept in the entries, which point back to them, so that neither costs an interface
// call or an allocation per item.
package keyed
