// Package bench measures weir against the budget of DESIGN.md ("Performance budget"):
// each path of weir next to an anchor that does the same work without an engine, timed
// in the same run and reported as a ratio, so that the result does not depend on the
// machine's speed.
//
//	go run ./bench/cmd/report          # the budget table
//	go run ./bench/cmd/report -all     # every row of issue 18's table, recovery and Nexmark too
//	go test -bench . ./internal/bench/        # the same paths as Go benchmarks, in ns/item
//
// Report measures the table's rows, each with its goal (Comparisons, and the goals of the
// recovery and Nexmark rows: AggGoal, AggReturnGoal, ResumeGoal, NexmarkGoal); the
// command report prints them.
// # Paths
//
// Chain is three op.Map steps with trivial int functions on one worker. Its budget
// anchor is ChainLoop, a loop calling the same three functions through function values:
// the floor for any engine that runs user code it does not compile itself. ChainInlined,
// the same loop with the functions written out, is printed for scale, and so is
// ChainBatchLoop, the chain's work done by hand batch by batch with no engine (the
// source's fill, the fused loop, the sink's sum): the floor of any engine that hands
// materialized batches from step to step, and, beside Chain, what weir's engine adds.
//
// Count is op.CountFinal over items spread evenly over Keys keys, on one and on two
// workers. Its anchor is CountLoop, counts[key]++ in a Go map with the key from the same
// function value. Two workers must take at most 0.58 of one worker's time.
//
// WindowCount is window.Count over WindowEvents timestamped events (10,000 keys, one
// event per millisecond, in time order) in one-minute tumbling windows on an event clock.
// Its budget anchor, WindowLoop, keeps one open window and count per key, which is only
// right because the events arrive in order; WindowMapLoop, a map of per-key maps of window
// counts, is the general hand-written equivalent, printed for scale.
//
// Aggregate is a running sum per key over AggKeys keys, snapshotting every second to a
// recovery directory, against the same flow without recovery; Resume times a run resuming
// ResumeKeys keys of state to its first new item, beside the store's raw scan of them. The
// Nexmark rows run each query of package nexmark with a recovery store against without
// (nexmark.CompareRecovery).
//
// # Inputs and outputs
//
// Ints generates the input in memory, batch by batch into one reused buffer, with one
// partition per worker; Sum adds up the output per worker. Neither allocates per item,
// so that what is measured is the flow between them.
package bench
