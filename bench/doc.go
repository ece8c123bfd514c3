// Package bench measures weir against the budget of DESIGN.md ("Performance budget"):
// each path of weir next to an anchor that does the same work without an engine, timed
// in the same run and reported as a ratio, so that the result does not depend on the
// machine's speed.
//
//	go run ./bench/cmd/report          # the budget table
//	go test -bench . ./bench/          # the same paths as Go benchmarks, in ns/item
//
// # Paths
//
// Chain is three op.Map steps with trivial int functions on one worker. Its budget
// anchor is ChainLoop, a loop calling the same three functions through function values:
// the floor for any engine that runs user code it does not compile itself. ChainInlined,
// the same loop with the functions written out, is printed for scale.
//
// Count is op.CountFinal over items spread evenly over Keys keys, on one and on two
// workers. Its anchor is CountLoop, counts[key]++ in a Go map with the key from the same
// function value. Two workers must beat one.
//
// # Inputs and outputs
//
// Ints generates the input in memory, batch by batch into one reused buffer, with one
// partition per worker; Sum adds up the output per worker. Neither allocates per item,
// so that what is measured is the flow between them.
package bench
