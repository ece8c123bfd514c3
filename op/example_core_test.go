package op_test

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/weirflow/weir"
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
