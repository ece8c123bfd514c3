package window

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/internal/graph"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/weirtest"
)

// closedLine formats an item of WithBounds as "key id [open,close] merged [ids] = result",
// times as offsets from t0.
func closedLine[W any](kv weir.KV[Bounded[W]]) string {
	b := kv.Value
	line := fmt.Sprintf("%s %d [%v,%v]", kv.Key, b.Window, b.Open.Sub(t0), b.Close.Sub(t0))
	if len(b.Merged) > 0 {
		line += fmt.Sprintf(" merged %v", b.Merged)
	}
	return fmt.Sprintf("%s = %v", line, b.Value)
}

// closedLines maps an operator's WithBounds stream to lines.
func closedLines[V, W any](o Out[V, W]) weir.Stream[string] {
	return op.Map("show_closed", o.WithBounds("bounds"), closedLine[W])
}

// closedItems is the input of the WithBounds tests. With a gap of 10s, a's r (8s) bridges
// its sessions 0 (p at 0s) and 1 (q at 16s), which merge into session 0 before t (60s)
// moves the watermark past them; b's u stays open until the end of the stream.
func closedItems() []ev {
	return []ev{x("a", "p", 0), x("a", "q", 16*s), x("a", "r", 8*s), x("a", "t", 60*s), x("b", "u", 5*s)}
}

// closedOps are window operators of each windower and kind, with their WithBounds lines
// per key for closedItems, in order.
var closedOps = []struct {
	name  string
	build func(in weir.Stream[ev]) weir.Stream[string]
	want  map[string][]string
}{
	{"collect tumbling", func(in weir.Stream[ev]) weir.Stream[string] {
		return closedLines(Collect("win", keyOn(in), EventTime(evTime, 30*s), Tumbling(10*s, t0)))
	}, map[string][]string{
		"a": {"a 0 [0s,10s] = [p r]", "a 1 [10s,20s] = [q]", "a 6 [1m0s,1m10s] = [t]"},
		"b": {"b 0 [0s,10s] = [u]"},
	}},
	{"count tumbling", func(in weir.Stream[ev]) weir.Stream[string] {
		return closedLines(Count("win", in, EventTime(evTime, 30*s), Tumbling(10*s, t0), byKey))
	}, map[string][]string{
		"a": {"a 0 [0s,10s] = 2", "a 1 [10s,20s] = 1", "a 6 [1m0s,1m10s] = 1"},
		"b": {"b 0 [0s,10s] = 1"},
	}},
	{"fold sliding", func(in weir.Stream[ev]) weir.Stream[string] {
		return closedLines(Fold("win", keyOn(in), EventTime(evTime, 30*s), Sliding(20*s, 10*s, t0),
			func() string { return "" }, func(acc string, e ev) string { return acc + e.Name },
			func(a, b string) string { return a + b }))
	}, map[string][]string{
		"a": {"a -1 [-10s,10s] = pr", "a 0 [0s,20s] = prq", "a 1 [10s,30s] = q", "a 5 [50s,1m10s] = t", "a 6 [1m0s,1m20s] = t"},
		"b": {"b -1 [-10s,10s] = u", "b 0 [0s,20s] = u"},
	}},
	{"reduce session, merged", func(in weir.Stream[ev]) weir.Stream[string] {
		return closedLines(Reduce("win", keyOn(in), EventTime(evTime, 30*s), Session(10*s), concat))
	}, map[string][]string{
		"a": {"a 0 [0s,16s] merged [1] = prq", "a 2 [1m0s,1m0s] = t"},
		"b": {"b 0 [5s,5s] = u"},
	}},
	{"window session, merged: only what OnClose returns", func(in weir.Stream[ev]) weir.Stream[string] {
		return closedLines(Window("win", keyOn(in), EventTime(evTime, 30*s), Session(10*s), newTrace, Ordered(false)))
	}, map[string][]string{
		"a": {"a 0 [0s,16s] merged [1] = close[p r q]", "a 2 [1m0s,1m0s] = close[t]"},
		"b": {"b 0 [5s,5s] = close[u]"},
	}},
	{"join session, final", func(in weir.Stream[ev]) weir.Stream[string] {
		ks := keyOn(in)
		return closedLines(Join("win", []weir.KeyedStream[ev]{ks, ks}, EventTime(evTime, 30*s), Session(10*s), Ordered(false)))
	}, map[string][]string{
		"a": {"a 0 [0s,16s] merged [1] = [q r]", "a 2 [1m0s,1m0s] = [t t]"},
		"b": {"b 0 [5s,5s] = [u u]"},
	}},
}

// groupByKey groups lines by their first word, keeping their order.
func groupByKey(lines []string) map[string][]string {
	got := map[string][]string{}
	for _, l := range lines {
		key, _, _ := strings.Cut(l, " ")
		got[key] = append(got[key], l)
	}
	return got
}

