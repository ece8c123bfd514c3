package op_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/run"
	"github.com/weirflow/weir/weirtest"
)

// pipe runs items through build with one worker and the given batch size and returns
// what comes out.
func pipe[X, Y any](t *testing.T, items []X, batch int, build func(weir.Stream[X]) weir.Stream[Y]) []Y {
	t.Helper()
	flow := weir.NewDataflow("f")
	out := weirtest.NewSink[Y]()
	op.Output("out", build(op.Input("in", flow, weirtest.NewSource(items...).BatchSize(batch))), out)
	weirtest.Run(t, flow, 1)
	return out.Items()
}

func TestStateless(t *testing.T) {
	lookups := 0
	tests := []struct {
		name string
		run  func(t *testing.T, batch int) any
		want any
	}{
		{"map", func(t *testing.T, b int) any {
			return pipe(t, []int{1, 2, 3}, b, func(s weir.Stream[int]) weir.Stream[string] {
				return op.Map("m", s, func(x int) string { return strconv.Itoa(x + 10) })
			})
		}, []string{"11", "12", "13"}},
		{"map_value", func(t *testing.T, b int) any {
			return pipe(t, []weir.KV[int]{{Key: "a", Value: 1}, {Key: "b", Value: 2}}, b, func(s weir.KeyedStream[int]) weir.KeyedStream[bool] {
				return op.MapValue("m", s, func(v int) bool { return v%2 == 0 })
			})
		}, []weir.KV[bool]{{Key: "a", Value: false}, {Key: "b", Value: true}}},
		{"flat_map", func(t *testing.T, b int) any {
			return pipe(t, []string{"hello world", "", "a b c"}, b, func(s weir.Stream[string]) weir.Stream[string] {
				return op.FlatMap("split", s, strings.Fields)
			})
		}, []string{"hello", "world", "a", "b", "c"}},
		{"flat_map_reused_slice", func(t *testing.T, b int) any {
			return pipe(t, []int{1, 2, 3}, b, func(s weir.Stream[int]) weir.Stream[int] {
				var scratch []int // fn may reuse its result: FlatMap copies it
				return op.FlatMap("rep", s, func(x int) []int {
					scratch = scratch[:0]
					for range x {
						scratch = append(scratch, x)
					}
					return scratch
				})
			})
		}, []int{1, 2, 2, 3, 3, 3}},
		{"flat_map_value", func(t *testing.T, b int) any {
			return pipe(t, []weir.KV[string]{{Key: "k", Value: "x y"}, {Key: "j", Value: ""}, {Key: "l", Value: "z"}}, b, func(s weir.KeyedStream[string]) weir.KeyedStream[string] {
				return op.FlatMapValue("split", s, strings.Fields)
			})
		}, []weir.KV[string]{{Key: "k", Value: "x"}, {Key: "k", Value: "y"}, {Key: "l", Value: "z"}}},
		{"flatten", func(t *testing.T, b int) any {
			return pipe(t, [][]int{{1, 2}, nil, {3}, {}}, b, func(s weir.Stream[[]int]) weir.Stream[int] {
				return op.Flatten("flat", s)
			})
		}, []int{1, 2, 3}},
		{"filter", func(t *testing.T, b int) any {
			return pipe(t, []int{0, 1, 2, 3, 4, 5}, b, func(s weir.Stream[int]) weir.Stream[int] {
				return op.Filter("odd", s, func(x int) bool { return x%2 == 1 })
			})
		}, []int{1, 3, 5}},
		{"filter_none", func(t *testing.T, b int) any {
			return pipe(t, []int{1, 2}, b, func(s weir.Stream[int]) weir.Stream[int] {
				return op.Filter("none", s, func(int) bool { return false })
			})
		}, []int(nil)},
		{"filter_value", func(t *testing.T, b int) any {
			return pipe(t, []weir.KV[int]{{Key: "a", Value: 1}, {Key: "b", Value: 2}, {Key: "c", Value: 3}}, b, func(s weir.KeyedStream[int]) weir.KeyedStream[int] {
				return op.FilterValue("big", s, func(v int) bool { return v >= 2 })
			})
		}, []weir.KV[int]{{Key: "b", Value: 2}, {Key: "c", Value: 3}}},
		{"filter_map", func(t *testing.T, b int) any {
			return pipe(t, []string{"1", "x", "3"}, b, func(s weir.Stream[string]) weir.Stream[int] {
				return op.FilterMap("parse", s, func(x string) (int, bool) {
					n, err := strconv.Atoi(x)
					return n, err == nil
				})
			})
		}, []int{1, 3}},
		{"filter_map_value", func(t *testing.T, b int) any {
			return pipe(t, []weir.KV[string]{{Key: "a", Value: "1"}, {Key: "b", Value: "?"}, {Key: "c", Value: "3"}}, b, func(s weir.KeyedStream[string]) weir.KeyedStream[int] {
				return op.FilterMapValue("parse", s, func(x string) (int, bool) {
					n, err := strconv.Atoi(x)
					return n, err == nil
				})
			})
		}, []weir.KV[int]{{Key: "a", Value: 1}, {Key: "c", Value: 3}}},
		{"key_on", func(t *testing.T, b int) any {
			return pipe(t, []string{"apple", "bob"}, b, func(s weir.Stream[string]) weir.KeyedStream[string] {
				return op.KeyOn("first", s, func(x string) string { return x[:1] })
			})
		}, []weir.KV[string]{{Key: "a", Value: "apple"}, {Key: "b", Value: "bob"}}},
		{"key_rm", func(t *testing.T, b int) any {
			return pipe(t, []weir.KV[int]{{Key: "a", Value: 1}, {Key: "b", Value: 2}}, b, func(s weir.KeyedStream[int]) weir.Stream[int] {
				return op.KeyRm("rm", s)
			})
		}, []int{1, 2}},
		{"chain", func(t *testing.T, b int) any {
			return pipe(t, []int{1, 2, 3, 4, 5, 6, 7}, b, func(s weir.Stream[int]) weir.Stream[int] {
				s = op.Map("double", s, func(x int) int { return 2 * x })
				s = op.Filter("not_six", s, func(x int) bool { return x%6 != 0 })
				return op.FlatMap("twice", s, func(x int) []int { return []int{x, -x} })
			})
		}, []int{2, -2, 4, -4, 8, -8, 10, -10, 14, -14}},
		{"inspect_with", func(t *testing.T, b int) any {
			var seen []string
			out := pipe(t, []int{1, 2}, b, func(s weir.Stream[int]) weir.Stream[int] {
				return op.InspectWith("look", s, func(step string, x int) {
					seen = append(seen, fmt.Sprintf("%s: %d", step, x))
				})
			})
			return append(seen, fmt.Sprint(out))
		}, []string{"f.look: 1", "f.look: 2", "[1 2]"}},
		{"enrich_cached", func(t *testing.T, b int) any {
			lookups = 0
			return pipe(t, []string{"dog", "cat", "dog", "dog"}, b, func(s weir.Stream[string]) weir.Stream[string] {
				return op.EnrichCached("icon", s, 0,
					func(k string) (string, error) {
						lookups++
						return fmt.Sprintf("%s_v%d.png", k, lookups), nil
					},
					func(c *op.Cache[string, string], x string) string {
						url, err := c.Get(x)
						if err != nil {
							t.Error(err)
						}
						return url
					})
			})
		}, []string{"dog_v1.png", "cat_v2.png", "dog_v1.png", "dog_v1.png"}},
	}
	for _, tt := range tests {
		for _, batch := range []int{1, 2, 100} {
			t.Run(fmt.Sprintf("%s/batch=%d", tt.name, batch), func(t *testing.T) {
				if diff := cmp.Diff(tt.want, tt.run(t, batch)); diff != "" {
					t.Errorf("output (-want +got):\n%s", diff)
				}
			})
		}
	}
}

