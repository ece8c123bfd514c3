package window

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/internal/codec"
	"github.com/weirflow/weir/internal/engine"
	"github.com/weirflow/weir/internal/graph"
	"github.com/weirflow/weir/internal/plan"
	"github.com/weirflow/weir/internal/state"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/run"
	"github.com/weirflow/weir/weirtest"
)

// ev is a test item: its key, a name to print and an event time (from t0).
type ev struct {
	Key  string
	Name string
	At   time.Duration
}

func (e ev) String() string { return e.Name }

func x(key, name string, at time.Duration) ev { return ev{Key: key, Name: name, At: at} }

func evTime(e ev) time.Time { return t0.Add(e.At) }

// act is one activation of a window operator's stateful step at system time t0+at: a
// batch of items, a notification (no items) or the end of the stream.
type act struct {
	at    time.Duration
	items []ev
	eof   bool
	want  []string // the events emitted, formatted by show
	next  string   // the step's next notification after it (offset from t0); "none"; "" to skip
	state string   // the snapshot taken after the activation, by showChanges; "" to skip
}

// shower formats the output of a window operator's stateful step.
type shower func(out any) []string

// show formats events as "key id = result", "key late id: item" and
// "key meta id [open,close] merged [ids]", times as offsets from t0.
func show[V, W any](out any) []string {
	if out == nil {
		return nil
	}
	var lines []string
	for _, kv := range out.([]weir.KV[event[V, W]]) {
		e := kv.Value
		if e.kind&downEvent != 0 {
			lines = append(lines, fmt.Sprintf("%s %d = %v", kv.Key, e.id, e.down))
		}
		if e.kind&lateEvent != 0 {
			lines = append(lines, fmt.Sprintf("%s late %d: %v", kv.Key, e.id, e.late))
		}
		if e.kind&metaEvent != 0 { // after the result it may share an event with
			line := fmt.Sprintf("%s meta %d [%s,%s]", kv.Key, e.id, fmtInstant(e.open), fmtInstant(e.close))
			if len(e.merged) > 0 {
				line += fmt.Sprintf(" merged %v", e.merged)
			}
			lines = append(lines, line)
		}
	}
	return lines
}

// showChanges formats a snapshot's changes as "key: open [ids] queued n" or "key: freed".
func showChanges(t *testing.T, changes []state.Change) string {
	t.Helper()
	var parts []string
	for _, c := range changes {
		if c.Deleted {
			parts = append(parts, c.Key+": freed")
			continue
		}
		var st snapshot[ev, any]
		if err := codec.Unmarshal(c.State, &st); err != nil {
			t.Fatalf("key %s: %v", c.Key, err)
		}
		var open []int64
		for _, w := range st.Windows.Windows {
			open = append(open, w.ID)
		}
		parts = append(parts, fmt.Sprintf("%s: open %v queued %d", c.Key, open, len(st.Queue)))
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, "; ")
}

// trace is a Window logic that reports every call: +item on a value, merge[...] with
// the items of a merged window, close[...] with all its items.
type trace struct{ seen []string }

func (l *trace) OnValue(v ev) []string {
	l.seen = append(l.seen, v.Name)
	return []string{"+" + v.Name}
}
func (l *trace) OnMerge(orig []string) []string {
	l.seen = append(l.seen, orig...)
	return []string{fmt.Sprintf("merge%v", orig)}
}
func (l *trace) OnClose() []string  { return []string{fmt.Sprintf("close%v", l.seen)} }
func (l *trace) Snapshot() []string { return slices.Clone(l.seen) }

func newTrace(resume []string, _ bool) Logic[ev, string, []string] { return &trace{seen: resume} }

func byKey(e ev) string { return e.Key }

func concat(a, b ev) ev { return ev{Key: a.Key, Name: a.Name + b.Name, At: max(a.At, b.At)} }

// scenario declares a window operator with id "win" on a flow's input, its clock reading
// the system time from now, and runs acts through its stateful step.
type scenario struct {
	name  string
	build func(in weir.Stream[ev], now func() time.Time) shower
	step  string // the stateful step; default f.win.stateful_batch
	acts  []act
}

func keyOn(in weir.Stream[ev]) weir.KeyedStream[ev] { return op.KeyOn("key", in, byKey) }

