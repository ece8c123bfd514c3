package op

import (
	"errors"
	"fmt"
	"slices"

	"github.com/weirflow/weir"
)

// ErrUnknownRoute is the cause of the error of a run stopped because a Route function
// returned a name that is not one of the step's outputs.
var ErrUnknownRoute = errors.New("weir: route to an unknown output")

// Routes are the named outputs of a Route step.
type Routes[X any] struct {
	flow *weir.Dataflow
	step string
	outs map[string]weir.Stream[X]
}

// Out returns the output called name. A name the step was not declared with is a build
// error (the zero Stream is returned), so a typo cannot silently drop a branch.
func (r Routes[X]) Out(name string) weir.Stream[X] {
	s, ok := r.outs[name]
	if !ok && r.flow != nil {
		r.flow.Fail(fmt.Errorf("weir: step %s has no output %q", r.step, name))
	}
	return s
}

// routed is an item tagged with the index of the output it goes to, so that the route
// function runs once per item however many outputs there are.
type routed[X any] struct {
	out  int
	item X
}

// Route sends each item to one of several named outputs: the one whose name fn returns.
// Every output gets its items in upstream order. Read the outputs with Routes.Out.
//
// Names must be valid, distinct step ids (not empty, no '.'): the output called "a" is
// the inner step "flow.id.out.a". An empty or duplicate name, or no names at all, is a
// build error. An item routed to a name that is not in names stops the run with an error
// naming the step and the name (errors.Is(err, ErrUnknownRoute)).
//
// fn runs once per item; each output then scans the routed batch once, so the cost per
// item grows slowly with the number of outputs. Use Branch for a two-way split by a
// predicate.
func Route[X any](id string, up weir.Stream[X], names []string, fn func(X) string) Routes[X] {
	sc := up.Scope()
	if sc == nil {
		return Routes[X]{}
	}
	flow := sc.Flow()
	inner := sc.Nest(id)
	r := Routes[X]{flow: flow, step: inner.Path(), outs: make(map[string]weir.Stream[X], len(names))}
	if len(names) == 0 {
		flow.Fail(fmt.Errorf("weir: step %s: route needs at least one output name", r.step))
		return r
	}
	index := make(map[string]int, len(names))
	for i, name := range names {
		if _, dup := index[name]; dup {
			flow.Fail(fmt.Errorf("weir: step %s: duplicate output name %q", r.step, name))
			return r
		}
		if name == "" {
			flow.Fail(fmt.Errorf("weir: step %s: empty output name", r.step))
			return r
		}
		index[name] = i
	}
	names = slices.Clone(names) // the caller may reuse its slice

	// A linear scan beats hashing the name when there are few outputs.
	if len(names) <= 8 {
		index = nil
	}

	tagged := flatMapBatch("route", weir.In(inner, up), func() func([]X) []routed[X] {
		var buf []routed[X]
		return func(xs []X) []routed[X] {
			buf = slices.Grow(buf[:0], len(xs))[:len(xs)]
			for i := range xs {
				name := fn(xs[i])
				o, ok := -1, false
				if index != nil {
					o, ok = index[name]
				} else {
					for j, n := range names {
						if n == name {
							o, ok = j, true
							break
						}
					}
				}
				if !ok {
					// The engine wraps the panic with the step id; errors.Is reaches
					// ErrUnknownRoute through it.
					panic(fmt.Errorf("%w %q", ErrUnknownRoute, name))
				}
				buf[i] = routed[X]{out: o, item: xs[i]}
			}
			return buf
		}
	})
	outs := inner.Nest("out")
	for i, name := range names {
		s := flatMapBatch(name, weir.In(outs, tagged), func() func([]routed[X]) []X {
			var buf []X
			return func(rs []routed[X]) []X {
				buf = buf[:0]
				for j := range rs {
					if rs[j].out == i {
						buf = append(buf, rs[j].item)
					}
				}
				return buf
			}
		})
		r.outs[name] = weir.In(sc, s)
	}
	return r
}

// Failure is an item that a fallible step could not process, with the error it got.
type Failure[X any] struct {
	Item X
	Err  error
}

// String formats f as "item: error".
func (f Failure[X]) String() string { return fmt.Sprintf("%v: %v", f.Item, f.Err) }

// attempt is the result of TryMap's function for one item. Failures are rare, so a failed
// item is kept behind a pointer: a success carries no copy of its input.
type attempt[X, Y any] struct {
	out  Y
	fail *Failure[X]
}

// TryMap transforms each item with a fallible function. Results of calls that return a
// nil error go to ok; items whose call returns an error go, with the error, to failed: a
// dead-letter stream to write somewhere for inspection or replay, instead of stopping the
// run. Both keep upstream order. A panic in fn still stops the run.
//
// Its inner steps are "try" (which calls fn once per item), "ok" and "failed".
func TryMap[X, Y any](id string, up weir.Stream[X], fn func(X) (Y, error)) (ok weir.Stream[Y], failed weir.Stream[Failure[X]]) {
	sc := up.Scope()
	if sc == nil {
		return
	}
	inner := sc.Nest(id)
	tried := flatMapBatch("try", weir.In(inner, up), func() func([]X) []attempt[X, Y] {
		var buf []attempt[X, Y]
		return func(xs []X) []attempt[X, Y] {
			buf = slices.Grow(buf[:0], len(xs))[:len(xs)]
			for i := range xs {
				y, err := fn(xs[i])
				if err != nil {
					buf[i] = attempt[X, Y]{fail: &Failure[X]{Item: xs[i], Err: err}}
				} else {
					buf[i] = attempt[X, Y]{out: y}
				}
			}
			return buf
		}
	})
	ok = flatMapBatch("ok", tried, func() func([]attempt[X, Y]) []Y {
		var buf []Y
		return func(as []attempt[X, Y]) []Y {
			buf = buf[:0]
			for i := range as {
				if as[i].fail == nil {
					buf = append(buf, as[i].out)
				}
			}
			return buf
		}
	})
	failed = flatMapBatch("failed", tried, func() func([]attempt[X, Y]) []Failure[X] {
		var buf []Failure[X]
		return func(as []attempt[X, Y]) []Failure[X] {
			buf = buf[:0]
			for i := range as {
				if as[i].fail != nil {
					buf = append(buf, *as[i].fail)
				}
			}
			return buf
		}
	})
	return weir.In(sc, ok), weir.In(sc, failed)
}