// TestStatelessWorkers spreads items over several workers, so that every worker's copy of
// an operator reuses its own buffers concurrently (run with -race).
func TestStatelessWorkers(t *testing.T) {
	const n = 2000
	items := make([]int, n)
	for i := range items {
		items[i] = i
	}
	var want []int
	for _, x := range items {
		if y := 3 * x; y%2 == 0 {
			want = append(want, y, y+1)
		}
	}
	for _, workers := range []int{1, 2, 4} {
		t.Run(fmt.Sprintf("workers=%d", workers), func(t *testing.T) {
			flow := weir.NewDataflow("f")
			out := weirtest.NewSink[int]()
			s := op.Redistribute("spread", op.Input("in", flow, weirtest.NewSource(items...).BatchSize(64)))
			s = op.Map("triple", s, func(x int) int { return 3 * x })
			s = op.Filter("even", s, func(x int) bool { return x%2 == 0 })
			s = op.FlatMap("pair", s, func(x int) []int { return []int{x, x + 1} })
			op.Output("out", s, out)
			weirtest.Run(t, flow, workers)
			got := out.Items()
			slices.Sort(got)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("output (-want +got):\n%s", diff)
			}
		})
	}
}

var errUserFn = errors.New("boom")

// TestStepErrors checks that a panic in a user function names the composite's inner step
// and that errors.Is reaches the panic value.
func TestStepErrors(t *testing.T) {
	boom := func() { panic(errUserFn) }
	tests := []struct {
		name  string
		build func(s weir.Stream[int])
		step  string
	}{
		{"map", func(s weir.Stream[int]) {
			dropAll("out", op.Map("add_one", s, func(x int) int { boom(); return x + 1 }))
		}, "test_df.add_one.flat_map_batch"},
		{"filter", func(s weir.Stream[int]) {
			dropAll("out", op.Filter("keep", s, func(int) bool { boom(); return true }))
		}, "test_df.keep.flat_map_batch"},
		{"nested_composite", func(s weir.Stream[int]) {
			outer := weir.Composite("outer", s, func(in weir.Stream[int]) weir.Stream[int] {
				return op.KeyRm("rm", op.MapValue("value", op.KeyOn("key", in, func(int) string { return "k" }),
					func(x int) int { boom(); return x }))
			})
			dropAll("out", outer)
		}, "test_df.outer.value.flat_map_batch"},
		{"inspect_with", func(s weir.Stream[int]) {
			op.InspectWith("look", s, func(string, int) { boom() })
		}, "test_df.look.inspect_debug"},
		{"enrich_cached_lookup", func(s weir.Stream[int]) {
			dropAll("out", op.EnrichCached("enrich", s, time.Minute,
				func(int) (int, error) { boom(); return 0, nil },
				func(c *op.Cache[int, int], x int) int { v, _ := c.Get(x); return v }))
		}, "test_df.enrich.flat_map_batch"},
		{"try_map", func(s weir.Stream[int]) {
			ok, failed := op.TryMap("try", s, func(x int) (int, error) { boom(); return x, nil })
			dropAll("ok", ok)
			dropAll("failed", failed)
		}, "test_df.try.try"},
		{"route", func(s weir.Stream[int]) {
			r := op.Route("route", s, []string{"a"}, func(int) string { boom(); return "a" })
			dropAll("a", r.Out("a"))
		}, "test_df.route.route"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			flow := weir.NewDataflow("test_df")
			tt.build(op.Input("in", flow, weirtest.NewSource(1, 2)))
			err := run.Run(context.Background(), flow)
			if !errors.Is(err, errUserFn) {
				t.Fatalf("run error %v does not wrap %v", err, errUserFn)
			}
			var se *weir.StepError
			if !errors.As(err, &se) || se.Step != tt.step {
				t.Fatalf("run error %v: want a *weir.StepError for step %s", err, tt.step)
			}
			if !strings.Contains(err.Error(), tt.step) {
				t.Errorf("error %q does not name %s", err, tt.step)
			}
		})
	}
}

