package op_test

import (
	"context"
	"errors"
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
	"github.com/weirflow/weir/run"
	"github.com/weirflow/weir/weirtest"
)

// The helpers of this file serve the tests of the stateful operators (stateful, collect,
// final, join).

func kvOf[V any](k string, v V) weir.KV[V] { return weir.KV[V]{Key: k, Value: v} }

// runSource runs src through build on the given number of workers and returns the output.
func runSource[X, Y any](t *testing.T, workers int, src *weirtest.Source[X], build func(weir.Stream[X]) weir.Stream[Y]) []Y {
	t.Helper()
	flow := weir.NewDataflow("f")
	out := weirtest.NewSink[Y]()
	op.Output("out", build(op.Input("in", flow, src)), out)
	weirtest.Run(t, flow, workers)
	return out.Items()
}

// runItems runs items, batch at a time, through build on the given number of workers.
func runItems[X, Y any](t *testing.T, workers, batch int, items []X, build func(weir.Stream[X]) weir.Stream[Y]) []Y {
	t.Helper()
	return runSource(t, workers, weirtest.NewSource(items...).BatchSize(batch), build)
}

// runErr runs items through build with one worker and returns the run's error.
func runErr[X, Y any](items []X, build func(weir.Stream[X]) weir.Stream[Y]) error {
	flow := weir.NewDataflow("f")
	op.Output("out", build(op.Input("in", flow, weirtest.NewSource(items...))), weirtest.NewSink[Y]())
	return run.Run(context.Background(), flow)
}

// byKey groups keyed items per key, keeping their order: what every worker count and
// batch size must agree on for per-key operators.
func byKey[V any](items []weir.KV[V]) map[string][]V {
	m := map[string][]V{}
	for _, kv := range items {
		m[kv.Key] = append(m[kv.Key], kv.Value)
	}
	return m
}

// sortedStrings formats items and sorts them, to compare outputs whose order may vary.
func sortedStrings[T any](items []T) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = fmt.Sprint(it)
	}
	slices.Sort(out)
	return out
}

func diffOut(t *testing.T, got, want any) {
	t.Helper()
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("output (-want +got):\n%s", d)
	}
}

var runningMax = func(st *op.State[int], v int) int {
	m, ok := st.Get()
	if !ok || v > m {
		m = v
	}
	st.Set(m)
	return m
}

