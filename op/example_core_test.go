package op_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/connectors/stdio"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/run"
	"github.com/weirflow/weir/weirtest"
)

// The core primitives: FlatMapBatch sees whole batches, Branch splits, Merge joins, and
// InspectDebug shows each item's step, epoch and worker.
func ExampleFlatMapBatch() {
	flow := weir.NewDataflow("core")
	nums := op.Input("inp", flow, weirtest.NewSource(1, 2, 3, 4, 5).BatchSize(5))
	sizes := op.FlatMapBatch("sizes", nums, func(batch []int) []string {
		return []string{fmt.Sprintf("a batch of %d", len(batch))}
	})
	evens, odds := op.Branch("parity", nums, func(x int) bool { return x%2 == 0 })
	both := op.Merge("both", op.Map("even", evens, parity), op.Map("odd", odds, parity), sizes)
	both = op.InspectDebug("show", both, func(step string, item string, epoch uint64, worker int) {
		fmt.Printf("%s: %s (epoch %d, worker %d)\n", step, item, epoch, worker)
	})
	op.Output("out", both, weirtest.NewSink[string]())
	if err := run.Run(context.Background(), flow); err != nil {
		fmt.Println(err)
	}
	// Output:
	// core.show: a batch of 5 (epoch 1, worker 0)
	// core.show: 2 is even (epoch 1, worker 0)
	// core.show: 4 is even (epoch 1, worker 0)
	// core.show: 1 is odd (epoch 1, worker 0)
	// core.show: 3 is odd (epoch 1, worker 0)
	// core.show: 5 is odd (epoch 1, worker 0)
}

func parity(x int) string {
	if x%2 == 0 {
		return fmt.Sprintf("%d is even", x)
	}
	return fmt.Sprintf("%d is odd", x)
}

// gatherLogic gathers a key's words until it has not seen one for a minute.
type gatherLogic struct {
	Words []string
	Last  time.Time
}

func (l *gatherLogic) OnBatch(words []string) ([]string, bool) {
	l.Words = append(l.Words, words...)
	l.Last = time.Now()
	return nil, false
}
func (l *gatherLogic) OnNotify() ([]string, bool) { return []string{strings.Join(l.Words, " ")}, true }
func (l *gatherLogic) OnEOF() ([]string, bool)    { return l.OnNotify() }
func (l *gatherLogic) NotifyAt() (time.Time, bool) {
	return l.Last.Add(time.Minute), true
}
func (l *gatherLogic) Snapshot() gatherLogic { return *l }

// StatefulBatch runs a logic per key, with its own timers and end-of-stream handling.
func ExampleStatefulBatch() {
	flow := weir.NewDataflow("sessions")
	words := op.Input("inp", flow, weirtest.NewSource("alice:hi", "bob:hey", "alice:there"))
	keyed := op.Map("split", words, func(s string) weir.KV[string] {
		user, word, _ := strings.Cut(s, ":")
		return weir.KV[string]{Key: user, Value: word}
	})
	sessions := op.StatefulBatch("session", keyed, func(resume gatherLogic, ok bool) op.Logic[string, string, gatherLogic] {
		return &resume
	})
	op.Output("out", sessions, weirtest.NewSink[weir.KV[string]]())
	op.Inspect("print", sessions)
	if err := run.Run(context.Background(), flow); err != nil {
		fmt.Println(err)
	}
	// Output:
	// sessions.print: (alice, hi there)
	// sessions.print: (bob, hey)
}

// Branch splits a stream in two by a predicate; each item goes to exactly one side.
func ExampleBranch() {
	flow := weir.NewDataflow("branch")
	temps := op.Input("temps", flow, weirtest.NewSource(18, 31, 22, 35))
	hot, mild := op.Branch("hot", temps, func(c int) bool { return c >= 30 })
	op.Output("alerts", op.Map("alert", hot, func(c int) string { return fmt.Sprintf("alert: %d°C", c) }), stdio.NewSink[string]())
	op.Output("log", op.Map("note", mild, func(c int) string { return fmt.Sprintf("ok: %d°C", c) }), stdio.NewSink[string]())
	if err := run.Run(context.Background(), flow); err != nil {
		fmt.Println(err)
	}
	// Output:
	// ok: 18°C
	// alert: 31°C
	// ok: 22°C
	// alert: 35°C
}

// Merge makes one stream of several of the same type.
func ExampleMerge() {
	flow := weir.NewDataflow("merge")
	web := op.Input("web", flow, weirtest.NewSource("web: login", "web: logout"))
	app := op.Input("app", flow, weirtest.NewSource("app: login"))
	op.Output("out", op.Merge("events", web, app), stdio.NewSink[string]())
	if err := run.Run(context.Background(), flow); err != nil {
		fmt.Println(err)
	}
	// Output:
	// web: login
	// app: login
	// web: logout
}

// Redistribute spreads a stream that one worker reads over every worker, so that costly
// stateless work after it runs in parallel.
func ExampleRedistribute() {
	flow := weir.NewDataflow("spread")
	jobs := op.Input("jobs", flow, weirtest.NewSource(1, 2, 3, 4, 5, 6).BatchSize(6)) // one partition: one worker reads it
	var mu sync.Mutex
	perWorker := map[int]int{}
	spread := op.InspectDebug("where", op.Redistribute("spread", jobs), func(_ string, _ int, _ uint64, worker int) {
		mu.Lock()
		perWorker[worker]++
		mu.Unlock()
	})
	op.Output("out", spread, weirtest.NewSink[int]())
	if err := run.Run(context.Background(), flow, run.Workers(2)); err != nil {
		fmt.Println(err)
	}
	fmt.Println("worker 0:", perWorker[0], "items; worker 1:", perWorker[1], "items")
	// Output:
	// worker 0: 3 items; worker 1: 3 items
}
