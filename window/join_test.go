package window_test

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/run"
	"github.com/weirflow/weir/weirtest"
	"github.com/weirflow/weir/window"
)

// joinT0 is the origin of the join tests' event times.
var joinT0 = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// joinVal is a value of a join side with its event time; it prints as its number.
type joinVal struct {
	At time.Duration // after joinT0
	N  int
}

func (v joinVal) String() string { return strconv.Itoa(v.N) }

func (v joinVal) time() time.Time { return joinT0.Add(v.At) }

// joinEv is a value for one side of a join, in a test's single input.
type joinEv struct {
	Key  string
	Side int
	At   time.Duration
	N    int
}

func jev(key string, side int, at time.Duration, n int) joinEv { return joinEv{key, side, at, n} }

// joinSides splits one input into n keyed sides.
func joinSides(s weir.Stream[joinEv], n int) []weir.KeyedStream[joinVal] {
	sides := make([]weir.KeyedStream[joinVal], n)
	for i := range sides {
		sides[i] = op.FilterMap("side"+strconv.Itoa(i), s, func(e joinEv) (weir.KV[joinVal], bool) {
			return weir.KV[joinVal]{Key: e.Key, Value: joinVal{e.At, e.N}}, e.Side == i
		})
	}
	return sides
}

func joinClock(wait time.Duration) window.Clock[joinVal] {
	return window.EventClock(joinVal.time, wait)
}

// joinOut is what a join's three streams carried in a run.
type joinOut[V, W any] struct {
	down []weir.KV[window.Windowed[W]]
	late []weir.KV[window.Windowed[V]]
	meta []weir.KV[window.Windowed[window.Meta]]
}

// runJoin runs items through build with the given number of workers, in a synctest
// bubble so that system time stands still unless the run waits for it.
func runJoin[V, W any](t *testing.T, workers int, items []joinEv, build func(weir.Stream[joinEv]) window.Out[V, W]) joinOut[V, W] {
	t.Helper()
	var got joinOut[V, W]
	synctest.Test(t, func(t *testing.T) {
		flow := weir.NewDataflow("f")
		out := build(op.Input("in", flow, weirtest.NewSource(items...)))
		down := weirtest.NewSink[weir.KV[window.Windowed[W]]]()
		late := weirtest.NewSink[weir.KV[window.Windowed[V]]]()
		meta := weirtest.NewSink[weir.KV[window.Windowed[window.Meta]]]()
		op.Output("down", out.Down, down)
		op.Output("late", out.Late, late)
		op.Output("meta", out.Meta, meta)
		weirtest.Run(t, flow, workers)
		got = joinOut[V, W]{down.Items(), late.Items(), meta.Items()}
	})
	return got
}

// joinPerKey shows keyed windowed items as "key: id[value] id[value]; key2: ...", keys
// sorted, each key's items in arrival order: what a run must produce whatever the
// interleaving of keys.
func joinPerKey[T any](items []weir.KV[window.Windowed[T]]) string {
	m := map[string][]string{}
	for _, kv := range items {
		m[kv.Key] = append(m[kv.Key], fmt.Sprintf("%d%v", kv.Value.Window, kv.Value.Value))
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + ": " + strings.Join(m[k], " ")
	}
	return strings.Join(parts, "; ")
}

func joinDiff(t *testing.T, what, got, want string) {
	t.Helper()
	if got != want {
		t.Errorf("%s:\n got %s\nwant %s", what, got, want)
	}
}

const jsec = time.Second