var scenarios = []scenario{
	{
		name: "ordered: held until the watermark passes them, then in timestamp order",
		build: func(in weir.Stream[ev], now func() time.Time) shower {
			Collect("win", keyOn(in), EventClock(evTime, 5*s).WithNow(now), Tumbling(10*s, t0))
			return show[ev, []ev]
		},
		acts: []act{
			{at: 0, items: []ev{x("a", "x", 10*s)}, next: "5.000000001s", state: "a: open [] queued 1"}, // watermark 5s
			{at: 0, items: []ev{x("a", "y", 8*s), x("a", "v", 6*s)}, next: "1.000000001s"},
			{at: 0, items: []ev{x("a", "z", 21*s)}, // watermark 16s: v, y, x are due
				want: []string{"a 0 = [v y]", "a meta 0 [0s,10s]"}, next: "4s", state: "a: open [1] queued 1"},
			{at: 4 * s, want: []string{"a 1 = [x]", "a meta 1 [10s,20s]"}, next: "5.000000001s", state: "a: open [] queued 1"},
			{at: 5*s + 1, next: "14s", state: "a: open [2] queued 0"},
			{at: 5*s + 1, eof: true, want: []string{"a 2 = [z]", "a meta 2 [20s,30s]"}, state: "a: freed"},
		},
	},
	{
		name: "event time: the system time moves nothing, items and the end of the stream do",
		build: func(in weir.Stream[ev], now func() time.Time) shower {
			Collect("win", keyOn(in), EventTime(evTime, 5*s).WithNow(now), Tumbling(10*s, t0))
			return show[ev, []ev]
		},
		acts: []act{
			{at: 0, items: []ev{x("a", "x", 10*s)}, next: "none", state: "a: open [] queued 1"}, // watermark 5s
			{at: time.Hour, next: "none", state: "-"},
			{at: time.Hour, items: []ev{x("a", "y", 8*s), x("a", "v", 6*s)}, next: "none"}, // still on time
			{at: 2 * time.Hour, items: []ev{x("a", "z", 21*s)}, // watermark 16s: v, y, x are due
				want: []string{"a 0 = [v y]", "a meta 0 [0s,10s]"}, next: "none", state: "a: open [1] queued 1"},
			{at: 3 * time.Hour, items: []ev{x("a", "w", 9*s)}, want: []string{"a late 0: w"}, next: "none"},
			{at: 3 * time.Hour, eof: true, want: []string{"a 1 = [x]", "a meta 1 [10s,20s]", "a 2 = [z]", "a meta 2 [20s,30s]"}, state: "a: freed"},
		},
	},
	{
		name: "event time with an idle timeout: a key idle for it closes windows with the system time",
		build: func(in weir.Stream[ev], now func() time.Time) shower {
			Collect("win", keyOn(in), EventTime(evTime, 5*s, IdleTimeout(time.Minute)).WithNow(now), Tumbling(10*s, t0), Ordered(false))
			return show[ev, []ev]
		},
		acts: []act{
			// Watermark 5s; window 1 closes at 20s, 15s after the timeout.
			{at: 0, items: []ev{x("a", "x", 10*s)}, next: "1m15s", state: "a: open [1] queued 0"},
			// Watermark 7s, the timeout restarted: window 1 closes 13s after it.
			{at: 30 * s, items: []ev{x("a", "y", 12*s)}, next: "1m43s"},
			{at: 90 * s, next: "1m43s", state: "-"},
			{at: 103 * s, want: []string{"a 1 = [x y]", "a meta 1 [10s,20s]"}, next: "none", state: "a: freed"},
			{at: 200 * s, items: []ev{x("a", "z", 25*s)}, next: "4m30s", state: "a: open [2] queued 0"},
			{at: 210 * s, eof: true, want: []string{"a 2 = [z]", "a meta 2 [20s,30s]"}, state: "a: freed"},
		},
	},
	{
		name: "unordered: applied as they arrive",
		build: func(in weir.Stream[ev], now func() time.Time) shower {
			Collect("win", keyOn(in), EventClock(evTime, 5*s).WithNow(now), Tumbling(10*s, t0), Ordered(false))
			return show[ev, []ev]
		},
		acts: []act{
			{at: 0, items: []ev{x("a", "x", 10*s)}, next: "15s", state: "a: open [1] queued 0"},
			{at: 0, items: []ev{x("a", "y", 8*s), x("a", "v", 6*s)}, next: "5s"},
			{at: 0, items: []ev{x("a", "z", 21*s)}, want: []string{"a 0 = [y v]", "a meta 0 [0s,10s]"}, next: "4s"},
			{at: 4 * s, want: []string{"a 1 = [x]", "a meta 1 [10s,20s]"}, next: "14s"},
			{at: 5 * s, eof: true, want: []string{"a 2 = [z]", "a meta 2 [20s,30s]"}, state: "a: freed"},
		},
	},
	{
		name: "count: late items get the ids of the sliding windows they missed",
		step: "f.win.sum.stateful_batch",
		build: func(in weir.Stream[ev], now func() time.Time) shower {
			Count("win", in, EventClock(evTime, 0).WithNow(now), Sliding(10*s, 5*s, t0), byKey)
			return show[ev, int]
		},
		acts: []act{
			{at: 0, items: []ev{x("a", "x", 12*s)}, next: "3s", state: "a: open [1 2] queued 0"},
			{at: 0, items: []ev{x("a", "y", 3*s)}, want: []string{"a late -1: y", "a late 0: y"}, next: "3s"},
			{at: 0, items: []ev{x("a", "z", 12*s), x("a", "w", 12*s-1)}, want: []string{"a late 1: w", "a late 2: w"}, next: "3s"}, // at the watermark is on time
			{at: 1 * s, items: []ev{x("a", "u", 12*s), x("b", "u", -1)}, want: []string{"a late 1: u", "a late 2: u"}, next: "1.000000001s"},
			{at: 1 * s, eof: true, want: []string{
				"a 1 = 2", "a meta 1 [5s,15s]", "a 2 = 2", "a meta 2 [10s,20s]",
				"b -2 = 1", "b meta -2 [-10s,0s]", "b -1 = 1", "b meta -1 [-5s,5s]",
			}, state: "a: freed; b: freed"},
		},
	},
	{
		name: "session: ids from 0 per key, close when close < watermark - gap, late id -1",
		step: "f.win.sum.stateful_batch",
		build: func(in weir.Stream[ev], now func() time.Time) shower {
			Count("win", in, EventClock(evTime, 0).WithNow(now), Session(5*s), byKey)
			return show[ev, int]
		},
		acts: []act{
			{at: 0, items: []ev{x("b", "q", 100*s), x("a", "p", 0)}, next: "5.000000001s", state: "a: open [0] queued 0; b: open [0] queued 0"},
			{at: 0, items: []ev{x("a", "r", 5*s)}, next: "5.000000001s"},                                                                                  // extends 0 to 5s
			{at: 0, items: []ev{x("a", "r", 10*s+1)}, want: []string{"a 0 = 2", "a meta 0 [0s,5s]"}, next: "5.000000001s", state: "a: open [1] queued 0"}, // 5s < 10s+1ns - 5s
			{at: 0, items: []ev{x("a", "s", 3*s)}, want: []string{"a late -1: s"}},
			{at: 0, items: []ev{x("a", "t", 15*s)}, next: "5.000000001s"}, // extends 1 to 15s: closes at 20s+1ns
			{at: 5 * s, next: "5.000000001s", state: "-"},
			{at: 5*s + 1, want: []string{"a 1 = 2", "a meta 1 [10.000000001s,15s]", "b 0 = 1", "b meta 0 [1m40s,1m40s]"}, state: "a: freed; b: freed"},
			{at: 6 * s, items: []ev{x("a", "n", 0)}, next: "11.000000001s", state: "a: open [0] queued 0"}, // a fresh start
			{at: 6 * s, eof: true, want: []string{"a 0 = 1", "a meta 0 [0s,0s]"}, state: "a: freed"},
		},
	},
	{
		name: "session: merges go into the earlier session, merged ids in the metadata",
		build: func(in weir.Stream[ev], now func() time.Time) shower {
			Collect("win", keyOn(in), EventClock(evTime, time.Hour).WithNow(now), Session(5*s), Ordered(false))
			return show[ev, []ev]
		},
		acts: []act{
			{at: 0, items: []ev{x("a", "q", 10*s), x("a", "p", 0)}, state: "a: open [1 0] queued 0"},
			{at: 0, items: []ev{x("a", "r", 5*s)}, state: "a: open [1] queued 0"},
			{at: 0, items: []ev{x("a", "u", 30*s), x("a", "w", 20*s), x("a", "v", 25*s)}, state: "a: open [1 3] queued 0"},
			{at: 0, items: []ev{x("a", "b", 15*s)}, state: "a: open [1] queued 0"},
			{at: 0, eof: true, want: []string{"a 1 = [p r q b w v u]", "a meta 1 [0s,30s] merged [0 3 2]"}, state: "a: freed"},
		},
	},
	{
		name: "each item, then the merges it causes; closes at the end (value, then metadata)",
		build: func(in weir.Stream[ev], now func() time.Time) shower {
			Window("win", keyOn(in), EventClock(evTime, 10*s).WithNow(now), Session(5*s), newTrace, Ordered(false))
			return show[ev, string]
		},
		acts: []act{
			{at: 0, items: []ev{x("a", "p", 0), x("a", "q", 10*s)}, want: []string{"a 0 = +p", "a 1 = +q"}},
			{at: 0, items: []ev{x("a", "r", 5*s), x("a", "z", 40*s)}, want: []string{
				"a 0 = +r", "a 0 = merge[q]", "a 2 = +z", "a 0 = close[p r q]", "a meta 0 [0s,10s] merged [1]",
			}, state: "a: open [2] queued 0"},
			{at: 0, eof: true, want: []string{"a 2 = close[z]", "a meta 2 [40s,40s]"}},
		},
	},
	{
		// One batch gives what one item at a time does: [p r q s], not [p r s q].
		name: "session merges do not depend on batching",
		build: func(in weir.Stream[ev], now func() time.Time) shower {
			Collect("win", keyOn(in), EventClock(evTime, time.Hour).WithNow(now), Session(5*s), Ordered(false))
			return show[ev, []ev]
		},
		acts: []act{
			{at: 0, items: []ev{x("a", "p", 0), x("a", "q", 10*s), x("a", "r", 5*s), x("a", "s", 7*s)}},
			{at: 0, eof: true, want: []string{"a 0 = [p r q s]", "a meta 0 [0s,10s] merged [1]"}},
		},
	},
	{
		name: "ordered window: values in timestamp order",
		build: func(in weir.Stream[ev], now func() time.Time) shower {
			Window("win", keyOn(in), EventClock(evTime, 10*s).WithNow(now), Session(5*s), newTrace)
			return show[ev, string]
		},
		acts: []act{
			{at: 0, items: []ev{x("a", "p", 0), x("a", "q", 10*s), x("a", "r", 5*s)}, next: "1ns", state: "a: open [] queued 3"},
			{at: 0, items: []ev{x("a", "z", 40*s)}, want: []string{"a 0 = +p", "a 0 = +r", "a 0 = +q", "a 0 = close[p r q]", "a meta 0 [0s,10s]"}},
			{at: 0, eof: true, want: []string{"a 1 = +z", "a 1 = close[z]", "a meta 1 [40s,40s]"}},
		},
	},
	{
		name: "windows closing together come out in the order they opened",
		step: "f.win.sum.stateful_batch",
		build: func(in weir.Stream[ev], now func() time.Time) shower {
			Count("win", in, EventClock(evTime, time.Hour).WithNow(now), Sliding(10*s, 5*s, t0), byKey)
			return show[ev, int]
		},
		acts: []act{
			{at: 0, items: []ev{x("d", "x", 12*s), x("d", "y", s)}, state: "d: open [-1 0 1 2] queued 0"},
			{at: 0, items: []ev{x("d", "z", 3*time.Hour)}, want: []string{
				"d -1 = 1", "d meta -1 [-5s,5s]", "d 0 = 1", "d meta 0 [0s,10s]",
				"d 1 = 1", "d meta 1 [5s,15s]", "d 2 = 1", "d meta 2 [10s,20s]",
			}},
			{at: 0, eof: true, want: []string{"d 2159 = 1", "d meta 2159 [2h59m55s,3h0m5s]", "d 2160 = 1", "d meta 2160 [3h0m0s,3h0m10s]"}},
		},
	},
	{
		name: "end of stream closes every window, keys in order",
		build: func(in weir.Stream[ev], now func() time.Time) shower {
			Collect("win", keyOn(in), EventClock(evTime, time.Hour).WithNow(now), Sliding(10*s, 5*s, t0))
			return show[ev, []ev]
		},
		acts: []act{
			{at: 0, items: []ev{x("b", "x", 12*s), x("c", "w", 3*s), x("a", "y", 1*s), x("b", "v", 7*s)}},
			{at: 0, eof: true, want: []string{
				"a -1 = [y]", "a meta -1 [-5s,5s]", "a 0 = [y]", "a meta 0 [0s,10s]",
				"b 0 = [v]", "b meta 0 [0s,10s]", "b 1 = [v x]", "b meta 1 [5s,15s]", "b 2 = [x]", "b meta 2 [10s,20s]",
				"c -1 = [w]", "c meta -1 [-5s,5s]", "c 0 = [w]", "c meta 0 [0s,10s]",
			}, state: "a: freed; b: freed; c: freed"},
		},
	},
	{
		name: "reduce applies in arrival order",
		build: func(in weir.Stream[ev], now func() time.Time) shower {
			Reduce("win", keyOn(in), EventClock(evTime, time.Hour).WithNow(now), Tumbling(10*s, t0), concat)
			return show[ev, ev]
		},
		acts: []act{
			{at: 0, items: []ev{x("a", "x", 5*s), x("a", "y", 3*s)}, state: "a: open [0] queued 0"},
			{at: 0, items: []ev{x("a", "z", 4*s)}},
			{at: 0, eof: true, want: []string{"a 0 = xyz", "a meta 0 [0s,10s]"}},
		},
	},
	{
		name: "reduce ordered applies in timestamp order",
		build: func(in weir.Stream[ev], now func() time.Time) shower {
			Reduce("win", keyOn(in), EventClock(evTime, time.Hour).WithNow(now), Tumbling(10*s, t0), concat, Ordered(true))
			return show[ev, ev]
		},
		acts: []act{
			{at: 0, items: []ev{x("a", "x", 5*s), x("a", "y", 3*s)}, next: "59m58.000000001s", state: "a: open [] queued 2"},
			{at: 0, items: []ev{x("a", "z", 4*s)}},
			{at: 0, eof: true, want: []string{"a 0 = yzx", "a meta 0 [0s,10s]"}},
		},
	},
	{
		name: "max keeps the first of equals in arrival order",
		build: func(in weir.Stream[ev], now func() time.Time) shower {
			Max("win", keyOn(in), EventClock(evTime, time.Hour).WithNow(now), Tumbling(10*s, t0), func(e ev) time.Duration { return e.At })
			return show[ev, ev]
		},
		acts: []act{
			{at: 0, items: []ev{x("a", "x", 5*s), x("a", "y", 7*s), x("a", "z", 7*s), x("a", "w", 2*s)}},
			{at: 0, eof: true, want: []string{"a 0 = y", "a meta 0 [0s,10s]"}},
		},
	},
	{
		name: "min keeps the first of equals in arrival order",
		build: func(in weir.Stream[ev], now func() time.Time) shower {
			Min("win", keyOn(in), EventClock(evTime, time.Hour).WithNow(now), Tumbling(10*s, t0), func(e ev) time.Duration { return e.At })
			return show[ev, ev]
		},
		acts: []act{
			{at: 0, items: []ev{x("a", "x", 5*s), x("a", "y", 2*s), x("a", "z", 2*s), x("a", "w", 7*s)}},
			{at: 0, eof: true, want: []string{"a 0 = y", "a meta 0 [0s,10s]"}},
		},
	},
	{
		name: "fold",
		build: func(in weir.Stream[ev], now func() time.Time) shower {
			Fold("win", keyOn(in), EventClock(evTime, 0).WithNow(now), Tumbling(10*s, t0),
				func() string { return "^" }, func(acc string, e ev) string { return acc + e.Name }, func(a, b string) string { return a + b })
			return show[ev, string]
		},
		acts: []act{
			{at: 0, items: []ev{x("a", "x", 1*s), x("a", "y", 2*s)}, next: "1ns"}, // y waits for the watermark to pass it
			{at: 0, items: []ev{x("a", "z", 11*s)}, want: []string{"a 0 = ^xy", "a meta 0 [0s,10s]"}},
			{at: 0, eof: true, want: []string{"a 1 = ^z", "a meta 1 [10s,20s]"}},
		},
	},
	{
		name: "system clock: windows close by system time",
		build: func(in weir.Stream[ev], now func() time.Time) shower {
			Collect("win", keyOn(in), SystemClock[ev]().WithNow(now), Tumbling(10*s, t0))
			return show[ev, []ev]
		},
		acts: []act{
			{at: 3 * s, items: []ev{x("a", "x", time.Hour), x("b", "y", -time.Hour)}, next: "10s"},
			{at: 9 * s, items: []ev{x("a", "z", 0)}, next: "10s"},
			{at: 10 * s, want: []string{"a 0 = [x z]", "a meta 0 [0s,10s]", "b 0 = [y]", "b meta 0 [0s,10s]"}, state: "a: freed; b: freed"},
			{at: 12 * s, items: []ev{x("a", "w", 0)}, next: "20s"},
			{at: 11 * s, items: []ev{x("a", "v", 0)}, next: "20s"}, // system time went back: still 12s
			{at: 11 * s, eof: true, want: []string{"a 1 = [w v]", "a meta 1 [10s,20s]"}},
		},
	},
}