// WithBounds pairs each result emitted at a window's close with that window's bounds and
// merged ids, for every windower, on one worker or two.
func TestWithBounds(t *testing.T) {
	for _, o := range closedOps {
		for _, workers := range []int{1, 2} {
			t.Run(fmt.Sprintf("%s/w%d", o.name, workers), func(t *testing.T) {
				flow := weir.NewDataflow("f")
				sink := weirtest.NewSink[string]()
				op.Output("out", o.build(op.Input("in", flow, weirtest.NewSource(closedItems()...))), sink)
				weirtest.Run(t, flow, workers)
				if diff := cmp.Diff(o.want, groupByKey(sink.Items())); diff != "" {
					t.Errorf("WithBounds (-want +got):\n%s", diff)
				}
			})
		}
	}
}

// A run aborted after a's sessions merged, and resumed from its snapshots, emits the
// merged session on WithBounds with the bounds and merged ids it had before the abort.
func TestWithBoundsResume(t *testing.T) {
	for _, o := range closedOps {
		t.Run(o.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				items := closedItems()
				// Every worker idle, with everything committed, when the abort comes.
				src := weirtest.NewSource(items[:3]...).Pause(time.Second).Abort().Then(items[3:]...)
				flow := weir.NewDataflow("f")
				sink := weirtest.NewSink[string]()
				op.Output("out", o.build(op.Input("in", flow, src)), sink)
				rec := weirtest.NewRecovery(t, 2)
				rec.Run(t, flow, 2) // up to the abort: nothing has closed yet
				if n := len(sink.Items()); n != 0 {
					t.Fatalf("%d lines before the abort, want none: %q", n, sink.Items())
				}
				rec.Run(t, flow, 2)
				if diff := cmp.Diff(o.want, groupByKey(sink.Items())); diff != "" {
					t.Errorf("WithBounds after a resume (-want +got):\n%s", diff)
				}
			})
		})
	}
}

// Each closing result carries its own copy of the merged ids, apart from Meta's and
// from the other results of its window.
func TestWithBoundsMergedOwnCopy(t *testing.T) {
	flow := weir.NewDataflow("f")
	in := keyOn(op.Input("in", flow, weirtest.NewSource(closedItems()...)))
	out := Window("win", in, EventTime(evTime, 30*s), Session(10*s), func(resume []string, ok bool) Logic[ev, string, []string] {
		return &twice{trace{seen: resume}}
	}, Ordered(false))
	var closed [][]int64
	var meta []int64
	op.InspectWith("closed", out.WithBounds("bounds"), func(_ string, kv weir.KV[Bounded[string]]) {
		if kv.Key == "a" && kv.Value.Window == 0 {
			closed = append(closed, slices.Clone(kv.Value.Merged))
			kv.Value.Merged[0] = 99 // a user changing what it was given
		}
	})
	op.InspectWith("meta", out.Meta, func(_ string, kv weir.KV[Windowed[Meta]]) {
		if kv.Key == "a" && kv.Value.Window == 0 {
			meta = kv.Value.Value.Merged
		}
	})
	weirtest.Run(t, flow, 1)
	if want := [][]int64{{1}, {1}}; !cmp.Equal(closed, want) {
		t.Errorf("WithBounds's merged ids %v, want %v", closed, want)
	}
	if want := []int64{1}; !cmp.Equal(meta, want) {
		t.Errorf("Meta's merged ids %v, want %v", meta, want)
	}
}

// twice is a trace that returns two results when its window closes.
type twice struct{ trace }

func (l *twice) OnClose() []string { return []string{"first", "second"} }

func TestBoundedString(t *testing.T) {
	b := Bounded[int]{Window: 3, Meta: Meta{Open: t0, Close: t0.Add(1500 * time.Millisecond), Merged: []int64{4, 5}}, Value: 7}
	if got, want := b.String(), "(3, 2024-01-01T00:00:00Z..2024-01-01T00:00:01.5Z merged [4 5], 7)"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	b.Merged = nil
	if got, want := b.String(), "(3, 2024-01-01T00:00:00Z..2024-01-01T00:00:01.5Z, 7)"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

// WithBounds declares its step, under the id it is given, in the scope of the operator's
// streams, and only when asked: an operator used without it has no such step.
func TestWithBoundsStep(t *testing.T) {
	steps := func(bounds bool) []string {
		flow := weir.NewDataflow("f")
		out := Count("win", op.Input("in", flow, weirtest.NewSource[ev]()), EventTime(evTime, 0), Session(s), byKey)
		if bounds {
			out.WithBounds("bounds")
		}
		if err := flow.Err(); err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, n := range graph.FlowOf(flow).Nodes() {
			if !strings.HasPrefix(n.ID, "f.in") && !strings.HasPrefix(n.ID, "f.win.keyed") {
				ids = append(ids, n.ID)
			}
		}
		return ids
	}
	want := []string{
		"f.win.sum.stateful_batch",
		"f.win.sum.unwrap_down.flat_map_batch",
		"f.win.sum.unwrap_late.flat_map_batch",
		"f.win.sum.unwrap_meta.flat_map_batch",
	}
	if diff := cmp.Diff(want, steps(false)); diff != "" {
		t.Errorf("without WithBounds (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(append(want, "f.bounds.flat_map_batch"), steps(true)); diff != "" {
		t.Errorf("with WithBounds (-want +got):\n%s", diff)
	}
	var zero Out[ev, int]
	if got := zero.WithBounds("bounds"); got.Scope() != nil {
		t.Errorf("the zero Out's WithBounds is in scope %v, want none", got.Scope())
	}
}
