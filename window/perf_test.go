package window

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/internal/graph"
	"github.com/weirflow/weir/internal/keyed"
	"github.com/weirflow/weir/internal/plan"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/weirtest"
)

// perfEv is an item of the windowed bench paths: a key and its event time.
type perfEv struct {
	Key string
	At  time.Time
}

// countKeys drives the key logics of a tumbling count on an event clock directly, as the
// keyed runtime does when a batch gives each key one event: event i has key i%keys and
// happens at base + i*(10s/keys), so that each key sees six events per one-minute
// window (with 10k keys, the bench path's events, one per millisecond).
type countKeys struct {
	base   time.Time
	build  func(snapshot[perfEv, foldState[int]], bool) *keyLogic[perfEv, int, foldState[int]]
	logics []*keyLogic[perfEv, int, foldState[int]]
	names  []string
	one    []perfEv
	now    time.Time
	next   int
	closed int // windows closed (Down results seen)
	events int // events emitted
}

func newCountKeys(keys int) *countKeys {
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	k := newKind(EventClock(func(e perfEv) time.Time { return e.At }, 0), Tumbling(time.Minute, base), nil,
		newFolds(func() (int, bool) { return 0, true }, nil, func(n int, _ perfEv) int { return n + 1 }, func(a, b int) int { return a + b }), false)
	perWorker := k.perWorker()
	c := &countKeys{base: base, logics: make([]*keyLogic[perfEv, int, foldState[int]], keys), names: make([]string, keys),
		one: make([]perfEv, 1), now: time.Now()}
	c.build = func(s snapshot[perfEv, foldState[int]], ok bool) *keyLogic[perfEv, int, foldState[int]] {
		return &perWorker(s, ok).(*tryLogic[perfEv, int, foldState[int]]).keyLogic
	}
	for i := range c.names {
		c.names[i] = "sensor-" + strconv.Itoa(i)
	}
	return c
}

// step runs the next event through its key's logic, and NotifyAt as the runtime does.
func (c *countKeys) step() {
	i := c.next % len(c.logics)
	l := c.logics[i]
	if l == nil {
		l = c.build(snapshot[perfEv, foldState[int]]{}, false)
		c.logics[i] = l
	}
	c.one[0] = perfEv{Key: c.names[i], At: c.base.Add(time.Duration(c.next) * (10 * time.Second / time.Duration(len(c.logics))))}
	l.SetNow(c.now)
	out, _ := l.OnBatch(c.one)
	c.events += len(out)
	for _, e := range out {
		if e.kind&downEvent != 0 {
			c.closed++
		}
	}
	l.NotifyAt()
	c.next++
}

// A window of a tumbling count costs no allocation: its count is kept in the key's logic,
// and its closing event carries its span's bounds. Before issue 18, each window allocated
// two (its logic and a copy of its span): 0.33 an event here; then one span in 64, from
// blocks.
func TestCountAllocsPerWindow(t *testing.T) {
	const keys = 1000
	c := newCountKeys(keys)
	for range 2 * 6 * keys { // every key through its first windows: logics and buffers made
		c.step()
	}
	closed := c.closed
	const events = 60 * keys // ten windows a key
	allocs := testing.AllocsPerRun(1, func() {
		for range events {
			c.step()
		}
	})
	windows := (c.closed - closed) / 2 // AllocsPerRun runs the function once more to warm up
	// A closing window's result is its Meta event too: one event, not two.
	if c.events != c.closed {
		t.Errorf("%d events for %d windows closed, want one each", c.events, c.closed)
	}
	if windows < 9*keys {
		t.Fatalf("%d windows closed over %d events, want about %d", windows, events, 10*keys)
	}
	if allocs != 0 {
		t.Errorf("%v allocations over %d windows, want none", allocs, windows)
	}
}