// driver runs a scenario's stateful step by hand, snapshotting after every activation
// into store as an epoch close would.
type driver struct {
	t     *testing.T
	spec  *graph.StatefulSpec
	rt    graph.StatefulRuntime
	show  shower
	now   time.Time
	store map[string][]byte
}

func newDriver(t *testing.T, sc scenario) *driver {
	t.Helper()
	d := &driver{t: t, store: map[string][]byte{}, now: t0}
	flow := weir.NewDataflow("f")
	d.show = sc.build(op.Input("in", flow, weirtest.NewSource[ev]()), func() time.Time { return d.now })
	if err := flow.Err(); err != nil {
		t.Fatal(err)
	}
	step := sc.step
	if step == "" {
		step = "f.win.stateful_batch"
	}
	for _, n := range graph.FlowOf(flow).Nodes() {
		if n.ID == step {
			d.spec = n.Spec.(*graph.StatefulSpec)
		}
	}
	if d.spec == nil {
		t.Fatalf("no step %s", step)
	}
	d.rt = d.spec.New()
	d.rt.Track()
	return d
}

// run runs one activation and returns its output, the next notification and the
// snapshot taken after it.
func (d *driver) run(a act) (out []string, next, state string) {
	d.t.Helper()
	d.now = t0.Add(a.at)
	var batch any
	if a.items != nil {
		kvs := make([]weir.KV[ev], len(a.items))
		for i, e := range a.items {
			kvs[i] = weir.KV[ev]{Key: e.Key, Value: e}
		}
		batch = kvs
	}
	o, err := d.rt.Activate(batch, d.now, a.eof)
	if err != nil {
		d.t.Fatal(err)
	}
	next = "none"
	if at, ok := d.rt.NextNotify(); ok {
		next = at.Sub(t0).String()
	}
	changes, _, err := d.rt.Snapshot()
	if err != nil {
		d.t.Fatal(err)
	}
	for _, c := range changes {
		if c.Deleted {
			delete(d.store, c.Key)
		} else {
			d.store[c.Key] = c.State
		}
	}
	return d.show(o), next, showChanges(d.t, changes)
}

