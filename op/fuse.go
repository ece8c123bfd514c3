package op

import (
	"runtime/debug"
	"slices"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/internal/graph"
)

// mapChain is the per-item form of consecutive Map steps (graph.Chain): the first step's
// function, then those of the steps after it that keep its output type. The plan fuses
// such steps so that each item goes through all the functions in one loop, as a
// hand-written loop would, instead of one pass over the batch per step. A Map that
// changes the type again starts a chain of its own: Go cannot write one loop over three
// type parameters it learns from two different steps.
type mapChain[X, Y any] struct {
	first func(X) Y
	rest  []func(Y) Y
	steps []string // the full step id of each function, first included
}

// chainable marks the Stream of a Map so that the plan may fuse it with the Map after it.
func chainable[X, Y any](s weir.Stream[Y], fn func(X) Y) {
	n := graph.PortOf(s).Node
	if n == nil {
		return
	}
	n.Spec.(*graph.FlatMapSpec).Chain = &mapChain[X, Y]{first: fn, steps: []string{n.ID}}
}

func (c *mapChain[X, Y]) Then(next graph.Chain) (graph.Chain, bool) {
	same, ok := next.(*mapChain[Y, Y])
	if !ok {
		return nil, false
	}
	return &mapChain[X, Y]{
		first: c.first,
		rest:  append(append(slices.Clip(c.rest), same.first), same.rest...),
		steps: append(slices.Clip(c.steps), same.steps...),
	}, true
}

// New returns the chain's batch function. Chains of up to four functions, the common
// case, call them one after the other as a hand-written loop would; longer ones loop over
// the rest.
func (c *mapChain[X, Y]) New() func(any) any {
	var buf []Y
	var out boxed[Y]
	first, rest := c.first, c.rest
	return func(batch any) any {
		xs := batch.([]X)
		b := slices.Grow(buf[:0], len(xs))[:len(xs)]
		at := 0 // the function running, for a panic's step
		defer func() {
			if r := recover(); r != nil {
				panic(graph.StepPanic{Err: &graph.StepError{Step: c.steps[at], Cause: &graph.PanicError{Value: r, Stack: debug.Stack()}}})
			}
		}()
		switch len(rest) {
		case 1:
			f1 := rest[0]
			for i, x := range xs {
				at = 0
				y := first(x)
				at = 1
				b[i] = f1(y)
			}
		case 2:
			f1, f2 := rest[0], rest[1]
			for i, x := range xs {
				at = 0
				y := first(x)
				at = 1
				y = f1(y)
				at = 2
				b[i] = f2(y)
			}
		case 3:
			f1, f2, f3 := rest[0], rest[1], rest[2]
			for i, x := range xs {
				at = 0
				y := first(x)
				at = 1
				y = f1(y)
				at = 2
				y = f2(y)
				at = 3
				b[i] = f3(y)
			}
		default:
			for i, x := range xs {
				at = 0
				y := first(x)
				for k, f := range rest {
					at = k + 1
					y = f(y)
				}
				b[i] = y
			}
		}
		buf = b
		return out.of(b)
	}
}
