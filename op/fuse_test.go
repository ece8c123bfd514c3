package op_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"testing"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/run"
	"github.com/weirflow/weir/weirtest"
)

// TestMapFusion checks that runs of Map steps, fused or not, give what calling their
// functions one after the other gives: every length of chain the fused loop treats apart,
// a change of type within a run, and a stream consumed twice (which must not fuse).
func TestMapFusion(t *testing.T) {
	add := func(k int) func(int) int { return func(x int) int { return x*2 + k } }
	chain := func(n int) func(weir.Stream[int]) weir.Stream[int] {
		return func(s weir.Stream[int]) weir.Stream[int] {
			for k := range n {
				s = op.Map("m"+strconv.Itoa(k), s, add(k))
			}
			return s
		}
	}
	apply := func(n int, x int) int {
		for k := range n {
			x = add(k)(x)
		}
		return x
	}
	items := make([]int, 2500) // several batches of 1024, the last one short
	for i := range items {
		items[i] = i - 1000
	}
	for n := 1; n <= 6; n++ {
		t.Run("chain_"+strconv.Itoa(n), func(t *testing.T) {
			got := pipe(t, items, 1024, chain(n))
			want := make([]int, len(items))
			for i, x := range items {
				want[i] = apply(n, x)
			}
			if !slices.Equal(got, want) {
				t.Errorf("%d maps: got %v..., want %v...", n, got[:3], want[:3])
			}
		})
	}
	t.Run("type_changes", func(t *testing.T) {
		got := pipe(t, items, 100, func(s weir.Stream[int]) weir.Stream[string] {
			s = op.Map("double", s, add(0))
			str := op.Map("format", s, strconv.Itoa)
			str = op.Map("suffix", str, func(s string) string { return s + "!" })
			n := op.Map("length", str, func(s string) int { return len(s) })
			n = op.Map("inc", n, add(1))
			return op.Map("again", n, strconv.Itoa)
		})
		for i, x := range items {
			if want := strconv.Itoa(len(strconv.Itoa(x*2)+"!")*2 + 1); got[i] != want {
				t.Fatalf("item %d: got %q, want %q", i, got[i], want)
			}
		}
	})
	t.Run("fan_out", func(t *testing.T) {
		flow := weir.NewDataflow("f")
		s := op.Map("first", op.Input("in", flow, weirtest.NewSource(items...)), add(1))
		mid, end := weirtest.NewSink[int](), weirtest.NewSink[int]()
		op.Output("mid", s, mid)
		op.Output("end", op.Map("second", s, add(2)), end)
		weirtest.Run(t, flow, 1)
		for i, x := range items {
			if m, e := mid.Items()[i], end.Items()[i]; m != add(1)(x) || e != add(2)(add(1)(x)) {
				t.Fatalf("item %d: mid %d, end %d", i, m, e)
			}
		}
	})
}

// TestFusedPanicNamesStep checks that a panic in any function of a fused run of Maps names
// that function's own step, for each length of run the fused loop treats apart.
func TestFusedPanicNamesStep(t *testing.T) {
	for n := 2; n <= 6; n++ {
		for bad := range n {
			flow := weir.NewDataflow("df")
			s := op.Input("in", flow, weirtest.NewSource(1, 2, 3))
			for k := range n {
				s = op.Map("m"+strconv.Itoa(k), s, func(x int) int {
					if k == bad && x == 2 {
						panic(errUserFn)
					}
					return x
				})
			}
			dropAll("out", s)
			err := run.Run(context.Background(), flow)
			var se *weir.StepError
			want := "df.m" + strconv.Itoa(bad) + ".flat_map_batch"
			if !errors.Is(err, errUserFn) || !errors.As(err, &se) || se.Step != want {
				t.Errorf("%d maps, panic in map %d: error %v, want a step error of %s", n, bad, err, want)
			}
		}
	}
}

// badFn is the function of distinctFns that panics, on item 2.
var badFn int

func panicAt(k, x int) int {
	if k == badFn && x == 2 {
		panic(errUserFn)
	}
	return x
}

// distinctFns are functions of distinct code (each its own literal).
var distinctFns = []func(int) int{
	func(x int) int { return panicAt(0, x) },
	func(x int) int { return panicAt(1, x) },
	func(x int) int { return panicAt(2, x) },
	func(x int) int { return panicAt(3, x) },
	func(x int) int { return panicAt(4, x) },
	func(x int) int { return panicAt(5, x) },
}

// runChain runs Map steps m0, m1, ... of the given functions over 1, 2, 3 (fused) and
// returns the run's error.
func runChain(fns ...func(int) int) error {
	flow := weir.NewDataflow("df")
	s := op.Input("in", flow, weirtest.NewSource(1, 2, 3))
	for k, f := range fns {
		s = op.Map("m"+strconv.Itoa(k), s, f)
	}
	dropAll("out", s)
	return run.Run(context.Background(), flow)
}

// checkStep checks that err is the panic of errUserFn in map bad.
func checkStep(t *testing.T, what string, err error, bad int) {
	t.Helper()
	var se *weir.StepError
	want := "df.m" + strconv.Itoa(bad) + ".flat_map_batch"
	if !errors.Is(err, errUserFn) || !errors.As(err, &se) || se.Step != want {
		t.Errorf("%s: error %v, want a step error of %s", what, err, want)
	}
}

// TestFusedPanicNamesStepDistinct is TestFusedPanicNamesStep with functions of
// distinct code (TestFusedPanicNamesStep's are closures of one literal), each calling
// the function that panics.
func TestFusedPanicNamesStepDistinct(t *testing.T) {
	defer func() { badFn = 0 }()
	for n := 2; n <= len(distinctFns); n++ {
		for bad := range n {
			badFn = bad
			checkStep(t, fmt.Sprintf("%d maps, panic in map %d", n, bad), runChain(distinctFns[:n]...), bad)
		}
	}
}

type adder struct{ k int }

func (a adder) add(x int) int { return x + a.k }

func (a adder) panicOn2(x int) int {
	if x == 2 {
		panic(errUserFn)
	}
	return x
}

func double(x int) int { return 2 * x }

func triple(x int) int { return 3 * x }

type panicker interface{ panicOn2(int) int }

func generic[T any](x T) T { panic(errUserFn) }

// TestFusedPanicNamesCaller checks the steps named when functions of a chain call one
// another, and when they are method values, named functions or generic ones: the step
// named is the one whose function the loop called, not one whose function ran inside it.
func TestFusedPanicNamesCaller(t *testing.T) {
	boom := adder{}.panicOn2
	calls := func(x int) int { return boom(x) + 1 } // calls m0's function
	checkStep(t, "map 1 calls map 0's function", runChain(boom, calls), 0)
	checkStep(t, "map 1 calls map 0's function, after it",
		runChain(adder{1}.add, func(x int) int { return boom(x - 1) }), 1)
	checkStep(t, "a method value", runChain(double, adder{-2}.add, boom), 2)
	checkStep(t, "an interface's method value", runChain(double, adder{-2}.add, panicker(adder{}).panicOn2), 2)
	checkStep(t, "a generic function", runChain(double, triple, generic[int]), 2)
	checkStep(t, "a generic function first", runChain(generic[int], triple), 0)
	var se *weir.StepError
	err := runChain(double, func(x int) int { return 10 / (x - 4) }, triple)
	if !errors.As(err, &se) || se.Step != "df.m1.flat_map_batch" {
		t.Errorf("a division by zero: error %v, want a step error of df.m1.flat_map_batch", err)
	}
}