// resume replaces the runtime with a fresh one restored from the snapshots, as a resumed
// run would: no key is given any item.
func (d *driver) resume() {
	d.t.Helper()
	d.rt = d.spec.New()
	d.rt.Track()
	for k, b := range d.store {
		if err := d.rt.Resume(k, b); err != nil {
			d.t.Fatal(err)
		}
	}
}

func TestWindowActivations(t *testing.T) {
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			d := newDriver(t, sc)
			for i, a := range sc.acts {
				out, next, state := d.run(a)
				if !slices.Equal(out, a.want) {
					t.Errorf("activation %d: emitted\n\t%s\nwant\n\t%s", i, strings.Join(out, "\n\t"), strings.Join(a.want, "\n\t"))
				}
				if a.next != "" && next != a.next {
					t.Errorf("activation %d: next notification at %q, want %q", i, next, a.next)
				}
				if a.eof && next != "none" {
					t.Errorf("activation %d: notification at %s after the end of the stream", i, next)
				}
				if a.state != "" && state != a.state {
					t.Errorf("activation %d: snapshot %q, want %q", i, state, a.state)
				}
			}
			if len(d.store) != 0 {
				t.Errorf("keys left in the store at the end: %d", len(d.store))
			}
		})
	}
}

// A run restored from its snapshots after any activation emits what an uninterrupted one
// does, and its pending closes fire at the same times without the keys getting an item
// (Bytewax's issue #138: a window did not close after a resume until its key came back).
func TestWindowResume(t *testing.T) {
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			for cut := range sc.acts {
				d := newDriver(t, sc)
				for i, a := range sc.acts {
					out, next, _ := d.run(a)
					if !slices.Equal(out, a.want) {
						t.Fatalf("resumed after activation %d: activation %d emitted %q, want %q", cut, i, out, a.want)
					}
					if i == cut {
						d.resume()
						if got, ok := d.rt.NextNotify(); (ok && got.Sub(t0).String() != next) || (!ok && next != "none") {
							t.Fatalf("resumed after activation %d: next notification %v (%v), want %q", cut, got.Sub(t0), ok, next)
						}
					}
				}
			}
		})
	}
}

