package keyed

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/internal/codec"
	"github.com/weirflow/weir/internal/graph"
)

// tally is a Quiet, Timeless fold that records how it was fed: OnBatch calls and FoldOne
// calls, and every value in the order it met them. It panics on a negative value.
type tally struct {
	vals    []int64
	batches int
	ones    int
}

func (t *tally) take(v int64) {
	if v < 0 {
		panic("negative")
	}
	t.vals = append(t.vals, v)
}

func (t *tally) OnBatch(vs []int64) ([][]int64, bool) {
	t.batches++
	for _, v := range vs {
		t.take(v)
	}
	return nil, false
}
func (t *tally) FoldOne(v int64)             { t.ones++; t.take(v) }
func (t *tally) OnNotify() ([][]int64, bool) { return nil, false }
func (t *tally) OnEOF() ([][]int64, bool)    { return [][]int64{t.vals}, true }
func (t *tally) NotifyAt() (time.Time, bool) { return time.Time{}, false }
func (t *tally) Snapshot() []int64           { return t.vals }
func (t *tally) Timeless()                   {}
func (t *tally) Quiet()                      {}

// A Folding logic gets each value of a key it already holds through FoldOne, as the items
// come, and OnBatch only for the activation that made the key; the values reach it in
// arrival order either way, and the keys it folded are in the next snapshot.
func TestFoldingLogic(t *testing.T) {
	logics := map[string]*tally{}
	rt := New(func(resume []int64, ok bool) Logic[int64, []int64, []int64] {
		l := &tally{vals: resume}
		return l
	})
	built := func(key string) *tally { return rt.(*stateful[int64, []int64, []int64]).keys[key].logic.(*tally) }
	rt.Track()
	kv := func(k string, v int64) weir.KV[int64] { return weir.KV[int64]{Key: k, Value: v} }
	now := time.Unix(1, 0)
	batches := [][]weir.KV[int64]{
		{kv("b", 1), kv("a", 2), kv("b", 3)},
		{kv("a", 4), kv("c", 5), kv("a", 6), kv("b", 7), kv("c", 8)},
		{kv("c", 9)},
	}
	for i, items := range batches {
		out, err := rt.Activate(items, now, false)
		if err != nil || out != nil {
			t.Fatalf("batch %d: out %v, err %v", i, out, err)
		}
		for _, k := range []string{"a", "b", "c"} {
			if e := rt.(*stateful[int64, []int64, []int64]).keys[k]; e != nil {
				logics[k] = built(k)
			}
		}
		changes, _, err := rt.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		var keys []string
		for _, c := range changes {
			keys = append(keys, c.Key)
			st, err := codec.For[[]int64]().Decode(c.State)
			if err != nil {
				t.Fatal(err)
			}
			if want := logics[c.Key].vals; !slices.Equal(st, want) {
				t.Errorf("batch %d: snapshot of %s is %v, want %v", i, c.Key, st, want)
			}
		}
		slices.Sort(keys)
		want := [][]string{{"a", "b"}, {"a", "b", "c"}, {"c"}}[i]
		if !slices.Equal(keys, want) {
			t.Errorf("batch %d: snapshot of keys %v, want %v", i, keys, want)
		}
	}
	for k, want := range map[string]struct {
		vals           []int64
		batches, folds int
	}{
		"a": {[]int64{2, 4, 6}, 1, 2},
		"b": {[]int64{1, 3, 7}, 1, 1},
		"c": {[]int64{5, 8, 9}, 1, 1},
	} {
		l := logics[k]
		if !slices.Equal(l.vals, want.vals) || l.batches != want.batches || l.ones != want.folds {
			t.Errorf("%s: values %v, %d OnBatch, %d FoldOne; want %v, %d, %d", k, l.vals, l.batches, l.ones, want.vals, want.batches, want.folds)
		}
	}
	out, err := rt.Activate(nil, now, true)
	if err != nil {
		t.Fatal(err)
	}
	got := out.([]weir.KV[[]int64])
	if len(got) != 3 || got[0].Key != "a" || got[1].Key != "b" || got[2].Key != "c" {
		t.Errorf("end of stream emitted %v, want a, b, c in order", got)
	}
}

