package codec

import (
	"bytes"
	"math"
	"testing"
)

// The integer fast path writes the encoder's bytes exactly: a state written before it
// (or by the encoder, for a type it does not cover) reads the same, and the same state
// encodes to the same bytes.
func TestFastIntegersMatchEncoder(t *testing.T) {
	var vals []int64
	for _, n := range []int64{0, 1, 23, 24, 255, 256, math.MaxUint16, math.MaxUint16 + 1, math.MaxUint32, math.MaxUint32 + 1, math.MaxInt64} {
		vals = append(vals, n, -n, -n-1, n-1, n+1)
	}
	vals = append(vals, math.MinInt64)
	for i := int64(1); i > 0 && i < math.MaxInt64/3; i *= 3 {
		vals = append(vals, i, -i)
	}
	checkFast(t, vals, func(v int64) int { return int(v) })
	checkFast(t, vals, func(v int64) int64 { return v })
	checkFast(t, vals, func(v int64) int32 { return int32(v) })
	checkFast(t, vals, func(v int64) int16 { return int16(v) })
	checkFast(t, vals, func(v int64) int8 { return int8(v) })
	checkFast(t, vals, func(v int64) uint { return uint(v) })
	checkFast(t, vals, func(v int64) uint64 { return uint64(v) })
	checkFast(t, vals, func(v int64) uint32 { return uint32(v) })
	checkFast(t, vals, func(v int64) uint16 { return uint16(v) })
	checkFast(t, vals, func(v int64) uint8 { return uint8(v) })
}

func checkFast[T comparable](t *testing.T, vals []int64, conv func(int64) T) {
	t.Helper()
	c := For[T]()
	if c.fast == nil {
		t.Fatalf("%s has no fast path", c.typ)
	}
	for _, n := range vals {
		v := conv(n)
		want, err := Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.Encode(v)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("Encode(%s %v) = %x, %v; the encoder writes %x", c.typ, v, got, err, want)
		}
		app, err := c.AppendEncode([]byte("pre"), v)
		if err != nil || !bytes.Equal(app, append([]byte("pre"), want...)) {
			t.Errorf("AppendEncode(%s %v) = %x, %v; want pre and %x", c.typ, v, app, err, want)
		}
		back, err := c.Decode(got)
		if err != nil || back != v {
			t.Errorf("%s %v decodes as %v, %v", c.typ, v, back, err)
		}
	}
}

type count int

// AppendEncode writes what Encode writes for the types without a fast path, CBOR or a
// registered codec.
func TestAppendEncodeOthers(t *testing.T) {
	checkAppend(t, For[count](), count(-300))
	checkAppend(t, For[string](), "weir")
	checkAppend(t, For[float64](), 1.5)
	checkAppend(t, For[map[string]int](), map[string]int{"a": 1, "b": 2})
	checkAppend(t, For[point](), point{3, 4})
	checkAppend(t, For[label](), label("x"))
}

func checkAppend[T any](t *testing.T, c Typed[T], v T) {
	t.Helper()
	want, err := c.Encode(v)
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.AppendEncode([]byte("pre"), v)
	if err != nil || !bytes.Equal(got, append([]byte("pre"), want...)) {
		t.Errorf("AppendEncode(%s %v) = %x, %v; want pre and %x", c.typ, v, got, err, want)
	}
}

// An integer state appended to a buffer with room allocates nothing: a snapshot of 100k
// keys' counts is one buffer, not 300k allocations.
func TestAppendEncodeIntAllocs(t *testing.T) {
	c := For[int]()
	buf := make([]byte, 0, 64)
	v := 0
	allocs := testing.AllocsPerRun(1000, func() {
		v += 12345
		buf, _ = c.AppendEncode(buf[:0], v)
	})
	if allocs != 0 {
		t.Errorf("AppendEncode of an int: %v allocations, want 0", allocs)
	}
	if a := testing.AllocsPerRun(1000, func() { c.Encode(v) }); a != 1 {
		t.Errorf("Encode of an int: %v allocations, want 1 (its bytes)", a)
	}
}
