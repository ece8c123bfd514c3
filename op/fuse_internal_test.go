package op

import (
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestApplyStoresNothingPerItem guards the fused loop of a chain of up to unrolled
// functions: it records nothing as it goes (a panic's step comes from the stack, see
// calling), so the index a longer chain keeps is left as it was; a longer chain sets it.
// It also checks that callSites finds a line of its own for each call of the unrolled
// chains, and one line for a longer chain's loop.
func TestApplyStoresNothingPerItem(t *testing.T) {
	inc := func(x int) int { return x + 1 }
	for n := 1; n <= unrolled+2; n++ {
		fns := slices.Repeat([]func(int) int{inc}, n)
		c := &mapChain[int, int]{first: fns[0], rest: fns[1:]}
		xs, b := []int{1, 2, 3}, make([]int, 3)
		at := -7
		c.apply(xs, b, &at)
		if want := []int{1 + n, 2 + n, 3 + n}; !slices.Equal(b, want) {
			t.Errorf("%d functions: got %v, want %v", n, b, want)
		}
		if stored := at != -7; stored != (n > unrolled) {
			t.Errorf("%d functions: the loop stored the function's index: %v, want %v", n, stored, n > unrolled)
		}
	}
	_, lines := callSites()
	count := map[int]int{} // by index
	for _, k := range lines {
		count[k]++
	}
	// Index 0 is called on a line of each case (1 to unrolled functions, and longer),
	// index k > 0 on a line of each case of k+1 to unrolled functions.
	for k := range unrolled {
		want := unrolled - k
		if k == 0 {
			want = unrolled + 1
		}
		if count[k] != want {
			t.Errorf("function %d is called on %d lines of apply, want %d", k, count[k], want)
		}
	}
	if count[-1] != 1 {
		t.Errorf("a longer chain calls its functions after the first on %d lines, want 1", count[-1])
	}
}

// TestApplyLoopsStandAlone guards where a chain's functions are called from: the loops of
// chains of up to unrolled functions are functions of their own (apply1 to apply4), whose
// speed does not depend on where the linker puts apply (see apply1).
func TestApplyLoopsStandAlone(t *testing.T) {
	for n := 1; n <= unrolled; n++ {
		var callers []string
		fns := make([]func(int) int, n)
		for k := range fns {
			fns[k] = func(x int) int {
				pc, _, _, _ := runtime.Caller(1)
				callers = append(callers, runtime.FuncForPC(pc).Name())
				return x
			}
		}
		c := &mapChain[int, int]{first: fns[0], rest: fns[1:]}
		c.apply([]int{1}, make([]int, 1), new(int))
		if len(callers) != n {
			t.Fatalf("%d functions: %d calls, want %d", n, len(callers), n)
		}
		want := "op.apply" + strconv.Itoa(n) + "["
		for _, name := range callers {
			if !strings.Contains(name, want) {
				t.Errorf("%d functions: called from %s, want a function named %s...]", n, name, want)
			}
		}
	}
}
