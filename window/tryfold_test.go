package window

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/internal/keyed"
	"github.com/weirflow/weir/internal/state"
)

// A key of a tumbling count takes an item in its newest window that closes nothing at
// once (keyed.TryFolding), without the runtime's grouping and ordering: on the bench
// path's input, five items of six, all but the one that opens the key's next window and
// closes the last. Refused items give the same results through OnBatch, which does not
// call the timestamp function again.
func TestCountTakesItemsAtOnce(t *testing.T) {
	const keys = 100
	c := newCountKeys(keys)
	calls := 0
	ts := c.build(snapshot[perfEv, foldState[int]]{}, false).clock.ts
	k := newKind(EventClock(func(e perfEv) time.Time { calls++; return ts(e) }, 0), Tumbling(time.Minute, c.base), nil,
		newFolds(func() (int, bool) { return 0, true }, nil, func(n int, _ perfEv) int { return n + 1 }, func(a, b int) int { return a + b }), false)
	perWorker := k.perWorker()
	logics := make([]*tryLogic[perfEv, int, foldState[int]], keys)
	taken, sum := 0, 0
	const events = 60 * keys // ten windows a key
	for i := range events {
		l := logics[i%keys]
		if l == nil {
			l = perWorker(snapshot[perfEv, foldState[int]]{}, false).(*tryLogic[perfEv, int, foldState[int]])
			logics[i%keys] = l
		}
		v := perfEv{Key: c.names[i%keys], At: c.base.Add(time.Duration(i) * (10 * time.Second / keys))}
		l.SetNow(c.now)
		if l.TryFold(v) {
			taken++
			continue
		}
		out, _ := l.OnBatch([]perfEv{v})
		for _, e := range out {
			if e.kind&downEvent != 0 {
				sum += e.down
			}
		}
	}
	if want := events * 5 / 6; taken != want {
		t.Errorf("%d of %d items taken at once, want %d", taken, events, want)
	}
	if calls != events {
		t.Errorf("timestamp function called %d times for %d items", calls, events)
	}
	if want := 54 * keys; sum != want { // nine windows a key closed, of six items each
		t.Errorf("closed windows counted %d items, want %d", sum, want)
	}
}

// The runtime gives a count's items to TryFold first; what comes out, the snapshots and
// the notifications are the same as when every item goes through OnBatch, with late
// items, keys that close windows by their timers, idle timeouts, batches of any size and
// the end of the stream.
func TestTryFoldSameAsOnBatch(t *testing.T) {
	at := func(v int) time.Time { return time.Unix(int64(v), 0) }
	clocks := map[string]Clock[weir.KV[int]]{
		"event clock":       EventClock(func(e weir.KV[int]) time.Time { return at(e.Value) }, 0),
		"event clock wait":  EventClock(func(e weir.KV[int]) time.Time { return at(e.Value) }, 3*time.Second),
		"event time":        EventTime(func(e weir.KV[int]) time.Time { return at(e.Value) }, 2*time.Second),
		"event time idle":   EventTime(func(e weir.KV[int]) time.Time { return at(e.Value) }, 0, IdleTimeout(4*time.Second)),
		"system clock":      SystemClock[weir.KV[int]](),
		"event clock ahead": EventClock(func(e weir.KV[int]) time.Time { return at(e.Value + 1000) }, time.Second),
	}
	for name, clock := range clocks {
		for seed := range uint64(30) {
			runs := [2]string{}
			for i, fast := range []bool{false, true} {
				runs[i] = runCount(t, clock, fast, seed)
			}
			if runs[0] != runs[1] {
				t.Fatalf("%s, seed %d: through OnBatch:\n%s\ntaken at once:\n%s", name, seed, runs[0], runs[1])
			}
		}
	}
}

