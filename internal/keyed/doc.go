// Package keyed is the runtime of stateful steps (op.StatefulBatch and everything built on
// it: folds, joins, windows): per worker, it groups a batch by key, runs each key's Logic
// in the order op.Logic documents, keeps the keys' timers and flags the keys to snapshot.
// It is the hot path of every keyed step, instantiated per type at build time (Add), and
// the engine reaches it only through graph.StatefulRuntime.
package keyed