// lines merges an operator's three streams into lines formatted as show does, times as
// offsets from origin.
func lines[V, W any](o Out[V, W], origin time.Time) weir.Stream[string] {
	down := op.Map("show_down", o.Down, func(kv weir.KV[Windowed[W]]) string {
		return fmt.Sprintf("%s %d = %v", kv.Key, kv.Value.Window, kv.Value.Value)
	})
	late := op.Map("show_late", o.Late, func(kv weir.KV[Windowed[V]]) string {
		return fmt.Sprintf("%s late %d: %v", kv.Key, kv.Value.Window, kv.Value.Value)
	})
	meta := op.Map("show_meta", o.Meta, func(kv weir.KV[Windowed[Meta]]) string {
		m := kv.Value.Value
		line := fmt.Sprintf("%s meta %d [%v,%v]", kv.Key, kv.Value.Window, m.Open.Sub(origin), m.Close.Sub(origin))
		if len(m.Merged) > 0 {
			line += fmt.Sprintf(" merged %v", m.Merged)
		}
		return line
	})
	return op.Merge("show", down, late, meta)
}

// With the system clock, windows close when system time passes their close, with no
// item and no end of stream: the Abort at the end stops the run with nothing flushed.
func TestSystemClockFlow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		src := weirtest.NewSource(x("a", "x", 0), x("b", "y", 0)).Pause(15 * s).
			Then(x("a", "z", 0)).Pause(3 * s).
			Then(x("a", "w", 0)).Pause(time.Hour).
			Abort()
		flow := weir.NewDataflow("f")
		out := Collect("win", keyOn(op.Input("in", flow, src)), SystemClock[ev](), Tumbling(10*s, start.Add(-5*s)))
		var got []string
		op.InspectWith("rec", lines(out, start), func(_ string, line string) {
			got = append(got, fmt.Sprintf("%v: %s", time.Since(start), line))
		})
		weirtest.Run(t, flow, 1)
		slices.Sort(got) // the three streams are merged in no particular order
		want := []string{
			"25s: a 2 = [z w]", "25s: a meta 2 [15s,25s]",
			"5s: a 0 = [x]", "5s: a meta 0 [-5s,5s]", "5s: b 0 = [y]", "5s: b meta 0 [-5s,5s]",
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
}