// runCount runs a tumbling count of 10 s windows over random input and returns what came
// out of every activation, the snapshots and the notifications, as text.
func runCount(t *testing.T, clock Clock[weir.KV[int]], fast bool, seed uint64) string {
	t.Helper()
	k := newKind(clock, Tumbling(10*time.Second, time.Unix(0, 0)), nil,
		newFolds(func() (int, bool) { return 0, true }, nil, func(n int, _ weir.KV[int]) int { return n + 1 }, func(a, b int) int { return a + b }), false)
	if !k.tryFold {
		t.Fatal("a tumbling count does not try to take items at once")
	}
	k.tryFold = fast // its keys' logics are not TryFolding
	rt := keyed.New[weir.KV[int], event[weir.KV[int], int], snapshot[weir.KV[int], foldState[int]]](k.perWorker())
	rt.Track()
	r := rand.New(rand.NewPCG(seed, 7))
	var b strings.Builder
	now := time.Unix(0, 0)
	last := map[string]int{}
	for act := range 60 {
		now = now.Add(time.Duration(r.IntN(3000)) * time.Millisecond)
		var items []weir.KV[weir.KV[int]]
		if r.IntN(6) > 0 {
			for range r.IntN(12) {
				key := fmt.Sprint("k", r.IntN(5))
				v := last[key] + r.IntN(8) - 1
				if r.IntN(10) == 0 {
					v -= r.IntN(30) // late, or an earlier window
				}
				last[key] = max(last[key], v)
				items = append(items, weir.KV[weir.KV[int]]{Key: key, Value: weir.KV[int]{Key: key, Value: v}})
			}
		}
		var batch any
		if items != nil {
			batch = items
		}
		out, err := rt.Activate(batch, now, act == 59)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%d:", act)
		if out != nil {
			for _, e := range out.([]weir.KV[event[weir.KV[int], int]]) {
				v := e.Value
				late := ""
				if v.late != nil {
					late = fmt.Sprint(*v.late)
				}
				fmt.Fprintf(&b, " %s(%d %d %d %s %d %d %v)", e.Key, v.kind, v.id, v.down, late, v.open, v.close, v.merged)
			}
		}
		next, ok := rt.NextNotify()
		fmt.Fprintf(&b, " next %v %v", next.UnixNano(), ok)
		if act%7 == 0 || act == 59 {
			changes, _, err := rt.Snapshot()
			if err != nil {
				t.Fatal(err)
			}
			slices.SortFunc(changes, func(a, b0 state.Change) int { return strings.Compare(a.Key, b0.Key) })
			for _, c := range changes {
				fmt.Fprintf(&b, " snap %s %v %x", c.Key, c.Deleted, c.State)
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

// Only the logics of folds of tumbling windows applying items as they come, on a clock
// that WithNow did not replace, are offered items at once: the others would refuse
// every one, at the cost of a call.
func TestWhichLogicsTryFold(t *testing.T) {
	ts := func(v int) time.Time { return time.Unix(int64(v), 0) }
	count := newFolds(func() (int, bool) { return 0, true }, nil, func(n, _ int) int { return n + 1 }, func(a, b int) int { return a + b })
	tumbling, clock := Tumbling(time.Minute, time.Unix(0, 0)), EventClock(ts, 0)
	for _, tc := range []struct {
		name    string
		k       *kind[int, int, foldState[int]]
		offered bool
	}{
		{"tumbling count", newKind(clock, tumbling, nil, count, false), true},
		{"system clock", newKind(SystemClock[int](), tumbling, nil, count, true), true},
		{"ordered", newKind(clock, tumbling, nil, count, true), false},
		{"sliding", newKind(clock, Sliding(time.Minute, 30*time.Second, time.Unix(0, 0)), nil, count, false), false},
		{"session", newKind(clock, Session(time.Minute), nil, count, false), false},
		{"WithNow", newKind(clock.WithNow(time.Now), tumbling, nil, count, false), false},
		{"not a fold", newKind(clock, tumbling, func(foldState[int], bool) Logic[int, int, foldState[int]] { return nil }, nil, false), false},
	} {
		_, offered := tc.k.perWorker()(snapshot[int, foldState[int]]{}, false).(keyed.TryFolding[int])
		if offered != tc.offered {
			t.Errorf("%s: logic is TryFolding: %v, want %v", tc.name, offered, tc.offered)
		}
	}
}
