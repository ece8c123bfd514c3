package window

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/weirtest"
)

// replayItems are the input of the determinism tests: six keys whose event times drift
// forward with a jitter of up to 40s against a wait of 15s, so that some items are late,
// sessions merge, and windows of a key often close together.
func replayItems() []ev {
	rng := rand.New(rand.NewPCG(3, 4))
	var items []ev
	for i := range 600 {
		at := time.Duration(i)*time.Second + time.Duration(rng.IntN(40))*time.Second
		items = append(items, x(fmt.Sprintf("k%d", rng.IntN(6)), fmt.Sprint(i), at))
	}
	return items
}

// replayOps are window operators of every kind over one clock.
func replayOps(clock Clock[ev]) []struct {
	name  string
	build func(in weir.Stream[ev]) weir.Stream[string]
} {
	return []struct {
		name  string
		build func(in weir.Stream[ev]) weir.Stream[string]
	}{
		{"collect tumbling", func(in weir.Stream[ev]) weir.Stream[string] {
			return lines(Collect("win", keyOn(in), clock, Tumbling(30*s, t0)), t0)
		}},
		{"fold sliding", func(in weir.Stream[ev]) weir.Stream[string] {
			return lines(Fold("win", keyOn(in), clock, Sliding(time.Minute, 20*s, t0),
				func() string { return "" }, func(acc string, e ev) string { return acc + "," + e.Name },
				func(a, b string) string { return a + "|" + b }), t0)
		}},
		{"reduce session", func(in weir.Stream[ev]) weir.Stream[string] {
			return lines(Reduce("win", keyOn(in), clock, Session(8*s), concat), t0)
		}},
		{"window session ordered", func(in weir.Stream[ev]) weir.Stream[string] {
			return lines(Window("win", keyOn(in), clock, Session(8*s), newTrace), t0)
		}},
	}
}

// perKey groups output lines by key and stream, and Down lines also by window, keeping
// their order within each group: the order of a window's results, of a key's late items
// and of its closed windows is part of the result. Keys, the three streams, and the
// results that a Window logic emits on each value in one window and on closing in
// another, interleave as the batches fall, as items are applied before windows close.
func perKey(lines []string) map[string][]string {
	groups := map[string][]string{}
	for _, l := range lines {
		key, rest, _ := strings.Cut(l, " ")
		group := key + " late"
		switch {
		case strings.HasPrefix(rest, "meta "):
			group = key + " meta"
		case !strings.HasPrefix(rest, "late "):
			id, _, _ := strings.Cut(rest, " ")
			group = key + " down " + id
		}
		groups[group] = append(groups[group], l)
	}
	return groups
}

// replay is one way of running the input through a flow.
type replay struct {
	name    string
	workers int
	batch   int           // the source's batch size
	pause   time.Duration // a pause of the source after every 50 items
	abort   bool          // an abort, and a resume from the snapshots, after item 300
}

// script returns the source of a replay: items with its markers between them.
func (r replay) script(items []ev) *weirtest.Source[ev] {
	src := weirtest.NewSource[ev]()
	for i := 0; i < len(items); i += 50 {
		if i > 0 && r.pause > 0 {
			src.Pause(r.pause)
		}
		if i == 300 && r.abort {
			// Every worker idle, with everything committed, when the abort comes.
			src.Pause(time.Second).Abort()
		}
		src.Then(items[i:min(i+50, len(items))]...)
	}
	return src.BatchSize(max(r.batch, 1))
}

// run runs the replay inside a synctest bubble and returns the output lines, grouped by
// perKey.
func (r replay) run(t *testing.T, items []ev, build func(weir.Stream[ev]) weir.Stream[string]) (got map[string][]string) {
	t.Helper()
	synctest.Test(t, func(t *testing.T) {
		flow := weir.NewDataflow("f")
		sink := weirtest.NewSink[string]()
		op.Output("out", build(op.Input("in", flow, r.script(items))), sink)
		workers := max(r.workers, 1)
		if r.abort {
			rec := weirtest.NewRecovery(t, 3)
			rec.Run(t, flow, workers) // up to the abort
			n := len(sink.Items())
			rec.Run(t, flow, workers) // the rest, from the snapshots
			if n == 0 || n == len(sink.Items()) {
				t.Fatalf("%d lines before the abort, %d in all: the abort should split them", n, len(sink.Items()))
			}
		} else {
			weirtest.Run(t, flow, workers)
		}
		got = perKey(sink.Items())
	})
	return got
}