// TestJoinModes runs every insert and emit mode over tumbling windows, ordered: values
// arrive out of order within the clock's wait and are applied in time order.
func TestJoinModes(t *testing.T) {
	in := []joinEv{
		jev("k", 1, 3*jsec, 10),
		jev("k", 0, 1*jsec, 1),
		jev("j", 0, 6*jsec, 3),
		jev("k", 0, 2*jsec, 2),
		jev("k", 0, 5*jsec, 4),
		jev("k", 1, 4*jsec, 20),
		jev("k", 1, 12*jsec, 30), // watermark 7s: window 0 stays open
		jev("k", 0, 16*jsec, 5),  // watermark 11s: window 0 closes
	}
	// In time order, window 0 of k gets 1, 2 on side 0, 10, 20 on side 1, then 4 on side
	// 0; window 1 gets 30 on side 1, then 5 on side 0.
	tests := []struct {
		insert op.JoinInsert
		emit   op.JoinEmit
		want   string
	}{
		{op.InsertFirst, op.EmitComplete, "k: 0[1 10] 0[4 20] 1[5 30]"},
		{op.InsertFirst, op.EmitFinal, "j: 0[3 <none>]; k: 0[1 10] 1[5 30]"},
		{op.InsertFirst, op.EmitRunning, "j: 0[3 <none>]; k: 0[1 <none>] 0[1 <none>] 0[1 10] 0[1 10] 0[1 10] 1[<none> 30] 1[5 30]"},
		{op.InsertLast, op.EmitComplete, "k: 0[2 10] 0[4 20] 1[5 30]"},
		{op.InsertLast, op.EmitFinal, "j: 0[3 <none>]; k: 0[4 20] 1[5 30]"},
		{op.InsertLast, op.EmitRunning, "j: 0[3 <none>]; k: 0[1 <none>] 0[2 <none>] 0[2 10] 0[2 20] 0[4 20] 1[<none> 30] 1[5 30]"},
		{op.InsertProduct, op.EmitComplete, "k: 0[1 10] 0[2 10] 0[4 20] 1[5 30]"},
		{op.InsertProduct, op.EmitFinal, "j: 0[3 <none>]; k: 0[1 10] 0[1 20] 0[2 10] 0[2 20] 0[4 10] 0[4 20] 1[5 30]"},
		{op.InsertProduct, op.EmitRunning, "j: 0[3 <none>]; k: 0[1 <none>] 0[1 <none>] 0[2 <none>] 0[1 10] 0[2 10] " +
			"0[1 10] 0[1 20] 0[2 10] 0[2 20] 0[1 10] 0[1 20] 0[2 10] 0[2 20] 0[4 10] 0[4 20] 1[<none> 30] 1[5 30]"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%v_%v", tt.insert, tt.emit), func(t *testing.T) {
			got := runJoin(t, 1, in, func(s weir.Stream[joinEv]) window.Out[[]op.Opt[joinVal], []op.Opt[joinVal]] {
				return window.Join("join", joinSides(s, 2), joinClock(5*time.Second), window.Tumbling(10*time.Second, joinT0),
					window.JoinModes(op.InsertMode(tt.insert), op.EmitMode(tt.emit)))
			})
			joinDiff(t, "down", joinPerKey(got.down), tt.want)
			joinDiff(t, "late", joinPerKey(got.late), "")
			// Every window closes, with or without rows, in every mode.
			joinDiff(t, "meta", fmt.Sprint(got.meta),
				"[(k, (0, {2024-01-01 00:00:00 +0000 UTC 2024-01-01 00:00:10 +0000 UTC []})) "+
					"(j, (0, {2024-01-01 00:00:00 +0000 UTC 2024-01-01 00:00:10 +0000 UTC []})) "+
					"(k, (1, {2024-01-01 00:00:10 +0000 UTC 2024-01-01 00:00:20 +0000 UTC []}))]")
		})
	}
}

// TestJoinDefaults checks that a windowed join keeps the last values and emits when the
// window closes.
func TestJoinDefaults(t *testing.T) {
	in := []joinEv{jev("k", 0, 1*jsec, 1), jev("k", 1, 2*jsec, 10), jev("k", 0, 3*jsec, 2), jev("k", 1, 11*jsec, 20)}
	got := runJoin(t, 1, in, func(s weir.Stream[joinEv]) window.Out[[]op.Opt[joinVal], []op.Opt[joinVal]] {
		return window.Join("join", joinSides(s, 2), joinClock(0), window.Tumbling(10*time.Second, joinT0))
	})
	joinDiff(t, "down", joinPerKey(got.down), "k: 0[2 10] 1[<none> 20]")
}