func TestStatefulMapAndFlatMap(t *testing.T) {
	in := []weir.KV[int]{kvOf("a", 3), kvOf("b", 1), kvOf("a", 1), kvOf("a", 5), kvOf("b", 0), kvOf("b", 7), kvOf("a", 0), kvOf("a", 2)}
	tests := []struct {
		name  string
		build func(weir.KeyedStream[int]) weir.KeyedStream[string]
		want  []weir.KV[string] // with one worker and batches of one item
	}{
		{"running_max", func(s weir.KeyedStream[int]) weir.KeyedStream[string] {
			maxes := op.StatefulMap("running_max", s, runningMax)
			return op.MapValue("fmt", maxes, func(m int) string { return fmt.Sprint(m) })
		}, []weir.KV[string]{kvOf("a", "3"), kvOf("b", "1"), kvOf("a", "3"), kvOf("a", "5"), kvOf("b", "1"), kvOf("b", "7"), kvOf("a", "5"), kvOf("a", "5")}},
		{"discard_on_zero_starts_fresh", func(s weir.KeyedStream[int]) weir.KeyedStream[string] {
			return op.StatefulMap("sum", s, func(st *op.State[[]int], v int) string {
				seen, _ := st.Get()
				seen = append(seen, v)
				if v == 0 {
					st.Discard()
				} else {
					st.Set(seen)
				}
				return fmt.Sprint(seen)
			})
		}, []weir.KV[string]{kvOf("a", "[3]"), kvOf("b", "[1]"), kvOf("a", "[3 1]"), kvOf("a", "[3 1 5]"), kvOf("b", "[1 0]"), kvOf("b", "[7]"), kvOf("a", "[3 1 5 0]"), kvOf("a", "[2]")}},
		{"set_after_discard_keeps", func(s weir.KeyedStream[int]) weir.KeyedStream[string] {
			return op.StatefulMap("m", s, func(st *op.State[int], v int) string {
				n, ok := st.Get()
				st.Discard()
				st.Set(n + v)
				return fmt.Sprint(n+v, ok)
			})
		}, []weir.KV[string]{kvOf("a", "3 false"), kvOf("b", "1 false"), kvOf("a", "4 true"), kvOf("a", "9 true"), kvOf("b", "1 true"), kvOf("b", "8 true"), kvOf("a", "9 true"), kvOf("a", "11 true")}},
		{"never_set_keeps_nothing", func(s weir.KeyedStream[int]) weir.KeyedStream[string] {
			return op.StatefulMap("m", s, func(st *op.State[string], v int) string {
				_, ok := st.Get()
				return fmt.Sprint(ok)
			})
		}, []weir.KV[string]{kvOf("a", "false"), kvOf("b", "false"), kvOf("a", "false"), kvOf("a", "false"), kvOf("b", "false"), kvOf("b", "false"), kvOf("a", "false"), kvOf("a", "false")}},
		{"flat_map_count_events", func(s weir.KeyedStream[int]) weir.KeyedStream[string] {
			var buf []string // the mapper may reuse its result
			return op.StatefulFlatMap("events", s, func(st *op.State[int], v int) []string {
				n, _ := st.Get()
				n++
				st.Set(n)
				buf = buf[:0]
				for range v % 3 {
					buf = append(buf, fmt.Sprintf("%d#%d", v, n))
				}
				return buf
			})
		}, []weir.KV[string]{kvOf("b", "1#1"), kvOf("a", "1#2"), kvOf("a", "5#3"), kvOf("a", "5#3"), kvOf("b", "7#3"), kvOf("a", "2#5"), kvOf("a", "2#5")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			diffOut(t, runItems(t, 1, 1, in, tt.build), tt.want)
			// Per key, the order never depends on workers or batching.
			for _, w := range []int{1, 2, 4} {
				for _, b := range []int{3, 8} {
					if tt.name == "flat_map_count_events" && w > 1 {
						continue // the mapper's shared buffer is not safe across workers
					}
					diffOut(t, byKey(runItems(t, w, b, in, tt.build)), byKey(tt.want))
				}
			}
		})
	}
}

func TestStatefulMapStepIDs(t *testing.T) {
	flow := weir.NewDataflow("f")
	keyed := op.Input("in", flow, weirtest.NewSource[weir.KV[int]]())
	maxes := op.StatefulMap("running_max", keyed, runningMax)
	flat := op.StatefulFlatMap("flat", maxes, func(*op.State[int], int) []int { return nil })
	s := op.Stateful("st", flat, func(int, bool) op.ItemLogic[int, int, int] { return nil })
	col := op.Collect("col", s, time.Second, 2)
	fold := op.FoldFinal("fold", col, func() int { return 0 }, func(a int, v []int) int { return a + len(v) })
	red := op.ReduceFinal("red", fold, func(a, b int) int { return a + b })
	cnt := op.CountFinal("count", red, func(kv weir.KV[int]) string { return kv.Key })
	mx := op.MaxFinal("max", cnt, func(v int) int { return v })
	mn := op.MinFinal("min", mx, func(v int) int { return v })
	j := op.Join("join", []weir.KeyedStream[int]{mn, mx})
	op.Output("out", j, weirtest.NewSink[weir.KV[[]op.Opt[int]]]())
	if err := flow.Err(); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, n := range graph.FlowOf(flow).Nodes() {
		ids = append(ids, n.ID)
	}
	want := []string{
		"f.in",
		"f.running_max.stateful_flat_map.stateful.stateful_batch",
		"f.flat.stateful.stateful_batch",
		"f.st.stateful_batch",
		"f.col.stateful.stateful_batch",
		"f.fold.stateful.stateful_batch",
		"f.red.pre_reduce",
		"f.red.fold_final.stateful.stateful_batch",
		"f.count.init_count.flat_map_batch",
		"f.count.sum.pre_reduce",
		"f.count.sum.fold_final.stateful.stateful_batch",
		"f.max.reduce_final.pre_reduce",
		"f.max.reduce_final.fold_final.stateful.stateful_batch",
		"f.min.reduce_final.pre_reduce",
		"f.min.reduce_final.fold_final.stateful.stateful_batch",
		"f.join.add_names.label_0.flat_map_batch",
		"f.join.add_names.label_1.flat_map_batch",
		"f.join.add_names.merge",
		"f.join.join.stateful_batch",
		"f.out",
	}
	diffOut(t, ids, want)
}

