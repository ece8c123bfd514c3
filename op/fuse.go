package op

import (
	"runtime"
	"runtime/debug"
	"slices"
	"sync"

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

// New returns the chain's batch function, which runs apply over each batch into a
// buffer of its own, and turns a panic of one of the functions into the StepError of
// its step.
func (c *mapChain[X, Y]) New() func(any) any {
	var buf []Y
	var out boxed[Y]
	at := new(int) // in a chain longer than unrolled, the function running
	return func(batch any) any {
		xs := batch.([]X)
		b := slices.Grow(buf[:0], len(xs))[:len(xs)]
		defer func() {
			if r := recover(); r != nil {
				k := calling()
				if k < 0 {
					k = *at
				}
				panic(graph.StepPanic{Err: &graph.StepError{Step: c.steps[k], Cause: &graph.PanicError{Value: r, Stack: debug.Stack()}}})
			}
		}()
		c.apply(xs, b, at)
		buf = b
		return out.of(b)
	}
}

// unrolled is the longest chain that apply calls one function after the other, each
// call on a line of its own; longer chains loop over their functions.
const unrolled = 4

// apply sets b[i] to the chain's functions applied to xs[i]. Chains of up to unrolled
// functions, the common case, call them one after the other as a hand-written loop
// would, and record nothing per item: should a function panic, calling finds which one
// from the line it was called on. Storing the function's index before each call
// instead (three stores per item for three maps) cost no more in itself, but it made the
// loop's speed depend on where its code fell in the binary: on this machine it ran about
// 0.3 ns an item slower at three addresses of four, the storeless loop at one of eight.
// Longer chains call their functions after the first on one line, and store which one
// in at.
func (c *mapChain[X, Y]) apply(xs []X, b []Y, at *int) {
	first, rest := c.first, c.rest
	switch len(rest) {
	case 0:
		apply1(xs, b, first)
	case 1:
		apply2(xs, b, first, rest[0])
	case 2:
		apply3(xs, b, first, rest[0], rest[1])
	case 3:
		apply4(xs, b, first, rest[0], rest[1], rest[2])
	default:
		b = b[:len(xs)]
		for i, x := range xs {
			*at = 0
			y := first(x)
			for k, f := range rest {
				*at = k + 1
				y = f(y)
			}
			b[i] = y
		}
	}
}

// apply1 to apply4 are apply's loops for chains of one to four functions, each a
// function of its own, never inlined. In a small frame every value a loop reloads after
// a call is at a 1-byte offset from the stack pointer (in apply's, the slices' bases and
// length needed 4-byte ones), and the loop of three functions is 80 bytes, not 94.
// Written inside apply, that loop's speed depended on where the linker put apply: over 8
// layouts of the same program (-ldflags=-randlayout), the chain of three maps took
// 1.14-1.33 times its anchor loop, about 1.3 at half of apply's addresses; on its own,
// 1.16-1.25 over 12.

//go:noinline
func apply1[X, Y any](xs []X, b []Y, f0 func(X) Y) {
	b = b[:len(xs)] // no bounds check per item
	for i, x := range xs {
		b[i] = f0(x)
	}
}

//go:noinline
func apply2[X, Y any](xs []X, b []Y, f0 func(X) Y, f1 func(Y) Y) {
	b = b[:len(xs)] // no bounds check per item
	for i, x := range xs {
		y := f0(x)
		b[i] = f1(y)
	}
}

//go:noinline
func apply3[X, Y any](xs []X, b []Y, f0 func(X) Y, f1, f2 func(Y) Y) {
	b = b[:len(xs)] // no bounds check per item
	for i, x := range xs {
		y := f0(x)
		y = f1(y)
		b[i] = f2(y)
	}
}

//go:noinline
func apply4[X, Y any](xs []X, b []Y, f0 func(X) Y, f1, f2, f3 func(Y) Y) {
	b = b[:len(xs)] // no bounds check per item
	for i, x := range xs {
		y := f0(x)
		y = f1(y)
		y = f2(y)
		b[i] = f3(y)
	}
}

// callSites maps each line of apply (and its loops, apply1 to apply4) that calls a
// chain's function to the function's index in the chain, or to -1 for the line of a
// longer chain's loop (whose index is in at). It is found once, on the first panic, by
// running chains whose functions note the line they were called from: lines are the same
// for every instance of apply.
var callSites = sync.OnceValues(func() (file string, lines map[int]int) {
	lines = map[int]int{}
	for n := 1; n <= unrolled+1; n++ {
		c := &mapChain[int, int]{steps: make([]string, n)}
		fns := make([]func(int) int, n)
		for k := range fns {
			fns[k] = func(x int) int {
				_, f, line, _ := runtime.Caller(1)
				file, lines[line] = f, k
				if n > unrolled && k > 0 {
					lines[line] = -1
				}
				return x
			}
		}
		c.first, c.rest = fns[0], fns[1:]
		c.apply([]int{0}, make([]int, 1), new(int))
	}
	return file, lines
})

// calling returns the index of the function that apply was calling when it panicked,
// from the line of the innermost frame of this file on the panicking goroutine's stack
// (the frames above it are those of the function and of what it called), or -1 if that
// line is a longer chain's loop or apply is not found. Called by the deferred function
// that recovered the panic, whose stack still holds the frames of the panic.
func calling() int {
	file, lines := callSites()
	pcs := make([]uintptr, 64)
	for {
		n := runtime.Callers(2, pcs)
		if n < len(pcs) {
			pcs = pcs[:n]
			break
		}
		pcs = make([]uintptr, 2*len(pcs))
	}
	frames := runtime.CallersFrames(pcs)
	for {
		f, more := frames.Next()
		if f.File == file {
			if k, ok := lines[f.Line]; ok {
				return k
			}
		}
		if !more {
			return -1
		}
	}
}