// With EventTime, the same input gives the same Down, Late and Meta streams, key by key
// and in the same order, at any speed, on any number of workers, with any batch size and
// across an abort and a resume.
func TestEventTimeDeterministic(t *testing.T) {
	items := replayItems()
	replays := []replay{
		{name: "paused 10s every 50 items", pause: 10 * s},
		{name: "paused an hour every 50 items", pause: time.Hour},
		{name: "2 workers", workers: 2},
		{name: "3 workers, paused", workers: 3, pause: time.Minute},
		{name: "batches of 2", batch: 2},
		{name: "batches of 7, paused", batch: 7, pause: 20 * s},
		{name: "batches of 1000", batch: 1000},
		{name: "abort and resume", abort: true},
		{name: "abort and resume, 2 workers, batches of 7, paused", abort: true, workers: 2, batch: 7, pause: time.Minute},
	}
	if testing.Short() {
		replays = slices.DeleteFunc(replays, func(r replay) bool { return r.workers > 1 && r.abort })
	}
	for _, o := range replayOps(EventTime(evTime, 15*s)) {
		t.Run(o.name, func(t *testing.T) {
			want := replay{}.run(t, items, o.build)
			var late, meta int
			for k, ls := range want {
				if strings.HasSuffix(k, " late") {
					late += len(ls)
				}
				if strings.HasSuffix(k, " meta") {
					meta += len(ls)
				}
			}
			if late == 0 || meta == 0 {
				t.Fatalf("%d late and %d meta lines: the input should have both", late, meta)
			}
			for _, r := range replays {
				t.Run(r.name, func(t *testing.T) {
					if diff := cmp.Diff(want, r.run(t, items, o.build)); diff != "" {
						t.Errorf("(-uninterrupted, 1 worker, batches of 1 +%s):\n%s", r.name, diff)
					}
				})
			}
		})
	}
}

// The problem EventTime solves: with EventClock, a pause of the source moves the
// watermark on with the system time, so that more items are late than in a run without
// the pause, and the windows get other values.
func TestEventClockDependsOnSpeed(t *testing.T) {
	items := replayItems()
	for _, tc := range []struct {
		name   string
		clock  Clock[ev]
		differ bool
	}{
		{"event clock", EventClock(evTime, 15*s), true},
		{"event time", EventTime(evTime, 15*s), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			build := replayOps(tc.clock)[0].build
			steady := replay{}.run(t, items, build)
			paused := replay{pause: 30 * s}.run(t, items, build)
			lateCount := func(groups map[string][]string) (n int) {
				for k, ls := range groups {
					if strings.HasSuffix(k, " late") {
						n += len(ls)
					}
				}
				return n
			}
			diff := cmp.Diff(steady, paused)
			switch {
			case tc.differ && lateCount(paused) <= lateCount(steady):
				t.Errorf("%d late items with pauses, %d without: the pauses should make more late", lateCount(paused), lateCount(steady))
			case !tc.differ && diff != "":
				t.Errorf("pauses changed the output (-steady +paused):\n%s", diff)
			}
		})
	}
}

// Sessions merge right after the item that bridges them, and windows that close together
// come out in the order they opened: so the results, and their order, do not depend on
// how the items were batched (Bytewax applies a batch's merges after all its items, and
// emits simultaneous closes in the order items first opened them).
func TestBatchSizeIndependence(t *testing.T) {
	// Items that bridge sessions, and a jump of event time that closes many windows at
	// once, in one key.
	items := []ev{
		x("k", "a", 0), x("k", "b", 10*s), x("k", "c", 20*s), x("k", "d", 5*s), // d bridges a and b
		x("k", "e", 15*s), x("k", "f", 40*s), x("k", "g", 34*s), x("k", "h", 27*s), // e bridges b and c; g joins f
		x("k", "i", 61*s), x("k", "j", 300*s), x("k", "l", 62*s), x("k", "m", 305*s), // j closes all; l is late
	}
	items = append(items, replayItems()...)
	clock := EventTime(evTime, 15*s)
	ops := append(replayOps(clock), []struct {
		name  string
		build func(in weir.Stream[ev]) weir.Stream[string]
	}{
		{"window session unordered", func(in weir.Stream[ev]) weir.Stream[string] {
			return lines(Window("win", keyOn(in), clock, Session(6*s), newTrace, Ordered(false)), t0)
		}},
		{"collect sliding", func(in weir.Stream[ev]) weir.Stream[string] {
			return lines(Collect("win", keyOn(in), clock, Sliding(20*s, 5*s, t0)), t0)
		}},
	}...)
	for _, o := range ops {
		t.Run(o.name, func(t *testing.T) {
			want := replay{batch: 1}.run(t, items, o.build)
			// In ordered mode sessions grow in timestamp order and never merge.
			merges := o.name == "reduce session" || o.name == "window session unordered"
			if merges && !slices.ContainsFunc(want["k meta"], func(l string) bool { return strings.Contains(l, "merged") }) {
				t.Fatalf("no session of k merged: %q", want["k meta"])
			}
			for _, batch := range []int{2, 7, 1000} {
				t.Run(fmt.Sprint("batch ", batch), func(t *testing.T) {
					if diff := cmp.Diff(want, replay{batch: batch}.run(t, items, o.build)); diff != "" {
						t.Errorf("(-batches of 1 +batches of %d):\n%s", batch, diff)
					}
				})
			}
		})
	}
}