// eventLogic records every hook call it gets as an emitted string.
type eventLogic struct {
	st    eventState
	delay time.Duration // notify this long after each item; 0: never
	at    time.Time
}

type eventState struct {
	Key string // learnt from the items ("key/value")
	N   int    // items seen
}

func newEventLogic(resume eventState, _ bool) op.ItemLogic[string, string, eventState] {
	return &eventLogic{st: resume}
}

func (l *eventLogic) OnItem(v string) ([]string, bool) {
	l.st.N++
	k, val, _ := strings.Cut(v, "/")
	l.st.Key = k
	if l.delay > 0 {
		l.at = time.Now().Add(l.delay)
	}
	return []string{fmt.Sprintf("item %s %d", v, l.st.N)}, val == "drop"
}

func (l *eventLogic) OnNotify() ([]string, bool) {
	l.at = time.Time{}
	return []string{"notify " + l.st.Key}, false
}

func (l *eventLogic) OnEOF() ([]string, bool)     { return []string{"eof " + l.st.Key}, true }
func (l *eventLogic) NotifyAt() (time.Time, bool) { return l.at, !l.at.IsZero() }
func (l *eventLogic) Snapshot() eventState        { return l.st }

func TestStatefulHooksAndOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		builds := 0
		src := weirtest.NewSource(kvOf("b", "b/1"), kvOf("a", "a/1")).
			Pause(2*time.Second). // both keys notify at 1s: in key order
			Then(kvOf("c", "c/1"), kvOf("c", "c/drop"), kvOf("c", "c/2"), kvOf("a", "a/2")).
			BatchSize(4)
		got := runSource(t, 1, src, func(s weir.KeyedStream[string]) weir.KeyedStream[string] {
			return op.Stateful("st", s, func(resume eventState, ok bool) op.ItemLogic[string, string, eventState] {
				builds++
				return &eventLogic{st: resume, delay: time.Second}
			})
		})
		want := []weir.KV[string]{
			// One batch: keys in sorted order.
			kvOf("a", "item a/1 1"), kvOf("b", "item b/1 1"),
			kvOf("a", "notify a"), kvOf("b", "notify b"),
			// The discard drops c's logic in the middle of its batch: "c/2" starts afresh.
			kvOf("a", "item a/2 2"),
			kvOf("c", "item c/1 1"), kvOf("c", "item c/drop 2"), kvOf("c", "item c/2 1"),
			// End of stream: every live key, sorted.
			kvOf("a", "eof a"), kvOf("b", "eof b"), kvOf("c", "eof c"),
		}
		diffOut(t, got, want)
		if builds != 4 {
			t.Errorf("builder called %d times, want 4 (a, b, c, c after the discard)", builds)
		}
	})
}

var errStatefulBoom = errors.New("boom")

