package codec

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

type state struct {
	Name  string
	Count int
	Seen  time.Time
	Tags  map[string][]float64
	Items []string
}

func TestRoundTrip(t *testing.T) {
	tests := []any{
		42, "text", []int{1, 2, 3}, map[string]int{"a": 1},
		state{Name: "x", Count: 3, Seen: time.Date(2026, 11, 23, 10, 0, 0, 123456789, time.UTC),
			Tags: map[string][]float64{"t": {1.5}}, Items: []string{"a", "b"}},
	}
	for _, v := range tests {
		b, err := Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		got := newLike(v)
		if err := Unmarshal(b, got.ptr); err != nil {
			t.Fatalf("%T: %v", v, err)
		}
		if diff := cmp.Diff(v, got.get()); diff != "" {
			t.Errorf("%T round trip (-want +got):\n%s", v, diff)
		}
	}
}

type holder struct {
	ptr any
	get func() any
}

func newLike(v any) holder {
	switch v.(type) {
	case int:
		var x int
		return holder{&x, func() any { return x }}
	case string:
		var x string
		return holder{&x, func() any { return x }}
	case []int:
		var x []int
		return holder{&x, func() any { return x }}
	case map[string]int:
		var x map[string]int
		return holder{&x, func() any { return x }}
	default:
		var x state
		return holder{&x, func() any { return x }}
	}
}

func TestDeterministic(t *testing.T) {
	m := map[string]int{"b": 2, "a": 1, "c": 3, "d": 4}
	first, _ := Marshal(m)
	for range 20 {
		if b, _ := Marshal(m); string(b) != string(first) {
			t.Fatal("map encoding differs between calls")
		}
	}
}

func TestRefusesOtherVersions(t *testing.T) {
	b, _ := Marshal(1)
	b[0] = 9
	var x int
	if err := Unmarshal(b, &x); !errors.Is(err, ErrVersion) {
		t.Errorf("error = %v, want ErrVersion", err)
	}
	if err := Unmarshal(nil, &x); err == nil {
		t.Error("empty data decoded without error")
	}
}

// Decoding untrusted bytes (a damaged store, a bad peer) must fail cleanly, never panic.
func FuzzUnmarshal(f *testing.F) {
	for _, v := range []any{1, "s", state{Name: "n", Items: []string{"x"}}} {
		b, _ := Marshal(v)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var s state
		if Unmarshal(data, &s) == nil {
			// CBOR's epoch-based times decode to any year, but times are written as RFC
			// 3339, years 0 to 9999: such a value fails to encode again, with an error
			// (testdata/fuzz holds one), which a snapshot of it returns.
			if _, err := Marshal(s); err != nil && !(s.Seen.Year() < 0 || s.Seen.Year() > 9999) {
				t.Fatalf("decoded value does not encode: %v", err)
			}
		}
	})
}

// The decoder's default limits (131072 elements) are below what the encoder writes: a
// large state must come back.
func TestLargeRoundTrip(t *testing.T) {
	big := make([]int, 300_000)
	m := make(map[int]bool, 200_000)
	for i := range big {
		big[i] = i
		if i < 200_000 {
			m[i] = true
		}
	}
	b, err := Marshal(big)
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	if err := Unmarshal(b, &got); err != nil || len(got) != len(big) || got[len(got)-1] != len(big)-1 {
		t.Fatalf("slice: %d items, %v", len(got), err)
	}
	if b, err = Marshal(m); err != nil {
		t.Fatal(err)
	}
	var gm map[int]bool
	if err := Unmarshal(b, &gm); err != nil || len(gm) != len(m) {
		t.Fatalf("map: %d pairs, %v", len(gm), err)
	}
	if _, err := JSON(b); err != nil {
		t.Fatalf("JSON of a large map: %v", err)
	}
}

// AppendMarshal writes what Marshal does after what dst holds, and leaves dst as it came
// when v cannot be encoded.
func TestAppendMarshal(t *testing.T) {
	v := map[string][]int{"b": {1, 2}, "a": nil}
	want, err := Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	got, err := AppendMarshal([]byte("head"), v)
	if err != nil || string(got) != "head"+string(want) {
		t.Fatalf("AppendMarshal = %q, %v; want %q", got, err, "head"+string(want))
	}
	got, err = AppendMarshal([]byte("head"), make(chan int))
	if err == nil || string(got) != "head" {
		t.Errorf("AppendMarshal of a channel = %q, %v; want head and an error", got, err)
	}
}