// TestJoinSessionMerge merges sessions in unordered mode (ordered sessions never merge:
// values come in time order), for every mode. Sessions have a 10s gap.
//
// Key k: session 0 gets 1 (0s, side 0); session 1 gets 2 (20s, side 0) and 20 (21s, side
// 1); session 0 gets 10 (1s, side 1) and 3 (10s, side 0), which extends it to within the
// gap of session 1, so 1 merges into 0. Key m: session 0 gets 1 (0s, side 0), session 1
// gets 2 (20s, side 1), then 3 (10s, side 0) goes into 0 and merges them, completing 0.
func TestJoinSessionMerge(t *testing.T) {
	in := []joinEv{
		jev("k", 0, 0*jsec, 1),
		jev("m", 0, 0*jsec, 1),
		jev("k", 0, 20*jsec, 2),
		jev("m", 1, 20*jsec, 2),
		jev("k", 1, 21*jsec, 20),
		jev("k", 1, 1*jsec, 10),
		jev("k", 0, 10*jsec, 3),
		jev("m", 0, 10*jsec, 3),
	}
	tests := []struct {
		insert op.JoinInsert
		emit   op.JoinEmit
		want   string
	}{
		// First keeps the earlier session's value of each side that has one.
		{op.InsertFirst, op.EmitFinal, "k: 0[1 10]; m: 0[1 2]"},
		// Last takes the later session's.
		{op.InsertLast, op.EmitFinal, "k: 0[2 20]; m: 0[3 2]"},
		// Product appends the later session's values.
		{op.InsertProduct, op.EmitFinal, "k: 0[1 10] 0[1 20] 0[3 10] 0[3 20] 0[2 10] 0[2 20]; m: 0[1 2] 0[3 2]"},
		// A merge that completes a window emits; k's sessions were each complete and cleared.
		{op.InsertFirst, op.EmitComplete, "k: 1[2 20] 0[1 10]; m: 0[1 2]"},
		{op.InsertLast, op.EmitComplete, "k: 1[2 20] 0[1 10]; m: 0[3 2]"},
		{op.InsertProduct, op.EmitComplete, "k: 1[2 20] 0[1 10]; m: 0[1 2] 0[3 2]"},
		// Running emits after every value and after the merge.
		{op.InsertFirst, op.EmitRunning, "k: 0[1 <none>] 1[2 <none>] 1[2 20] 0[1 10] 0[1 10] 0[1 10]; " +
			"m: 0[1 <none>] 1[<none> 2] 0[1 <none>] 0[1 2]"},
		{op.InsertLast, op.EmitRunning, "k: 0[1 <none>] 1[2 <none>] 1[2 20] 0[1 10] 0[3 10] 0[2 20]; " +
			"m: 0[1 <none>] 1[<none> 2] 0[3 <none>] 0[3 2]"},
		{op.InsertProduct, op.EmitRunning, "k: 0[1 <none>] 1[2 <none>] 1[2 20] 0[1 10] 0[1 10] 0[3 10] " +
			"0[1 10] 0[1 20] 0[3 10] 0[3 20] 0[2 10] 0[2 20]; " +
			"m: 0[1 <none>] 1[<none> 2] 0[1 <none>] 0[3 <none>] 0[1 2] 0[3 2]"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%v_%v", tt.insert, tt.emit), func(t *testing.T) {
			got := runJoin(t, 1, in, func(s weir.Stream[joinEv]) window.Out[[]op.Opt[joinVal], []op.Opt[joinVal]] {
				return window.Join("join", joinSides(s, 2), joinClock(time.Hour), window.Session(10*time.Second),
					window.JoinModes(op.InsertMode(tt.insert), op.EmitMode(tt.emit)), window.Ordered(false))
			})
			joinDiff(t, "down", joinPerKey(got.down), tt.want)
			joinDiff(t, "meta", fmt.Sprint(got.meta),
				"[(k, (0, {2024-01-01 00:00:00 +0000 UTC 2024-01-01 00:00:21 +0000 UTC [1]})) "+
					"(m, (0, {2024-01-01 00:00:00 +0000 UTC 2024-01-01 00:00:20 +0000 UTC [1]}))]")
		})
	}
}

// TestJoinOrderedSessions checks that the values of the merge test, ordered, make one
// session per key without merges, in time order.
func TestJoinOrderedSessions(t *testing.T) {
	in := []joinEv{jev("k", 0, 0*jsec, 1), jev("k", 0, 20*jsec, 2), jev("k", 1, 21*jsec, 20), jev("k", 1, 1*jsec, 10), jev("k", 0, 10*jsec, 3)}
	got := runJoin(t, 1, in, func(s weir.Stream[joinEv]) window.Out[[]op.Opt[joinVal], []op.Opt[joinVal]] {
		return window.Join("join", joinSides(s, 2), joinClock(time.Hour), window.Session(10*time.Second),
			window.JoinModes(op.EmitMode(op.EmitRunning)))
	})
	joinDiff(t, "down", joinPerKey(got.down), "k: 0[1 <none>] 0[1 10] 0[3 10] 0[2 10] 0[2 20]")
	joinDiff(t, "meta", fmt.Sprint(got.meta), "[(k, (0, {2024-01-01 00:00:00 +0000 UTC 2024-01-01 00:00:21 +0000 UTC []}))]")
}

