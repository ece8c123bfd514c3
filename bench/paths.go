package bench

import (
	"context"
	"fmt"
	"strconv"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/run"
)

// Keys is the number of distinct keys the count paths count.
const Keys = 1000

// keys are formatted once, so that the count paths measure counting, not formatting.
var keys = func() []string {
	ks := make([]string, Keys)
	for i := range ks {
		ks[i] = "key-" + strconv.Itoa(i)
	}
	return ks
}()

// The user functions of the paths. weir and the anchor loops get the same function
// values; they are trivial so that what is measured is the cost of calling them.
var (
	inc    = func(x int) int { return x + 1 }
	triple = func(x int) int { return x * 3 }
	flip   = func(x int) int { return x ^ 5 }
	keyOf  = func(x int) string { return keys[x%Keys] }
)

// Chain runs a flow of three op.Map steps over the ints 0 to n-1 on the given number of
// workers, each reading its own partition, and returns the sum of what comes out.
func Chain(ctx context.Context, n, workers int) (int, error) {
	flow := weir.NewDataflow("chain")
	s := op.Input("ints", flow, NewInts(n, workers))
	s = op.Map("inc", s, inc)
	s = op.Map("triple", s, triple)
	s = op.Map("flip", s, flip)
	sum := IntSum()
	op.Output("sum", s, sum)
	err := run.Run(ctx, flow, run.Workers(workers))
	total, _ := sum.Total()
	return total, err
}

// ChainLoop is the anchor of Chain: a loop calling the same three functions through
// function values, the floor for any engine that runs user code it does not compile.
func ChainLoop(n int) int { return chainLoop(n, inc, triple, flip) }

// chainLoop takes the functions as arguments, and must not be inlined into its caller,
// where the compiler could see which functions they are and inline them too.
//
//go:noinline
func chainLoop(n int, f1, f2, f3 func(int) int) int {
	sum := 0
	for i := range n {
		sum += f3(f2(f1(i)))
	}
	return sum
}

// ChainInlined is Chain as a loop with the functions written out: what the machine can do
// when the compiler sees everything. It is printed for scale, with no budget.
func ChainInlined(n int) int {
	sum := 0
	for i := range n {
		sum += ((i + 1) * 3) ^ 5
	}
	return sum
}

// Count runs op.CountFinal over the ints 0 to n-1, item i counted under key i%Keys, on
// the given number of workers, reading batches of the given size, and returns the number
// of items counted. It fails unless every key that should have a count has one.
func Count(ctx context.Context, n, workers, batch int) (int, error) {
	flow := weir.NewDataflow("count")
	s := op.Input("ints", flow, NewInts(n, workers).BatchSize(batch))
	sum := CountSum()
	op.Output("sum", op.CountFinal("count", s, keyOf), sum)
	if err := run.Run(ctx, flow, run.Workers(workers)); err != nil {
		return 0, err
	}
	total, nkeys := sum.Total()
	if want := min(n, Keys); nkeys != want {
		return total, fmt.Errorf("weir: bench count: %d keys counted, want %d", nkeys, want)
	}
	return total, nil
}

// CountLoop is the anchor of Count: counts[key(i)]++ in a Go map, the key given by the
// same function value. It returns the number of items counted.
func CountLoop(n int) int { return countLoop(n, keyOf) }

//go:noinline
func countLoop(n int, key func(int) string) int {
	counts := map[string]int{}
	for i := range n {
		counts[key(i)]++
	}
	total := 0
	for _, c := range counts {
		total += c
	}
	return total
}

// A Job is one measured path: Run processes n items and returns a number that depends on
// every one of them, so that paths computing the same thing can be checked against each
// other.
type Job struct {
	Name string
	Run  func(n int) (int, error)
}

func chainJob(workers int) func(int) (int, error) {
	return func(n int) (int, error) { return Chain(context.Background(), n, workers) }
}

func countJob(workers, batch int) func(int) (int, error) {
	return func(n int) (int, error) { return Count(context.Background(), n, workers, batch) }
}

func loopJob(f func(int) int) func(int) (int, error) {
	return func(n int) (int, error) { return f(n), nil }
}

// Jobs are every measured path, by name. Jobs of the same family (the name's first word,
// "chain" or "count") return the same number for the same n. weir's paths read batches of
// DefaultBatch unless their name gives another size.
var Jobs = []Job{
	{"chain", chainJob(1)},
	{"chain-loop", loopJob(ChainLoop)},
	{"chain-inlined", loopJob(ChainInlined)},
	{"count-1w", countJob(1, DefaultBatch)},
	{"count-2w", countJob(2, DefaultBatch)},
	{"count-1w-16k", countJob(1, 16384)},
	{"count-loop", loopJob(CountLoop)},
}

// A Comparison is one line of the budget table (DESIGN.md, "Performance budget"): a
// weir path against its anchor, measured in the same run. It passes when weir's time
// divided by the anchor's is at most Budget (below it, when Strict). A Budget of 0 marks
// a line printed for scale only.
type Comparison struct {
	Path         string
	Weir, Anchor string // job names
	Budget       float64
	Strict       bool
}

// Comparisons are the lines of the table, in order.
var Comparisons = []Comparison{
	{Path: "chain of 3 maps, 1 worker / loop of func values", Weir: "chain", Anchor: "chain-loop", Budget: 1.5},
	{Path: "chain of 3 maps, 1 worker / inlined loop", Weir: "chain", Anchor: "chain-inlined"},
	{Path: "CountFinal, 1000 keys, 1 worker / map loop", Weir: "count-1w", Anchor: "count-loop", Budget: 2},
	{Path: "CountFinal, 1000 keys, 2 workers / 1 worker", Weir: "count-2w", Anchor: "count-1w", Budget: 1, Strict: true},
	{Path: "CountFinal, 1000 keys, 2 workers / map loop", Weir: "count-2w", Anchor: "count-loop"},
	{Path: "CountFinal, 1000 keys, 1 worker, batches of 16384 / map loop", Weir: "count-1w-16k", Anchor: "count-loop"},
}

// Pass reports whether ratio is within c's budget; a line without a budget always passes.
func (c Comparison) Pass(ratio float64) bool {
	switch {
	case c.Budget == 0:
		return true
	case c.Strict:
		return ratio < c.Budget
	}
	return ratio <= c.Budget
}

// BudgetText is c's budget as printed: "<= 1.5", "< 1", or "-" for none.
func (c Comparison) BudgetText() string {
	switch {
	case c.Budget == 0:
		return "-"
	case c.Strict:
		return "< " + strconv.FormatFloat(c.Budget, 'g', -1, 64)
	}
	return "<= " + strconv.FormatFloat(c.Budget, 'g', -1, 64)
}