// The engine's snapshots show each key's window state, and a deletion once a key has no
// open window and nothing queued, sessions included, before the end of the stream.
func TestStateFreedInSnapshots(t *testing.T) {
	tests := []struct {
		name  string
		build func(up weir.KeyedStream[ev], start time.Time)
		want  []string
	}{
		{"tumbling", func(up weir.KeyedStream[ev], start time.Time) {
			op.Output("out", Count("win", op.KeyRm("unkey", up), SystemClock[ev](), Tumbling(10*s, start.Add(-5*s)), byKey).Down, weirtest.NewSink[weir.KV[Windowed[int]]]())
		}, []string{
			"e1 f.win.sum.stateful_batch a: freed", "e1 f.win.sum.stateful_batch b: open [1] queued 0",
			"e2 f.win.sum.stateful_batch b: freed",
		}},
		{"session", func(up weir.KeyedStream[ev], start time.Time) {
			op.Output("out", Collect("win", up, SystemClock[ev](), Session(4*s)).Down, weirtest.NewSink[weir.KV[Windowed[[]ev]]]())
		}, []string{
			"e1 f.win.stateful_batch a: freed", "e1 f.win.stateful_batch b: open [0] queued 0",
			"e2 f.win.stateful_batch b: freed",
		}},
		{"event clock, ordered", func(up weir.KeyedStream[ev], start time.Time) {
			ts := func(e ev) time.Time { return start.Add(e.At) }
			op.Output("out", Collect("win", up, EventClock(ts, time.Second), Tumbling(10*s, start.Add(-5*s))).Down, weirtest.NewSink[weir.KV[Windowed[[]ev]]]())
		}, []string{
			"e1 f.win.stateful_batch a: freed", "e1 f.win.stateful_batch b: open [1] queued 0",
			"e2 f.win.stateful_batch b: freed",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				start := time.Now()
				// a's window closes at 5s, while b gets a second item at 8s; b's windows
				// close at 15s; the epochs close at 10s, 20s and the end at 30s.
				src := weirtest.NewSource(x("a", "x", 0), x("b", "y", 0)).Pause(8 * s).
					Then(x("b", "z", 8*s)).Pause(22 * s)
				flow := weir.NewDataflow("f")
				tt.build(keyOn(op.Input("in", flow, src)), start)
				p, err := plan.New(graph.FlowOf(flow))
				if err != nil {
					t.Fatal(err)
				}
				store := state.NewMemory()
				if err := engine.Run(context.Background(), p, engine.Config{Workers: 1, EpochInterval: 10 * s, Store: store}); err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, w := range store.Writes() {
					for _, snap := range w.Snaps {
						if !strings.HasSuffix(snap.Step, "stateful_batch") {
							continue
						}
						for _, c := range snap.Changes {
							got = append(got, fmt.Sprintf("e%d %s %s", w.Epoch, snap.Step, showChanges(t, []state.Change{c})))
						}
					}
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("snapshots (-want +got):\n%s", diff)
				}
			})
		})
	}
}