// TestJoinLate checks that late values come out on Late as rows with only their side
// set, with the window they missed: sliding windows name each of them, sessions LateID.
func TestJoinLate(t *testing.T) {
	in := []joinEv{
		jev("k", 0, 1*jsec, 1),
		jev("k", 1, 12*jsec, 20), // watermark 12s: window 0 closes
		jev("k", 1, 2*jsec, 10),  // late for window 0
		jev("k", 0, 11*jsec, 2),  // late (below 12s) but its window is open
		jev("k", 0, 13*jsec, 3),
	}
	tests := []struct {
		name     string
		windower window.Windower
		down     string
		late     string
	}{
		{"tumbling", window.Tumbling(10*time.Second, joinT0), "k: 0[1 <none>] 1[3 20]", "k: 0[<none> 10] 1[2 <none>]"},
		{"sliding", window.Sliding(10*time.Second, 5*time.Second, joinT0),
			"k: -1[1 <none>] 0[1 <none>] 1[3 20] 2[3 20]", "k: -1[<none> 10] 0[<none> 10] 1[2 <none>] 2[2 <none>]"},
		{"session", window.Session(5 * time.Second), "k: 0[1 <none>] 1[3 20]", "k: -1[<none> 10] -1[2 <none>]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := runJoin(t, 1, in, func(s weir.Stream[joinEv]) window.Out[[]op.Opt[joinVal], []op.Opt[joinVal]] {
				return window.Join("join", joinSides(s, 2), joinClock(0), tt.windower)
			})
			joinDiff(t, "down", joinPerKey(got.down), tt.down)
			joinDiff(t, "late", joinPerKey(got.late), tt.late)
		})
	}
}

type joinClick struct {
	At   time.Duration
	Page string
}

func (c joinClick) time() time.Time { return joinT0.Add(c.At) }

type joinBuy struct {
	At    time.Duration
	Cents int
}

func (p joinBuy) time() time.Time { return joinT0.Add(p.At) }

// TestJoin2MixedTypes joins clicks and purchases with an event clock built from each
// side's own timestamp function, late items included.
func TestJoin2MixedTypes(t *testing.T) {
	type R = op.Row2[joinClick, joinBuy]
	in := []joinEv{
		jev("u1", 0, 1*jsec, 1), jev("u2", 1, 2*jsec, 250), jev("u1", 1, 3*jsec, 999), jev("u1", 0, 4*jsec, 2),
		jev("u1", 0, 14*jsec, 3), jev("u1", 1, 5*jsec, 100), // late: u1's watermark is 14s
	}
	got := runJoin(t, 1, in, func(s weir.Stream[joinEv]) window.Out[R, R] {
		clicks := op.FilterMap("clicks", s, func(e joinEv) (weir.KV[joinClick], bool) {
			return weir.KV[joinClick]{Key: e.Key, Value: joinClick{e.At, "p" + strconv.Itoa(e.N)}}, e.Side == 0
		})
		buys := op.FilterMap("buys", s, func(e joinEv) (weir.KV[joinBuy], bool) {
			return weir.KV[joinBuy]{Key: e.Key, Value: joinBuy{e.At, e.N}}, e.Side == 1
		})
		clock := window.EventClock(window.RowTime2(joinClick.time, joinBuy.time), 0)
		return window.Join2("join", clicks, buys, clock, window.Tumbling(10*time.Second, joinT0),
			window.JoinModes(op.InsertMode(op.InsertProduct)))
	})
	joinDiff(t, "down", joinPerKey(got.down), "u1: 0{{1s p1} {3s 999}} 0{{4s p2} {3s 999}} 1{{14s p3} <none>}; u2: 0{<none> {2s 250}}")
	joinDiff(t, "late", joinPerKey(got.late), "u1: 0{<none> {5s 100}}")
}