func TestStatefulPanicNamesStepAndKey(t *testing.T) {
	in := []weir.KV[int]{kvOf("a", 1), kvOf("b", 2), kvOf("a", -1)}
	boomOn := func(v int) {
		if v < 0 {
			panic(errStatefulBoom)
		}
	}
	tests := []struct {
		name  string
		build func(weir.KeyedStream[int]) weir.KeyedStream[int]
		step  string
		key   string
	}{
		{"stateful_map", func(s weir.KeyedStream[int]) weir.KeyedStream[int] {
			return op.StatefulMap("sm", s, func(st *op.State[int], v int) int { boomOn(v); return v })
		}, "f.sm.stateful_flat_map.stateful.stateful_batch", "a"},
		{"stateful_flat_map", func(s weir.KeyedStream[int]) weir.KeyedStream[int] {
			return op.StatefulFlatMap("sf", s, func(st *op.State[int], v int) []int { boomOn(v); return nil })
		}, "f.sf.stateful.stateful_batch", "a"},
		{"stateful", func(s weir.KeyedStream[int]) weir.KeyedStream[int] {
			return op.Stateful("st", s, func(int, bool) op.ItemLogic[int, int, int] { return panicky{boomOn} })
		}, "f.st.stateful_batch", "a"},
		{"fold_final", func(s weir.KeyedStream[int]) weir.KeyedStream[int] {
			return op.FoldFinal("ff", s, func() int { return 0 }, func(a, v int) int { boomOn(v); return a + v })
		}, "f.ff.stateful.stateful_batch", "a"},
		{"reduce_final", func(s weir.KeyedStream[int]) weir.KeyedStream[int] {
			// The pre-reduce combines a key's values across batches: the reducer first
			// runs there, which names the key too.
			return op.ReduceFinal("rf", s, func(a, v int) int { boomOn(v); return a + v })
		}, "f.rf.pre_reduce", "a"},
		{"max_final", func(s weir.KeyedStream[int]) weir.KeyedStream[int] {
			return op.MaxFinal("mx", s, func(v int) int { boomOn(v); return v })
		}, "f.mx.reduce_final.pre_reduce", "a"},
		{"count_final_key", func(s weir.KeyedStream[int]) weir.KeyedStream[int] {
			return op.CountFinal("n", s, func(kv weir.KV[int]) string { boomOn(kv.Value); return kv.Key })
		}, "f.n.init_count.flat_map_batch", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := runErr(in, func(s weir.KeyedStream[int]) weir.KeyedStream[int] { return tt.build(s) })
			var se *weir.StepError
			if !errors.As(err, &se) {
				t.Fatalf("run error = %v, want a *weir.StepError", err)
			}
			if se.Step != tt.step || se.Key != tt.key {
				t.Errorf("step error names (%q, key %q), want (%q, key %q)", se.Step, se.Key, tt.step, tt.key)
			}
			if !errors.Is(err, errStatefulBoom) {
				t.Errorf("errors.Is(%v, errStatefulBoom) = false", err)
			}
		})
	}
}

type panicky struct{ boomOn func(int) }

func (p panicky) OnItem(v int) ([]int, bool) { p.boomOn(v); return []int{v}, false }
func (panicky) OnNotify() ([]int, bool)      { return nil, false }
func (panicky) OnEOF() ([]int, bool)         { return nil, false }
func (panicky) NotifyAt() (time.Time, bool)  { return time.Time{}, false }
func (panicky) Snapshot() int                { return 0 }

// TestAbortMeansNoEOF checks that a run stopped by an abort runs no OnEOF: the operators
// that emit at end of stream emit nothing.
func TestAbortMeansNoEOF(t *testing.T) {
	in := []weir.KV[int]{kvOf("a", 1), kvOf("b", 2), kvOf("a", 3)}
	tests := map[string]func(weir.KeyedStream[int]) weir.Stream[string]{
		"collect": func(s weir.KeyedStream[int]) weir.Stream[string] {
			return formatted(op.Collect("c", s, 0, 0))
		},
		"fold_final": func(s weir.KeyedStream[int]) weir.Stream[string] {
			return formatted(op.FoldFinal("f", s, func() int { return 0 }, func(a, v int) int { return a + v }))
		},
		"reduce_final": func(s weir.KeyedStream[int]) weir.Stream[string] {
			return formatted(op.ReduceFinal("r", s, func(a, v int) int { return a + v }))
		},
		"count_final": func(s weir.KeyedStream[int]) weir.Stream[string] {
			return formatted(op.CountFinal("n", s, func(kv weir.KV[int]) string { return kv.Key }))
		},
		"min_final": func(s weir.KeyedStream[int]) weir.Stream[string] {
			return formatted(op.MinFinal("m", s, func(v int) int { return v }))
		},
		"join_final": func(s weir.KeyedStream[int]) weir.Stream[string] {
			return formatted(op.Join("j", []weir.KeyedStream[int]{s, s}, op.EmitMode(op.EmitFinal)))
		},
		"stateful_eof": func(s weir.KeyedStream[int]) weir.Stream[string] {
			return formatted(op.Stateful("s", op.MapValue("str", s, func(v int) string { return fmt.Sprint("x/", v) }),
				newEventLogic))
		},
	}
	for name, build := range tests {
		t.Run(name, func(t *testing.T) {
			got := runSource(t, 1, weirtest.NewSource(in...).Abort(), build)
			if name == "stateful_eof" {
				got = slices.DeleteFunc(got, func(s string) bool { return strings.Contains(s, "item") })
			}
			if len(got) != 0 {
				t.Errorf("an aborted run emitted %q", got)
			}
		})
	}
}

