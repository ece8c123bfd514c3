package keyed

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/internal/codec"
)

// counter sums its values, emits the sum at the end of the stream, and forgets its key
// once the sum reaches 1000.
type counter struct{ n int }

func (c *counter) OnBatch(vs []int) ([]int, bool) {
	for _, v := range vs {
		c.n += v
	}
	return nil, c.n >= 1000
}
func (c *counter) OnNotify() ([]int, bool)     { return nil, false }
func (c *counter) OnEOF() ([]int, bool)        { return []int{c.n}, false }
func (c *counter) NotifyAt() (time.Time, bool) { return time.Time{}, false }
func (c *counter) Snapshot() int               { return c.n }
func (c *counter) Timeless()                   {}

func newCounter(resume int, _ bool) Logic[int, int, int] { return &counter{n: resume} }

// resumeOrder returns the ints 0 to n-1, in the byte-wise order of their keys (their
// decimal forms) when sorted is set.
func resumeOrder(n int, sorted bool) []int {
	keys := make([]int, n)
	for i := range keys {
		keys[i] = i
	}
	if sorted {
		slices.SortFunc(keys, func(a, b int) int { return strings.Compare(fmt.Sprint(a), fmt.Sprint(b)) })
	}
	return keys
}

// resumeKeys resumes keys 0 to n-1 (key i with state i) into a new runtime, in key order
// when sorted is set.
func resumeKeys(t testing.TB, n int, sorted bool) *stateful[int, int, int] {
	rt := New[int, int, int](newCounter).(*stateful[int, int, int])
	rt.Track()
	c := codec.For[int]()
	for _, i := range resumeOrder(n, sorted) {
		b, err := c.Encode(i)
		if err != nil {
			t.Fatal(err)
		}
		if err := rt.Resume(fmt.Sprint(i), b); err != nil {
			t.Fatal(err)
		}
	}
	return rt
}

// preloadKeys is resumeKeys through Preload and Index.
func preloadKeys(t testing.TB, n int, sorted bool) *stateful[int, int, int] {
	rt := New[int, int, int](newCounter).(*stateful[int, int, int])
	rt.Track()
	c := codec.For[int]()
	for _, i := range resumeOrder(n, sorted) {
		b, err := c.Encode(i)
		if err != nil {
			t.Fatal(err)
		}
		if err := rt.Preload(fmt.Sprint(i), b); err != nil {
			t.Fatal(err)
		}
	}
	if keys, _ := rt.Held(); keys != 0 {
		t.Fatalf("%d keys looked up before Index", keys)
	}
	rt.Index()
	return rt
}

// Resumed keys, their entries sharing blocks, behave as keys that came in items, whether
// resumed in key order or not, or preloaded then indexed: they are found, ordered,
// forgotten and come back, and only what changed is snapshotted.
func TestResumedKeys(t *testing.T) {
	const n = 3*entryBlock + 5
	want := func(rt *stateful[int, int, int]) []string {
		// Every key gets 10; those reaching 1000 are forgotten, the others emit at the end.
		items := make([]weir.KV[int], n)
		for i := range items {
			items[i] = weir.KV[int]{Key: fmt.Sprint(i), Value: 10}
		}
		var got []string
		for _, eof := range []bool{false, true} {
			batch := any(items)
			if eof {
				batch = []weir.KV[int]{{Key: "990", Value: 1}} // forgotten above: comes back
			}
			out, err := rt.Activate(batch, time.Time{}, eof)
			if err != nil {
				t.Fatal(err)
			}
			if out != nil {
				for _, kv := range out.([]weir.KV[int]) {
					got = append(got, kv.Key+"="+fmt.Sprint(kv.Value))
				}
			}
		}
		changes, _, err := rt.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprint(len(changes), " changes"))
		keys, _ := rt.Held()
		return append(got, fmt.Sprint(keys, " keys"))
	}
	ref := want(resumeKeys(t, n, false))
	if got := want(resumeKeys(t, n, true)); !slices.Equal(got, ref) {
		t.Errorf("resumed in key order: \n%v\nwant\n%v", got, ref)
	}
	if got := want(preloadKeys(t, n, false)); !slices.Equal(got, ref) {
		t.Errorf("preloaded resume gives\n%v\nwant\n%v", got, ref)
	}
	if got := want(preloadKeys(t, n, true)); !slices.Equal(got, ref) {
		t.Errorf("preloaded in key order, resume gives\n%v\nwant\n%v", got, ref)
	}
	if !slices.Contains(ref, "990=1") || slices.Contains(ref, "995=1005") {
		t.Errorf("the test's keys are not forgotten and back: %v", ref)
	}
}

// Resuming a key allocates about one object: its logic (the entries come in blocks); the
// decoder of the state adds its own. Before the blocks, each key also cost its entry.
func TestResumeAllocs(t *testing.T) {
	if testing.CoverMode() != "" {
		t.Skip("coverage counters allocate")
	}
	const n = 10_000
	c := codec.For[int]()
	keys := make([]string, n)
	states := make([][]byte, n)
	for i := range keys {
		keys[i] = fmt.Sprint(i)
		states[i], _ = c.Encode(i)
	}
	decode := testing.AllocsPerRun(5, func() {
		for i := range states {
			if _, err := c.Decode(states[i]); err != nil {
				t.Fatal(err)
			}
		}
	}) / n
	perKey := testing.AllocsPerRun(5, func() {
		rt := New[int, int, int](newCounter).(*stateful[int, int, int])
		for i := range keys {
			if err := rt.Resume(keys[i], states[i]); err != nil {
				t.Fatal(err)
			}
		}
	})/n - decode
	t.Logf("%.2f allocations per key besides the decoder's %.2f", perKey, decode)
	if perKey > 1.2 {
		t.Errorf("resuming a key allocates %.2f objects besides the decoder's, want about 1 (its logic)", perKey)
	}
	// Preloaded, the keys' number is known only at Index, which makes the map once at
	// its size.
	preloaded := testing.AllocsPerRun(5, func() {
		rt := New[int, int, int](newCounter).(*stateful[int, int, int])
		for i := range keys {
			if err := rt.Preload(keys[i], states[i]); err != nil {
				t.Fatal(err)
			}
		}
		rt.Index()
	})/n - decode
	t.Logf("preloaded: %.2f allocations per key besides the decoder's", preloaded)
	if preloaded > 1.2 {
		t.Errorf("preloading a key allocates %.2f objects besides the decoder's, want about 1 (its logic)", preloaded)
	}
	// A map grown key by key, as Resume grows it, allocates few more objects but more
	// bytes: its outgrown tables (10k keys: 2.98 MB against 2.54 MB preloaded).
	bytes := func(preload bool) uint64 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		rt := New[int, int, int](newCounter).(*stateful[int, int, int])
		for i := range keys {
			if preload {
				_ = rt.Preload(keys[i], states[i])
			} else {
				_ = rt.Resume(keys[i], states[i])
			}
		}
		rt.Index()
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc
	}
	grown, pre := bytes(false), bytes(true)
	t.Logf("%d keys: %d bytes preloaded, %d resumed one by one", n, pre, grown)
	if float64(pre) > 0.95*float64(grown) {
		t.Errorf("preloading %d keys allocates %d bytes, want less than the %d of resuming them one by one (a map grown key by key)", n, pre, grown)
	}
}