// A key of a tumbling count is one object, its logic, however its windows come and go:
// its first two windows and their counts are kept in it. Before, the key's first window
// had a fold logic of its own, and its second window moved the key's windows and logics
// into slices of their own: four allocations a key.
func TestCountAllocsPerKey(t *testing.T) {
	const keys = 1000
	c := newCountKeys(keys)
	c.step() // the worker's scratch buffers
	allocs := testing.AllocsPerRun(1, func() {
		for range 3 * 6 * keys { // each key through three windows
			c.step()
		}
		clear(c.logics) // new keys again in the next run
	})
	if allocs != keys {
		t.Errorf("%v allocations for %d keys through three windows each, want one a key", allocs, keys)
	}
}

// BenchmarkKeyLogicCount measures the window layer alone per event of the windowed bench
// path: the key logics of a tumbling count on an event clock, 10k keys, one event per key
// per call, without the keyed runtime's map, order and timers.
func BenchmarkKeyLogicCount(b *testing.B) {
	c := newCountKeys(10_000)
	for b.Loop() {
		c.step()
	}
	if c.next > 12*10_000 && c.closed == 0 {
		b.Fatal("no window closed")
	}
}

// The worker's memo of the last tumbling window gives what intersects gives, for times
// in and out of the window remembered, near alignTo and near the ends of the instants.
func TestIntersectsVia(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		length time.Duration
		align  time.Time
		near   int64 // the times tried are near this instant
	}{
		{time.Minute, time.Unix(0, 0), 0},
		{time.Minute, time.Unix(7, 5), instant(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))},
		{3 * time.Nanosecond, time.Unix(0, 0), 0},
		{time.Hour, maxTime, minInstant + 1},
		{time.Hour, minTime, maxInstant - 1},
		{Forever, time.Unix(0, 0), maxInstant - 1},
	} {
		w := Tumbling(tc.length, tc.align)
		if err := w.check(); err != nil {
			t.Fatal(err)
		}
		var m lastWindow
		for range 2000 {
			d := rng.Int64N(4*int64(min(tc.length, time.Hour))) - 2*int64(min(tc.length, time.Hour))
			ts := add(tc.near, d)
			if ts == minInstant || ts == maxInstant {
				continue
			}
			f1, l1, o1 := w.intersects(ts)
			f2, l2, o2 := w.intersectsVia(&m, ts)
			if f1 != f2 || l1 != l2 || o1 != o2 {
				t.Fatalf("length %v, align %v, ts %d: via the memo %d..%d open %d, want %d..%d open %d",
					tc.length, tc.align, ts, f2, l2, o2, f1, l1, o1)
			}
		}
	}
}

// A window's accumulator starts from the builder's, also where its slot in the key's logic
// held a window before: the results of the windows it served before, emitted, are not
// changed by what it collects next, nor are those of a session merged away.
func TestReusedLogicsStartAfresh(t *testing.T) {
	collect := newFolds(func() ([]int, bool) { return nil, true }, nil,
		func(acc []int, v int) []int { return append(acc, v) }, func(a, b []int) []int { return append(a, b...) })
	for _, tc := range []struct {
		name     string
		windower Windower
		wait     time.Duration
		items    []int // event times in seconds, one batch each
		want     []Windowed[[]int]
	}{
		// 11 opens window 1 and closes window 0, whose logic 21's window 2 takes.
		{"tumbling", Tumbling(10*time.Second, time.Unix(0, 0)), 0, []int{1, 2, 11, 12, 13, 21},
			[]Windowed[[]int]{{0, []int{1, 2}}, {1, []int{11, 12, 13}}, {2, []int{21}}}},
		// 0 and 10 open two sessions that 5 merges (the second's logic goes spare), then
		// 40 opens a third on a reused logic.
		{"session", Session(5 * time.Second), time.Hour, []int{0, 10, 5, 40, 41},
			[]Windowed[[]int]{{0, []int{0, 5, 10}}, {2, []int{40, 41}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := newKind(EventTime(func(v int) time.Time { return time.Unix(int64(v), 0) }, tc.wait), tc.windower, nil, collect, false)
			perWorker := k.perWorker()
			l := perWorker(snapshot[int, foldState[[]int]]{}, false)
			var got []Windowed[[]int]
			keep := func(out []event[int, []int]) {
				for _, e := range out {
					if e.kind&downEvent != 0 {
						got = append(got, Windowed[[]int]{e.id, e.down})
					}
				}
			}
			for _, v := range tc.items {
				out, _ := l.OnBatch([]int{v})
				keep(out)
			}
			out, _ := l.OnEOF()
			keep(out)
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("results %v, want %v", got, tc.want)
			}
		})
	}
}