// TestJoin3SystemClock joins three sides of different types on the system clock: with
// time standing still, all of a key's values share one window.
func TestJoin3SystemClock(t *testing.T) {
	type R = op.Row3[int, string, float64]
	in := []joinEv{jev("a", 2, 0, 3), jev("a", 0, 0, 1), jev("b", 1, 0, 2), jev("a", 1, 0, 7), jev("a", 0, 0, 4)}
	got := runJoin(t, 1, in, func(s weir.Stream[joinEv]) window.Out[R, R] {
		ints := op.FilterMap("ints", s, func(e joinEv) (weir.KV[int], bool) { return weir.KV[int]{Key: e.Key, Value: e.N}, e.Side == 0 })
		strs := op.FilterMap("strs", s, func(e joinEv) (weir.KV[string], bool) {
			return weir.KV[string]{Key: e.Key, Value: strconv.Itoa(e.N)}, e.Side == 1
		})
		floats := op.FilterMap("floats", s, func(e joinEv) (weir.KV[float64], bool) {
			return weir.KV[float64]{Key: e.Key, Value: float64(e.N) / 2}, e.Side == 2
		})
		return window.Join3("join", ints, strs, floats, window.SystemClock[R](), window.Tumbling(time.Hour, joinT0),
			window.JoinModes(op.EmitMode(op.EmitComplete)))
	})
	// Synctest's clock starts on 2000-01-01, which is window -210384 of hourly windows
	// aligned to 2024.
	joinDiff(t, "down", joinPerKey(got.down), "a: -210384{1 7 1.5}")
	joinDiff(t, "meta", fmt.Sprint(len(got.meta)), "2")
}

// TestJoinWorkersAgree runs every mode with 1, 2 and 4 workers: each must give the same
// multiset of rows, late items and metadata. With one input, a key's values arrive in
// the same order whatever the workers, so windows close and values are late mid-stream;
// with one input per side the interleaving of sides varies, so the wait is long enough
// that nothing is late (and ordered mode applies values in time order).
func TestJoinWorkersAgree(t *testing.T) {
	var in []joinEv
	for i := range 300 {
		key := fmt.Sprintf("k%02d", (i*7)%17)
		in = append(in, jev(key, i%2, time.Duration(i*37%150)*jsec+time.Duration(i)*time.Millisecond, i))
	}
	inputs := []struct {
		name  string
		split bool
		wait  time.Duration
	}{{"one_input", false, 40 * jsec}, {"two_inputs", true, time.Hour}}
	for _, input := range inputs {
		for _, insert := range []op.JoinInsert{op.InsertFirst, op.InsertLast, op.InsertProduct} {
			for _, emit := range []op.JoinEmit{op.EmitComplete, op.EmitFinal, op.EmitRunning} {
				t.Run(fmt.Sprintf("%s_%v_%v", input.name, insert, emit), func(t *testing.T) {
					var want []string
					for _, workers := range []int{1, 2, 4} {
						got := joinRunInputs(t, workers, in, input.split, input.wait, insert, emit)
						if workers == 1 {
							want = got
							continue
						}
						if !slices.Equal(got, want) {
							t.Errorf("%d workers: %d results differ from 1 worker's %d", workers, len(got), len(want))
						}
					}
					if !slices.ContainsFunc(want, func(s string) bool { return strings.HasPrefix(s, "down") }) {
						t.Error("no rows")
					}
					if hasLate := slices.ContainsFunc(want, func(s string) bool { return strings.HasPrefix(s, "late") }); hasLate == input.split {
						t.Errorf("late items: %v, want %v", hasLate, !input.split)
					}
				})
			}
		}
	}
}

// joinRunInputs joins the two sides of in, read from one input or one per side in
// batches of 7, and returns everything the join emitted, formatted and sorted.
func joinRunInputs(t *testing.T, workers int, in []joinEv, split bool, wait time.Duration, insert op.JoinInsert, emit op.JoinEmit) []string {
	var got []string
	synctest.Test(t, func(t *testing.T) {
		flow := weir.NewDataflow("f")
		var sides []weir.KeyedStream[joinVal]
		if split {
			for i := range 2 {
				var items []weir.KV[joinVal]
				for _, e := range in {
					if e.Side == i {
						items = append(items, weir.KV[joinVal]{Key: e.Key, Value: joinVal{e.At, e.N}})
					}
				}
				sides = append(sides, op.Input("in"+strconv.Itoa(i), flow, weirtest.NewSource(items...).BatchSize(7)))
			}
		} else {
			sides = joinSides(op.Input("in", flow, weirtest.NewSource(in...).BatchSize(7)), 2)
		}
		out := window.Join("join", sides, joinClock(wait), window.Sliding(20*time.Second, 10*time.Second, joinT0),
			window.JoinModes(op.InsertMode(insert), op.EmitMode(emit)))
		sink := weirtest.NewSink[string]()
		op.Output("out", op.Merge("all",
			op.Map("down", out.Down, func(kv weir.KV[window.Windowed[[]op.Opt[joinVal]]]) string { return "down " + fmt.Sprint(kv) }),
			op.Map("late", out.Late, func(kv weir.KV[window.Windowed[[]op.Opt[joinVal]]]) string { return "late " + fmt.Sprint(kv) }),
			op.Map("meta", out.Meta, func(kv weir.KV[window.Windowed[window.Meta]]) string { return "meta " + fmt.Sprint(kv) }),
		), sink)
		weirtest.Run(t, flow, workers, run.EpochInterval(0))
		got = sink.Items()
	})
	slices.Sort(got)
	return got
}