// A panic in FoldOne is a KeyError naming the key whose value it was folding.
func TestFoldingPanic(t *testing.T) {
	rt := New(func([]int64, bool) Logic[int64, []int64, []int64] { return &tally{} })
	kv := func(k string, v int64) weir.KV[int64] { return weir.KV[int64]{Key: k, Value: v} }
	if _, err := rt.Activate([]weir.KV[int64]{kv("a", 1), kv("b", 1)}, time.Unix(1, 0), false); err != nil {
		t.Fatal(err)
	}
	_, err := rt.Activate([]weir.KV[int64]{kv("a", 1), kv("b", -1), kv("a", 2)}, time.Unix(2, 0), false)
	var ke *graph.KeyError
	var pe *graph.PanicError
	if !errors.As(err, &ke) || ke.Key != "b" || !errors.As(err, &pe) {
		t.Fatalf("error %v, want a panic of key b", err)
	}
}

// An activation over keys the runtime already holds allocates nothing, whether its
// logics fold, are grouped without order (Quiet) or run in key order, with snapshots
// tracked or not: no per-item or per-batch garbage.
func TestActivateAllocs(t *testing.T) {
	builders := map[string]func(int64, bool) Logic[int64, int64, int64]{
		"fold":    func(int64, bool) Logic[int64, int64, int64] { return &foldSum{} },
		"quiet":   func(int64, bool) Logic[int64, int64, int64] { return &quietSum{} },
		"ordered": func(int64, bool) Logic[int64, int64, int64] { return &sum{} },
	}
	for name, build := range builders {
		for _, track := range []bool{false, true} {
			testActivateAllocs(t, name, build, track)
		}
	}
}