// An idle timeout closes the windows of a key that stops receiving items, without any
// input to wake it; without one, they wait for the end of the stream.
func TestEventTimeIdleTimeout(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []ClockOption
		want []string
	}{
		{"no idle timeout", nil, []string{"1h0m0s: a 1 = [x y]", "1h0m0s: b 0 = [z]"}},
		// a's watermark is 7s when it goes idle: its window closes 13s after the timeout.
		{"idle timeout", []ClockOption{IdleTimeout(time.Minute)}, []string{"1m13s: a 1 = [x y]", "1h0m0s: b 0 = [z]"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				start := time.Now()
				src := weirtest.NewSource(x("a", "x", 10*s), x("a", "y", 12*s)).Pause(time.Hour).Then(x("b", "z", 0))
				flow := weir.NewDataflow("f")
				clock := EventTime(func(e ev) time.Time { return start.Add(e.At) }, 5*s, tc.opts...)
				out := Collect("win", keyOn(op.Input("in", flow, src)), clock, Tumbling(10*s, start))
				var got []string
				op.InspectWith("rec", out.Down, func(_ string, kv weir.KV[Windowed[[]ev]]) {
					got = append(got, fmt.Sprintf("%v: %s %d = %v", time.Since(start), kv.Key, kv.Value.Window, kv.Value.Value))
				})
				weirtest.Run(t, flow, 1)
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("(-want +got):\n%s", diff)
				}
			})
		})
	}
}

// A wait of Forever makes nothing late, not even an item 300 years older than the newest,
// which the longest other wait (292 years) would.
func TestForeverWait(t *testing.T) {
	newest := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	old := newest.AddDate(-300, 0, 0)
	epoch := time.Unix(0, 0).UTC()
	oldID := int64(old.Sub(epoch) / time.Hour) // a whole number of hours before 1970
	ts := func(t time.Time) time.Time { return t }
	for _, tc := range []struct {
		name  string
		clock Clock[time.Time]
		late  bool
	}{
		{"event time, forever", EventTime(ts, Forever), false},
		{"event clock, forever", EventClock(ts, Forever), false},
		{"event time, 292 years", EventTime(ts, Forever-1), true},
		{"event clock, 292 years", EventClock(ts, Forever-1), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				flow := weir.NewDataflow("f")
				in := op.Input("in", flow, weirtest.NewSource(
					weir.KV[time.Time]{Key: "k", Value: newest}).Pause(time.Hour).Then(
					weir.KV[time.Time]{Key: "k", Value: old}))
				out := Count("win", op.KeyRm("unkey", in), tc.clock, Tumbling(time.Hour, epoch), func(time.Time) string { return "k" })
				down, late := weirtest.NewSink[weir.KV[Windowed[int]]](), weirtest.NewSink[weir.KV[Windowed[time.Time]]]()
				op.Output("down", out.Down, down)
				op.Output("late", out.Late, late)
				weirtest.Run(t, flow, 1)
				newID := int64(newest.Sub(epoch) / time.Hour)
				wantDown := fmt.Sprintf("[(k, (%d, 1)) (k, (%d, 1))]", oldID, newID)
				wantLate := "[]"
				if tc.late {
					wantDown = fmt.Sprintf("[(k, (%d, 1))]", newID)
					wantLate = fmt.Sprintf("[(k, (%d, %v))]", oldID, old)
				}
				if got := fmt.Sprint(down.Items()); got != wantDown {
					t.Errorf("down %s, want %s", got, wantDown)
				}
				if got := fmt.Sprint(late.Items()); got != wantLate {
					t.Errorf("late %s, want %s", got, wantLate)
				}
			})
		})
	}
}
