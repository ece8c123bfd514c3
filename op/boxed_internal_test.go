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