func formatted[T any](s weir.Stream[T]) weir.Stream[string] {
	return op.Map("fmt", s, func(x T) string { return fmt.Sprint(x) })
}

// TestWorkersAgree runs every stateful operator with 1, 2 and 4 workers and several batch
// sizes: the sortedStrings of results must not change.
func TestWorkersAgree(t *testing.T) {
	var in []weir.KV[int]
	for i := range 200 {
		in = append(in, kvOf(fmt.Sprintf("k%02d", (i*7)%23), (i*37)%101-50))
	}
	tests := map[string]func(weir.KeyedStream[int]) weir.Stream[string]{
		"stateful_map": func(s weir.KeyedStream[int]) weir.Stream[string] {
			return formatted(op.StatefulMap("m", s, runningMax))
		},
		"stateful_flat_map": func(s weir.KeyedStream[int]) weir.Stream[string] {
			return formatted(op.StatefulFlatMap("m", s, func(st *op.State[int], v int) []int {
				n, _ := st.Get()
				if v%5 == 0 {
					st.Discard()
					return []int{n, v}
				}
				st.Set(n + v)
				return nil
			}))
		},
		"stateful": func(s weir.KeyedStream[int]) weir.Stream[string] {
			str := op.MapValue("str", s, func(v int) string { return fmt.Sprint("x/", v) })
			return formatted(op.Stateful("s", str, newEventLogic))
		},
		"collect": func(s weir.KeyedStream[int]) weir.Stream[string] {
			return formatted(op.Collect("c", s, 0, 3))
		},
		"fold_final": func(s weir.KeyedStream[int]) weir.Stream[string] {
			return formatted(op.FoldFinal("f", s, func() []int { return nil }, func(a []int, v int) []int { return append(a, v) }))
		},
		"reduce_final": func(s weir.KeyedStream[int]) weir.Stream[string] {
			return formatted(op.ReduceFinal("r", s, func(a, v int) int { return a + v }))
		},
		"count_final": func(s weir.KeyedStream[int]) weir.Stream[string] {
			return formatted(op.CountFinal("n", s, func(kv weir.KV[int]) string { return fmt.Sprint(kv.Value % 3) }))
		},
		"max_final": func(s weir.KeyedStream[int]) weir.Stream[string] {
			return formatted(op.MaxFinal("m", s, func(v int) int { return v }))
		},
		"min_final": func(s weir.KeyedStream[int]) weir.Stream[string] {
			return formatted(op.MinFinal("m", s, func(v int) int { return v }))
		},
	}
	for _, ins := range []op.JoinInsert{op.InsertFirst, op.InsertLast, op.InsertProduct} {
		for _, em := range []op.JoinEmit{op.EmitComplete, op.EmitFinal, op.EmitRunning} {
			tests[fmt.Sprintf("join_%v_%v", ins, em)] = func(s weir.KeyedStream[int]) weir.Stream[string] {
				evens, odds := op.Branch("split", s, func(kv weir.KV[int]) bool { return kv.Value%2 == 0 })
				return formatted(op.Join("j", []weir.KeyedStream[int]{evens, odds}, op.InsertMode(ins), op.EmitMode(em)))
			}
		}
	}
	for name, build := range tests {
		t.Run(name, func(t *testing.T) {
			want := sortedStrings(runItems(t, 1, 1, in, build))
			if len(want) == 0 {
				t.Fatal("no output")
			}
			for _, w := range []int{1, 2, 4} {
				for _, b := range []int{1, 7, 64} {
					if w == 1 && b == 1 {
						continue
					}
					if strings.HasPrefix(name, "join_") && b != 1 {
						// Batching changes how the two sides interleave at the join, and
						// so which values meet; worker counts must not.
						continue
					}
					if got := sortedStrings(runItems(t, w, b, in, build)); !slices.Equal(got, want) {
						t.Errorf("%d workers, batches of %d: %s", w, b, cmp.Diff(want, got))
					}
				}
			}
		})
	}
}