func TestJoinBuildErrors(t *testing.T) {
	tumbling := window.Tumbling(time.Second, joinT0)
	tests := []struct {
		name  string
		build func(s weir.KeyedStream[joinVal])
		want  string
	}{
		{"one_side", func(s weir.KeyedStream[joinVal]) {
			window.Join("j", []weir.KeyedStream[joinVal]{s}, joinClock(0), tumbling)
		}, "weir: step f.j: a join needs at least two sides, not 1"},
		{"insert_mode", func(s weir.KeyedStream[joinVal]) {
			window.Join("j", []weir.KeyedStream[joinVal]{s, s}, joinClock(0), tumbling, window.JoinModes(op.InsertMode(7)))
		}, "weir: step f.j: unknown join insert mode JoinInsert(7)"},
		{"emit_mode", func(s weir.KeyedStream[joinVal]) {
			window.Join2("j", s, s, window.SystemClock[op.Row2[joinVal, joinVal]](), tumbling, window.JoinModes(op.EmitMode(0)))
		}, "weir: step f.j: unknown join emit mode JoinEmit(0)"},
		{"windower", func(s weir.KeyedStream[joinVal]) {
			window.Join3("j", s, s, s, window.SystemClock[op.Row3[joinVal, joinVal, joinVal]](), window.Session(-time.Second))
		}, "weir: step f.j: session window gap must not be negative, not -1s"},
		{"no_windower", func(s weir.KeyedStream[joinVal]) {
			window.Join("j", []weir.KeyedStream[joinVal]{s, s}, joinClock(0), window.Windower{})
		}, "weir: step f.j: no windower: use window.Tumbling, Sliding or Session"},
		{"no_clock", func(s weir.KeyedStream[joinVal]) {
			window.Join("j", []weir.KeyedStream[joinVal]{s, s}, window.Clock[joinVal]{}, tumbling)
		}, "weir: step f.j: no clock: use window.SystemClock, EventTime or EventClock"},
		{"unknown_mode_not_overridden", func(s weir.KeyedStream[joinVal]) {
			window.Join("j", []weir.KeyedStream[joinVal]{s, s}, joinClock(0), tumbling,
				window.JoinModes(op.InsertMode(0)), window.JoinModes(op.InsertMode(op.InsertFirst)))
		}, "weir: step f.j: unknown join insert mode JoinInsert(0)"},
		{"modes_on_collect", func(s weir.KeyedStream[joinVal]) {
			window.Collect("c", s, joinClock(0), tumbling, window.JoinModes(op.EmitMode(op.EmitRunning)))
		}, "weir: step f.c: join modes (window.JoinModes) given to a window operator that is not a join"},
		{"modes_on_count", func(s weir.KeyedStream[joinVal]) {
			window.Count("n", s, window.SystemClock[weir.KV[joinVal]](), tumbling,
				func(kv weir.KV[joinVal]) string { return kv.Key }, window.JoinModes())
		}, "weir: step f.n: join modes (window.JoinModes) given to a window operator that is not a join"},
		{"duplicate_id", func(s weir.KeyedStream[joinVal]) {
			window.Join("j", []weir.KeyedStream[joinVal]{s, s}, joinClock(0), tumbling)
			window.Join("j", []weir.KeyedStream[joinVal]{s, s}, joinClock(0), tumbling)
		}, `weir: duplicate step id "f.j"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			flow := weir.NewDataflow("f")
			tt.build(op.Input("in", flow, weirtest.NewSource[weir.KV[joinVal]]()))
			if err := flow.Err(); err == nil || err.Error() != tt.want {
				t.Errorf("build error = %v, want %q", err, tt.want)
			}
		})
	}
}