// Every operator gives the same output, as a multiset, on 1, 2 and 4 workers and with
// batches of 1 or 64 items.
func TestWorkersSameMultiset(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var items []ev
	for i := range 3000 {
		// Event times drift forward with a jitter of up to a minute against a wait of
		// 30s: some items are late.
		at := time.Duration(i)*time.Second + time.Duration(rng.IntN(60))*time.Second
		items = append(items, x(fmt.Sprintf("k%02d", rng.IntN(40)), fmt.Sprint(i), at))
	}
	clock := EventClock(evTime, 30*s)
	ops := []struct {
		name  string
		build func(in weir.Stream[ev]) weir.Stream[string]
	}{
		{"collect", func(in weir.Stream[ev]) weir.Stream[string] {
			return lines(Collect("win", keyOn(in), clock, Tumbling(time.Minute, t0)), t0)
		}},
		{"fold", func(in weir.Stream[ev]) weir.Stream[string] {
			return lines(Fold("win", keyOn(in), clock, Sliding(time.Minute, 20*s, t0),
				func() int { return 0 }, func(n int, e ev) int { return n + len(e.Name) }, func(a, b int) int { return a + b }), t0)
		}},
		{"reduce", func(in weir.Stream[ev]) weir.Stream[string] {
			return lines(Reduce("win", keyOn(in), clock, Session(20*s), concat), t0)
		}},
		{"count", func(in weir.Stream[ev]) weir.Stream[string] {
			return lines(Count("win", in, clock, Tumbling(time.Minute, t0.Add(17*s)), byKey), t0)
		}},
		{"max", func(in weir.Stream[ev]) weir.Stream[string] {
			return lines(Max("win", keyOn(in), clock, Sliding(time.Minute, 30*s, t0), func(e ev) string { return e.Name }), t0)
		}},
		{"min", func(in weir.Stream[ev]) weir.Stream[string] {
			return lines(Min("win", keyOn(in), clock, Session(10*s), func(e ev) string { return e.Name }), t0)
		}},
		{"window", func(in weir.Stream[ev]) weir.Stream[string] {
			return lines(Window("win", keyOn(in), clock, Session(15*s), newTrace, Ordered(false)), t0)
		}},
		{"window_ordered", func(in weir.Stream[ev]) weir.Stream[string] {
			return lines(Window("win", keyOn(in), clock, Session(15*s), newTrace), t0)
		}},
	}
	runOnce := func(t *testing.T, build func(weir.Stream[ev]) weir.Stream[string], workers, batch int) (got []string) {
		synctest.Test(t, func(t *testing.T) {
			flow := weir.NewDataflow("f")
			sink := weirtest.NewSink[string]()
			op.Output("out", build(op.Input("in", flow, weirtest.NewSource(items...).BatchSize(batch))), sink)
			weirtest.Run(t, flow, workers)
			got = sink.Items()
		})
		slices.Sort(got)
		return got
	}
	for _, o := range ops {
		t.Run(o.name, func(t *testing.T) {
			want := runOnce(t, o.build, 1, 1)
			var late, meta int
			for _, l := range want {
				late += strings.Count(l, " late ")
				meta += strings.Count(l, " meta ")
			}
			if late == 0 || meta == 0 {
				t.Fatalf("%d lines, %d late, %d meta: the input should have both", len(want), late, meta)
			}
			for _, workers := range []int{1, 2, 4} {
				for _, batch := range []int{1, 64} {
					if workers == 1 && batch == 1 {
						continue
					}
					t.Run(fmt.Sprintf("w%d/b%d", workers, batch), func(t *testing.T) {
						if diff := cmp.Diff(want, runOnce(t, o.build, workers, batch)); diff != "" {
							t.Errorf("(-1 worker, batches of 1 +this):\n%s", diff)
						}
					})
				}
			}
		})
	}
}

// End of stream closes every window, keys in sorted order, through a whole run.
func TestEndOfStreamKeyOrder(t *testing.T) {
	src := weirtest.NewSource(x("c", "p", 0), x("a", "q", 0), x("b", "r", 0), x("a", "s", 25*s), x("b", "t", 3*s))
	flow := weir.NewDataflow("f")
	out := Collect("win", keyOn(op.Input("in", flow, src)), EventClock(evTime, time.Hour), Tumbling(10*s, t0))
	sink := weirtest.NewSink[weir.KV[Windowed[[]ev]]]()
	op.Output("out", out.Down, sink)
	weirtest.Run(t, flow, 1)
	want := "[(a, (0, [q])) (a, (2, [s])) (b, (0, [r t])) (c, (0, [p]))]"
	if got := fmt.Sprint(sink.Items()); got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if err := run.Run(context.Background(), flow, run.Workers(2)); err != nil {
		t.Fatal(err)
	}
}