func TestBuildErrors(t *testing.T) {
	tests := []struct {
		name  string
		build func(s weir.Stream[int])
		want  string // in the error; "" for none
	}{
		{"duplicate_top_level", func(s weir.Stream[int]) {
			dropAll("a", op.Map("m", s, func(x int) int { return x }))
			dropAll("b", op.Map("m", s, func(x int) int { return x }))
		}, `duplicate step id "f.m"`},
		{"duplicate_in_composite", func(s weir.Stream[int]) {
			dropAll("out", weir.Composite("c", s, func(in weir.Stream[int]) weir.Stream[int] {
				return op.Map("m", op.Map("m", in, func(x int) int { return x }), func(x int) int { return x })
			}))
		}, `duplicate step id "f.c.m"`},
		{"composite_clashes_with_step", func(s weir.Stream[int]) {
			dropAll("m", op.Map("m", s, func(x int) int { return x }))
		}, `duplicate step id "f.m"`},
		{"same_inner_id_in_two_composites", func(s weir.Stream[int]) {
			double := func(id string, s weir.Stream[int]) weir.Stream[int] {
				return weir.Composite(id, s, func(in weir.Stream[int]) weir.Stream[int] {
					return op.Map("m", in, func(x int) int { return 2 * x })
				})
			}
			dropAll("a", double("c1", s))
			dropAll("b", double("c2", s))
		}, ""},
		{"invalid_id", func(s weir.Stream[int]) {
			dropAll("out", op.Filter("a.b", s, func(int) bool { return true }))
		}, `step id "a.b" in f`},
		{"route_duplicate_name", func(s weir.Stream[int]) {
			op.Route("r", s, []string{"x", "y", "x"}, func(int) string { return "x" })
		}, `step f.r: duplicate output name "x"`},
		{"route_empty_name", func(s weir.Stream[int]) {
			op.Route("r", s, []string{"x", ""}, func(int) string { return "x" })
		}, `step f.r: empty output name`},
		{"route_no_names", func(s weir.Stream[int]) {
			op.Route("r", s, nil, func(int) string { return "x" })
		}, `step f.r: route needs at least one output name`},
		{"route_name_with_dot", func(s weir.Stream[int]) {
			op.Route("r", s, []string{"x.y"}, func(int) string { return "x.y" })
		}, `step id "x.y" in f.r.out`},
		{"route_unknown_out", func(s weir.Stream[int]) {
			r := op.Route("r", s, []string{"x"}, func(int) string { return "x" })
			dropAll("z", r.Out("z"))
		}, `step f.r has no output "z"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			flow := weir.NewDataflow("f")
			tt.build(op.Input("in", flow, weirtest.NewSource(1)))
			err := flow.Err()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("build error %v, want none", err)
				}
				weirtest.Run(t, flow, 1)
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("build error %v, want one containing %q", err, tt.want)
			}
			if runErr := run.Run(context.Background(), flow); runErr == nil || runErr.Error() != err.Error() {
				t.Errorf("run error %v, want the build error %v", runErr, err)
			}
		})
	}
}

func TestRaises(t *testing.T) {
	tests := []struct {
		name    string
		items   []int
		wantErr bool
	}{
		{"no_items", []int{1, 3}, false},
		{"an_item", []int{1, 2, 3}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			flow := weir.NewDataflow("f")
			s := op.Input("in", flow, weirtest.NewSource(tt.items...))
			// Raises is the only output of the flow: it counts as one.
			op.Raises("boom", op.Filter("even", s, func(x int) bool { return x%2 == 0 }))
			err := run.Run(context.Background(), flow)
			if !tt.wantErr {
				if err != nil {
					t.Fatalf("run error %v, want none", err)
				}
				return
			}
			if !errors.Is(err, op.ErrRaised) {
				t.Fatalf("run error %v, want one wrapping op.ErrRaised", err)
			}
			if msg := err.Error(); !strings.Contains(msg, "f.boom") || !strings.Contains(msg, ": 2") {
				t.Errorf("error %q should name step f.boom and item 2", msg)
			}
		})
	}
}

// TestEnrichCachedTTL checks expiry on fake time: values are looked up again once older
// than the TTL, and not before.
func TestEnrichCachedTTL(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var (
			mu      sync.Mutex
			lookups []string
		)
		lookup := func(k string) (string, error) {
			mu.Lock()
			defer mu.Unlock()
			lookups = append(lookups, k)
			return fmt.Sprintf("%s%d", k, len(lookups)), nil
		}
		src := weirtest.NewSource("a", "b").
			Pause(30*time.Second).Then("a"). // 30s old: cached
			Pause(2*time.Minute).Then("a", "b", "a")
		flow := weir.NewDataflow("f")
		out := weirtest.NewSink[string]()
		enriched := op.EnrichCached("enrich", op.Input("in", flow, src), time.Minute, lookup,
			func(c *op.Cache[string, string], x string) string {
				v, err := c.Get(x)
				if err != nil {
					t.Error(err)
				}
				return v
			})
		op.Output("out", enriched, out)
		weirtest.Run(t, flow, 1)

		if diff := cmp.Diff([]string{"a1", "b2", "a1", "a3", "b4", "a3"}, out.Items()); diff != "" {
			t.Errorf("output (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"a", "b", "a", "b"}, lookups); diff != "" {
			t.Errorf("lookups (-want +got):\n%s", diff)
		}
	})
}

// TestEnrichCachedErrorsAndRemove checks that lookup errors are not cached and that Remove
// forces a new lookup.
func TestEnrichCachedErrorsAndRemove(t *testing.T) {
	calls := 0
	lookup := func(k string) (int, error) {
		calls++
		if calls == 1 {
			return 0, errors.New("unavailable")
		}
		return calls, nil
	}
	got := pipe(t, []string{"k", "k", "k", "drop", "k"}, 2, func(s weir.Stream[string]) weir.Stream[string] {
		return op.EnrichCached("enrich", s, 0, lookup, func(c *op.Cache[string, int], x string) string {
			if x == "drop" {
				c.Remove("k")
				return "dropped"
			}
			v, err := c.Get(x)
			if err != nil {
				return "error: " + err.Error()
			}
			return strconv.Itoa(v)
		})
	})
	want := []string{"error: unavailable", "2", "2", "dropped", "3"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
}

// dropAll ends a stream in a step that drops its items, so that a flow has an output.
func dropAll[X any](id string, s weir.Stream[X]) {
	op.InspectWith(id, s, func(string, X) {})
}