// TestSnapshotResume drives each operator's stateful step directly: a run interrupted
// after each batch, its state snapshotted and restored into a fresh runtime, must emit
// what an uninterrupted one does.
func TestSnapshotResume(t *testing.T) {
	in := []weir.KV[int]{kvOf("a", 3), kvOf("b", 1), kvOf("a", 1), kvOf("a", 5), kvOf("b", 0), kvOf("b", 7), kvOf("a", 0), kvOf("a", 2), kvOf("c", 9)}
	side := func(kv weir.KV[int]) int { return kv.Value % 2 }
	tests := []struct {
		name  string
		build func(weir.KeyedStream[int]) // declares one operator with id "op" on the stream
		step  string
		feed  func(flow *weir.Dataflow, kv weir.KV[int]) any // the stateful step's batch for kv
	}{
		{"stateful_map", func(s weir.KeyedStream[int]) {
			op.StatefulMap("op", s, func(st *op.State[[]int], v int) []int {
				seen, _ := st.Get()
				seen = append(seen, v)
				st.Set(seen)
				if v == 0 {
					st.Discard()
				}
				return seen
			})
		}, "f.op.stateful_flat_map.stateful.stateful_batch", nil},
		{"stateful", func(s weir.KeyedStream[int]) {
			op.Stateful("op", op.MapValue("str", s, func(v int) string { return fmt.Sprint("x/", v) }),
				newEventLogic)
		}, "f.op.stateful_batch", func(flow *weir.Dataflow, kv weir.KV[int]) any {
			return []weir.KV[string]{kvOf(kv.Key, fmt.Sprint("x/", kv.Value))}
		}},
		{"collect", func(s weir.KeyedStream[int]) { op.Collect("op", s, time.Hour, 3) }, "f.op.stateful.stateful_batch", nil},
		{"fold_final", func(s weir.KeyedStream[int]) {
			op.FoldFinal("op", s, func() []int { return []int{} }, func(a []int, v int) []int { return append(a, v) })
		}, "f.op.stateful.stateful_batch", nil},
		{"reduce_final", func(s weir.KeyedStream[int]) {
			op.ReduceFinal("op", s, func(a, v int) int { return a*10 + v })
		}, "f.op.fold_final.stateful.stateful_batch", nil},
		{"count_final", func(s weir.KeyedStream[int]) {
			op.CountFinal("op", s, func(kv weir.KV[int]) string { return kv.Key })
		}, "f.op.sum.fold_final.stateful.stateful_batch", nil},
	}
	for _, ins := range []op.JoinInsert{op.InsertFirst, op.InsertLast, op.InsertProduct} {
		for _, em := range []op.JoinEmit{op.EmitComplete, op.EmitFinal, op.EmitRunning} {
			label := func(flow *weir.Dataflow, kv weir.KV[int]) any {
				return flatMapNode(t, flow, fmt.Sprintf("f.op.add_names.label_%d.flat_map_batch", side(kv)), []weir.KV[int]{kv})
			}
			label2 := func(flow *weir.Dataflow, kv weir.KV[int]) any {
				if side(kv) == 0 {
					return flatMapNode(t, flow, "f.op.add_names.label_0.flat_map_batch", []weir.KV[int]{kv})
				}
				return flatMapNode(t, flow, "f.op.add_names.label_1.flat_map_batch", []weir.KV[string]{kvOf(kv.Key, fmt.Sprint(kv.Value))})
			}
			tests = append(tests, struct {
				name  string
				build func(weir.KeyedStream[int])
				step  string
				feed  func(flow *weir.Dataflow, kv weir.KV[int]) any
			}{fmt.Sprintf("join_%v_%v", ins, em), func(s weir.KeyedStream[int]) {
				op.Join("op", []weir.KeyedStream[int]{s, s}, op.InsertMode(ins), op.EmitMode(em))
			}, "f.op.join.stateful_batch", label}, struct {
				name  string
				build func(weir.KeyedStream[int])
				step  string
				feed  func(flow *weir.Dataflow, kv weir.KV[int]) any
			}{fmt.Sprintf("join2_%v_%v", ins, em), func(s weir.KeyedStream[int]) {
				op.Join2("op", s, op.MapValue("str", s, func(v int) string { return fmt.Sprint(v) }), op.InsertMode(ins), op.EmitMode(em))
			}, "f.op.join.stateful_batch", label2})
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			flow := weir.NewDataflow("f")
			tt.build(op.Input("in", flow, weirtest.NewSource[weir.KV[int]]()))
			if err := flow.Err(); err != nil {
				t.Fatal(err)
			}
			feed := tt.feed
			if feed == nil {
				feed = func(_ *weir.Dataflow, kv weir.KV[int]) any { return []weir.KV[int]{kv} }
			}
			var batches []any
			for _, kv := range in {
				batches = append(batches, feed(flow, kv))
			}
			spec := statefulNode(t, flow, tt.step)
			want := driveStateful(t, spec, batches, -1)
			if len(want) == 0 {
				t.Fatal("no output")
			}
			for cut := range batches {
				if got := driveStateful(t, spec, batches, cut); !slices.Equal(got, want) {
					t.Errorf("resumed after batch %d: %s", cut, cmp.Diff(want, got))
				}
			}
		})
	}
}