func testActivateAllocs(t *testing.T, name string, build func(int64, bool) Logic[int64, int64, int64], track bool) {
	rt := New(build)
	if track {
		rt.Track()
	}
	stream := countStream(1000, 1024, 4)
	now := time.Unix(1, 0)
	for _, items := range stream {
		if _, err := rt.Activate(items, now, false); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := rt.Snapshot(); err != nil {
		t.Fatal(err)
	}
	batches := make([]any, len(stream)) // boxed once: the engine hands batches as any
	for i, items := range stream {
		batches[i] = items
	}
	i := 0
	allocs := testing.AllocsPerRun(20, func() {
		if _, err := rt.Activate(batches[i%len(batches)], now, false); err != nil {
			t.Fatal(err)
		}
		i++
	})
	if allocs != 0 {
		t.Errorf("%s, track=%v: %v allocations per batch of 1024, want 0", name, track, allocs)
	}
}

// picky is a TryFolding logic, not Quiet: it takes even values at once and refuses odd
// ones, which OnBatch emits. It records every call in a log shared by the keys, and asks
// for a notification at 100 s plus its value count. Made with clocked, it is Clocked
// (not a SharedClock), so the runtime must not call TryFold: nothing tells it the time.
type picky struct {
	key     string
	log     *[]string
	vals    []int64
	clocked bool
}

func (p *picky) note(f string, a ...any) { *p.log = append(*p.log, p.key+" "+fmt.Sprintf(f, a...)) }

func (p *picky) TryFold(v int64) bool {
	p.note("try %d", v)
	if v < 0 {
		panic("negative")
	}
	if v%2 != 0 {
		return false
	}
	p.vals = append(p.vals, v)
	return true
}

func (p *picky) OnBatch(vs []int64) ([]int64, bool) {
	p.note("batch %v", vs)
	var odd []int64
	for _, v := range vs {
		p.vals = append(p.vals, v)
		if v%2 != 0 {
			odd = append(odd, v)
		}
	}
	return odd, false
}
func (p *picky) OnNotify() ([]int64, bool) { return nil, false }
func (p *picky) OnEOF() ([]int64, bool)    { return nil, false }
func (p *picky) NotifyAt() (time.Time, bool) {
	p.note("notify")
	return time.Unix(100+int64(len(p.vals)), 0), true
}
func (p *picky) NotifyAtNano() (int64, bool) {
	p.note("nanos")
	return time.Unix(100+int64(len(p.vals)), 0).UnixNano(), true
}
func (p *picky) Snapshot() []int64 { return p.vals }

type clockedPicky struct{ picky }

func (c *clockedPicky) SetNow(time.Time) { c.note("now") }

// A TryFolding logic gets a value through TryFold when its key has none yet in the
// activation: a value taken reaches no OnBatch, but the key is asked NotifyAt (at once,
// when its notification is not due) and is in the next snapshot; a value refused is the first OnBatch gets, in key order, with the
// key's later values of the batch, which TryFold does not see. New keys go through
// OnBatch, and a Clocked logic (not a SharedClock) never gets TryFold.
func TestTryFoldingLogic(t *testing.T) {
	for _, clocked := range []bool{false, true} {
		var log []string
		logics := map[string]*picky{}
		rt := New(func(resume []int64, ok bool) Logic[int64, int64, []int64] {
			p := &picky{log: &log, vals: resume, clocked: clocked}
			if clocked {
				c := &clockedPicky{*p}
				return c
			}
			return p
		})
		rt.Track()
		kv := func(k string, v int64) weir.KV[int64] { return weir.KV[int64]{Key: k, Value: v} }
		// Name the keys' logics as the runtime builds them.
		name := func() {
			for k, e := range rt.(*stateful[int64, int64, []int64]).keys {
				switch l := e.logic.(type) {
				case *picky:
					l.key, logics[k] = k, l
				case *clockedPicky:
					l.key, logics[k] = k, &l.picky
				}
			}
		}
		if _, err := rt.Activate([]weir.KV[int64]{kv("b", 0), kv("a", 0), kv("c", 0)}, time.Unix(1, 0), false); err != nil {
			t.Fatal(err)
		}
		name()
		if _, _, err := rt.Snapshot(); err != nil {
			t.Fatal(err)
		}
		log = nil
		out, err := rt.Activate([]weir.KV[int64]{kv("b", 2), kv("c", 4), kv("a", 3), kv("b", 5), kv("a", 6)}, time.Unix(2, 0), false)
		if err != nil {
			t.Fatal(err)
		}
		name()
		// A key that takes a value is asked its time at once (its notification, at 100 s
		// and more, is not due); b, given 5 to OnBatch afterwards, is asked again after it.
		want := []string{"b try 2", "b nanos", "c try 4", "c nanos", "a try 3", "b try 5", "a batch [3 6]", "b batch [5]", "a nanos", "b nanos"}
		wantOut := []weir.KV[int64]{kv("a", 3), kv("b", 5)}
		if clocked {
			want = []string{"a now", "a batch [3 6]", "b now", "b batch [2 5]", "c now", "c batch [4]", "a notify", "b notify", "c notify"}
		}
		if !slices.Equal(log, want) {
			t.Errorf("clocked %v: calls %q, want %q", clocked, log, want)
		}
		if got, _ := out.([]weir.KV[int64]); !slices.Equal(got, wantOut) {
			t.Errorf("clocked %v: emitted %v, want %v", clocked, got, wantOut)
		}
		changes, _, err := rt.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		var keys []string
		for _, c := range changes {
			keys = append(keys, c.Key)
		}
		slices.Sort(keys)
		if !slices.Equal(keys, []string{"a", "b", "c"}) {
			t.Errorf("clocked %v: snapshot of keys %v, want a, b, c", clocked, keys)
		}
		if got := logics["b"].vals; !slices.Equal(got, []int64{0, 2, 5}) {
			t.Errorf("clocked %v: b's values %v, want [0 2 5]", clocked, got)
		}
		if at, ok := rt.NextNotify(); !ok || at.Unix() != 102 { // c: two values
			t.Errorf("clocked %v: next notification %v %v, want 102 s", clocked, at, ok)
		}
		// A panic in TryFold is the key's.
		_, err = rt.Activate([]weir.KV[int64]{kv("a", 2), kv("b", -1)}, time.Unix(3, 0), false)
		var ke *graph.KeyError
		if !clocked && (!errors.As(err, &ke) || ke.Key != "b") {
			t.Errorf("error %v, want a panic of key b", err)
		}
	}
}
