package engine

import (
	"fmt"

	"github.com/weirflow/weir/internal/plan"
)

// The stateless operators run as their batch arrives and hold no epochs.

// flatMap runs a batch function: a FlatMapBatch step's own, or the fused chain of steps
// that starts at it (see plan.Node.FlatMap).
type flatMap struct {
	step
	fn   func(batch any) any
	emit *plan.Node // whose consumers get what fn returns: the chain's last node
}

func (f *flatMap) deliver(epoch uint64, batch any) {
	f.w.cur = f.ID
	start := f.w.timer(f.Index)
	out := f.fn(batch)
	f.w.spent(f.Index, start)
	if out != nil {
		f.w.push(f.emit, 0, epoch, out)
	}
}

// fused is a FlatMapBatch step whose function runs in the chain of the step it is fused
// into. It receives no batches; its frontier follows its upstream's as any node's does.
type fused struct{ step }

func (f fused) deliver(uint64, any) {
	panic(fmt.Sprintf("weir: internal error: step %s, fused into %s, got a batch", f.ID, f.FusedInto.ID))
}

// unread is a pure FlatMapBatch step (graph.FlatMapSpec.Pure) whose output no step
// consumes: its batches are counted in, as any step's, and dropped without running its
// function, whose output would go nowhere.
type unread struct{ step }

func (unread) deliver(uint64, any) {}

// branch splits a batch between its two outputs.
type branch struct {
	step
	split func(batch any) (yes, no any)
}

func (b *branch) deliver(epoch uint64, batch any) {
	b.w.cur = b.ID
	start := b.w.timer(b.Index)
	yes, no := b.split(batch)
	b.w.spent(b.Index, start)
	if yes != nil {
		b.w.push(b.Node, 0, epoch, yes)
	}
	if no != nil {
		b.w.push(b.Node, 1, epoch, no)
	}
}

// inspect shows a batch to a function and passes it on.
type inspect struct {
	step
	fn func(step string, batch any, epoch uint64, worker int)
}

func (in *inspect) deliver(epoch uint64, batch any) {
	in.w.cur = in.ID
	start := in.w.timer(in.Index)
	in.fn(in.ID, batch, epoch, in.w.id)
	in.w.spent(in.Index, start)
	in.w.push(in.Node, 0, epoch, batch)
}

// pass passes a batch on: Merge, whose inputs meet in it, and Redistribute, whose
// spreading is done by the exchange into it.
type pass struct{ step }

func (p pass) deliver(epoch uint64, batch any) { p.w.push(p.Node, 0, epoch, batch) }