// A window operator splits its events into Down, Late and Meta (and WithBounds's stream)
// by pure steps, which the engine does not run when nothing reads them
// (engine.TestUnreadPureStepDoesNotRun): a windowed count whose Late and Meta nobody reads
// makes one pass over its events, not three (the unread ones were about 5% of the
// windowed count's CPU time).
func TestUnreadSplitsArePure(t *testing.T) {
	flow := weir.NewDataflow("f")
	in := op.Input("in", flow, weirtest.NewSource[perfEv]())
	out := Count("count", in, EventTime(func(e perfEv) time.Time { return e.At }, 0),
		Tumbling(time.Minute, time.Unix(0, 0)), func(e perfEv) string { return e.Key })
	op.Output("down", out.Down, weirtest.NewSink[weir.KV[Windowed[int]]]())
	op.Output("bounded_out", out.WithBounds("bounded"), weirtest.NewSink[weir.KV[Bounded[int]]]())
	p, err := plan.New(graph.FlowOf(flow))
	if err != nil {
		t.Fatal(err)
	}
	read := map[string]bool{"f.count.sum.unwrap_down.flat_map_batch": true, "f.bounded.flat_map_batch": true,
		"f.count.sum.unwrap_late.flat_map_batch": false, "f.count.sum.unwrap_meta.flat_map_batch": false}
	for _, n := range p.Nodes {
		want, ok := read[n.ID]
		if !ok {
			continue
		}
		delete(read, n.ID)
		if n.Kind != graph.FlatMapBatch || !n.Spec.(*graph.FlatMapSpec).Pure {
			t.Errorf("step %s is not a pure FlatMapBatch", n.ID)
		}
		if got := len(n.Out[0]) > 0; got != want {
			t.Errorf("step %s read: %v, want %v", n.ID, got, want)
		}
	}
	for id := range read {
		t.Errorf("no step %s", id)
	}
}

// BenchmarkActivateCount measures the keyed runtime and the window layer per event of the
// windowed bench path, without the engine: batches of 1024 events of 10k keys, one event
// per key every 10 s of event time (six per window), given to a tumbling count's runtime.
func BenchmarkActivateCount(b *testing.B) {
	const keys, batchLen = 10_000, 1024
	c := newCountKeys(keys)
	k := newKind(EventClock(func(e perfEv) time.Time { return e.At }, 0), Tumbling(time.Minute, c.base), nil,
		newFolds(func() (int, bool) { return 0, true }, nil, func(n int, _ perfEv) int { return n + 1 }, func(a, b int) int { return a + b }), false)
	rt := keyed.New[perfEv, event[perfEv, int], snapshot[perfEv, foldState[int]]](k.perWorker())
	items := make([]weir.KV[perfEv], batchLen)
	next, results := 0, 0
	for b.Loop() {
		for i := range items {
			key := c.names[next%keys]
			items[i] = weir.KV[perfEv]{Key: key, Value: perfEv{Key: key, At: c.base.Add(time.Duration(next) * time.Millisecond)}}
			next++
		}
		out, err := rt.Activate(items, c.now, false)
		if err != nil {
			b.Fatal(err)
		}
		if out != nil {
			results += len(out.([]weir.KV[event[perfEv, int]]))
		}
	}
	b.ReportMetric(float64(b.Elapsed())/float64(next), "ns/event")
	if next > 12*keys && results == 0 {
		b.Fatal("no window closed")
	}
}
