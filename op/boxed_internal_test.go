package op

import "testing"

// TestBoxed checks that a batch is boxed once while it is the same slice, and anew as
// soon as its array, length or capacity differs.
func TestBoxed(t *testing.T) {
	var b boxed[int]
	if b.of(nil) != nil || b.of([]int{}) != nil {
		t.Fatal("an empty batch is not nil")
	}
	buf := []int{1, 2, 3, 4}
	check := func(what string, s []int) {
		t.Helper()
		got, ok := b.of(s).([]int)
		if !ok || len(got) != len(s) || cap(got) != cap(s) || &got[0] != &s[0] {
			t.Errorf("%s: got %v (len %d, cap %d), want the slice %v (len %d, cap %d)", what, got, len(got), cap(got), s, len(s), cap(s))
		}
	}
	check("first", buf)
	if n := testing.AllocsPerRun(100, func() { b.of(buf) }); n != 0 {
		t.Errorf("the same slice again: %v allocations, want 0", n)
	}
	check("same", buf)
	check("shorter", buf[:3])
	check("smaller capacity", buf[:3:3])
	check("later start", buf[1:])
	check("other array", []int{1, 2, 3, 4})
	check("first again", buf)
}

type adder struct{ k int }

func (a adder) add(x int) int { return x + a.k }

// TestChainStackNames checks which chains run without recording the function they call
// (stackNames not nil): those of distinct functions that stacks show by their own name.
func TestChainStackNames(t *testing.T) {
	inc := func(x int) int { return x + 1 }
	double := func(x int) int { return x * 2 }
	chain := func(fs ...func(int) int) *mapChain[int, int] {
		return &mapChain[int, int]{first: fs[0], rest: fs[1:], steps: make([]string, len(fs))}
	}
	var adds []func(int) int // closures of one literal: the same code
	for k := range 2 {
		adds = append(adds, func(x int) int { return x + k })
	}
	for _, c := range []struct {
		what   string
		chain  *mapChain[int, int]
		listed bool
	}{
		{"distinct literals", chain(inc, double, func(x int) int { return x ^ 5 }), true},
		{"one function twice", chain(inc, double, inc), false},
		{"closures of one literal", chain(adds...), false},
		{"a method value", chain(inc, adder{1}.add), false},
	} {
		if got := c.chain.stackNames() != nil; got != c.listed {
			t.Errorf("%s: names listed %v, want %v", c.what, got, c.listed)
		}
	}
}
