// Package engine runs a plan on workers. A worker is one goroutine that executes every
// step of the plan for its share of the data: a step hands a batch to the next by a
// function call, with no locks or channels on the data path. Items cross to other workers
// only on the exchange edges the plan decided, through a comm.Mesh.
//
// # Operators
//
// Each primitive of the plan runs on a worker as an operator (operator.go): one small
// type per kind (input, output, stateful, flatMap, branch, inspect, pass), built in one
// place, newOperator. The worker's loop calls them without knowing their kind: deliver
// runs an operator on a batch, advance closes its epochs when its frontier moves, open
// and close build and release its partitions; sources also poll and stateful steps fire
// their notifications. What operators share is written once: the pending that holds data
// of later epochs back (with the worker's count of parked bytes), and the closing of
// epochs in order through it.
//
// # Epochs and progress
//
// Every node has a frontier: the smallest epoch it may still see data of. Inputs set
// theirs from the worker's epoch clock (and to infinity at end of stream); every other
// node's is the minimum over its inputs, where an exchange input counts the progress
// marker each sender worker sent on that edge. When a stateful step's frontier passes an
// epoch, the epoch is complete there: it snapshots the keys touched in it. Data of a later
// epoch that arrives early waits until its epoch is the frontier, so state is exactly-once.
//
// These rules live in progress (progress.go), which holds frontiers and markers but no
// data: the worker tells it what happened (an epoch closed, a source ended, a marker
// arrived), and it says which nodes' frontiers move, so that the worker has their
// operators close those epochs and sends the new frontiers on as markers, and which
// epochs every node has passed, which the worker hands to its committer.
//
// # Figures
//
// A run given a Stats (WithStats) publishes its figures there for readers on other
// goroutines: the monitor's /metrics and API. Workers count once per batch, never per
// item, into atomics of their own, padded apart; a reader takes no lock a worker takes.
package engine