func statefulNode(t *testing.T, flow *weir.Dataflow, id string) *graph.StatefulSpec {
	t.Helper()
	for _, n := range graph.FlowOf(flow).Nodes() {
		if n.ID == id {
			return n.Spec.(*graph.StatefulSpec)
		}
	}
	t.Fatalf("no step %s", id)
	return nil
}

// flatMapNode runs batch through the FlatMapBatch step id of flow and returns its output.
// Each call makes the step anew, so the output buffer is not shared.
func flatMapNode(t *testing.T, flow *weir.Dataflow, id string, batch any) any {
	t.Helper()
	for _, n := range graph.FlowOf(flow).Nodes() {
		if n.ID == id {
			return n.Spec.(*graph.FlatMapSpec).New()(batch)
		}
	}
	t.Fatalf("no step %s", id)
	return nil
}

// driveStateful runs batches through a fresh runtime of spec, one activation each, then
// the end of stream, and returns the formatted output. After batch cut (unless -1) the
// runtime's snapshot is restored into a new runtime, which carries on.
func driveStateful(t *testing.T, spec *graph.StatefulSpec, batches []any, cut int) []string {
	t.Helper()
	var out []string
	collect := func(b any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		if b != nil {
			out = append(out, fmt.Sprint(b))
		}
	}
	rt := spec.New()
	rt.Track()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, b := range batches {
		collect(rt.Activate(b, now, false))
		if i == cut {
			changes, _, err := rt.Snapshot()
			if err != nil {
				t.Fatal(err)
			}
			rt = spec.New()
			rt.Track()
			for _, c := range changes {
				if !c.Deleted {
					if err := rt.Resume(c.Key, c.State); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
	}
	collect(rt.Activate(nil, now, true))
	return out
}
