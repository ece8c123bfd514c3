package op_test

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"strconv"
	"strings"
	"testing"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/weirtest"
)

// joinEv is a value for one side of a join.
type joinEv struct {
	Side  int
	Key   string
	Value int
}

// side selects the values of one side from a stream of events.
func joinSide(s weir.Stream[joinEv], i int) weir.KeyedStream[int] {
	return op.FilterMap("side"+strconv.Itoa(i), s, func(e joinEv) (weir.KV[int], bool) {
		return kvOf(e.Key, e.Value), e.Side == i
	})
}

func TestJoinModes(t *testing.T) {
	in := []joinEv{{0, "k", 1}, {0, "k", 2}, {1, "k", 10}, {0, "j", 3}, {1, "k", 20}, {0, "k", 4}}
	tests := []struct {
		insert op.JoinInsert
		emit   op.JoinEmit
		want   string
	}{
		{op.InsertFirst, op.EmitComplete, "(k, [1 10]) (k, [4 20])"},
		{op.InsertFirst, op.EmitFinal, "(j, [3 <none>]) (k, [1 10])"},
		{op.InsertFirst, op.EmitRunning, "(k, [1 <none>]) (k, [1 <none>]) (k, [1 10]) (j, [3 <none>]) (k, [1 10]) (k, [1 10])"},
		{op.InsertLast, op.EmitComplete, "(k, [2 10]) (k, [4 20])"},
		{op.InsertLast, op.EmitFinal, "(j, [3 <none>]) (k, [4 20])"},
		{op.InsertLast, op.EmitRunning, "(k, [1 <none>]) (k, [2 <none>]) (k, [2 10]) (j, [3 <none>]) (k, [2 20]) (k, [4 20])"},
		{op.InsertProduct, op.EmitComplete, "(k, [1 10]) (k, [2 10]) (k, [4 20])"},
		{op.InsertProduct, op.EmitFinal, "(j, [3 <none>]) (k, [1 10]) (k, [1 20]) (k, [2 10]) (k, [2 20]) (k, [4 10]) (k, [4 20])"},
		{op.InsertProduct, op.EmitRunning, "(k, [1 <none>]) (k, [1 <none>]) (k, [2 <none>]) (k, [1 10]) (k, [2 10]) (j, [3 <none>]) " +
			"(k, [1 10]) (k, [1 20]) (k, [2 10]) (k, [2 20]) (k, [1 10]) (k, [1 20]) (k, [2 10]) (k, [2 20]) (k, [4 10]) (k, [4 20])"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%v_%v", tt.insert, tt.emit), func(t *testing.T) {
			got := runItems(t, 1, 1, in, func(s weir.Stream[joinEv]) weir.Stream[string] {
				return formatted(op.Join("join", []weir.KeyedStream[int]{joinSide(s, 0), joinSide(s, 1)}, op.InsertMode(tt.insert), op.EmitMode(tt.emit)))
			})
			diffOut(t, strings.Join(got, " "), tt.want)
		})
	}
}

// A join's values carry over the end of a stream to the run that continues it, whether
// the end left them as they were (EmitComplete, EmitRunning: their keys are not snapshotted
// again at the end) or emitted and dropped them (EmitFinal). The second run's item is
// another key's, so that the first run's keys are untouched in its epochs.
func TestJoinResumesAfterEOF(t *testing.T) {
	src := weirtest.NewSource(joinEv{0, "a", 1}, joinEv{0, "b", 2}).EOF().
		Then(joinEv{0, "z", 3}).EOF().
		Then(joinEv{1, "a", 10}, joinEv{1, "b", 20})
	tests := []struct {
		emit op.JoinEmit
		want []string // each run's output
	}{
		{op.EmitComplete, []string{"", "", "(a, [1 10]) (b, [2 20])"}},
		{op.EmitRunning, []string{"(a, [1 <none>]) (b, [2 <none>])", "(z, [3 <none>])", "(a, [1 10]) (b, [2 20])"}},
		{op.EmitFinal, []string{"(a, [1 <none>]) (b, [2 <none>])", "(z, [3 <none>])", "(a, [<none> 10]) (b, [<none> 20])"}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.emit), func(t *testing.T) {
			flow := weir.NewDataflow("f")
			s := op.Input("in", flow, src)
			out := weirtest.NewSink[string]()
			op.Output("out", formatted(op.Join("join", []weir.KeyedStream[int]{joinSide(s, 0), joinSide(s, 1)}, op.EmitMode(tt.emit))), out)
			rec := weirtest.NewRecovery(t, 1)
			for i, want := range tt.want {
				out.Clear()
				rec.Run(t, flow, 1)
				if got := strings.Join(out.Items(), " "); got != want {
					t.Errorf("run %d emitted %q, want %q", i+1, got, want)
				}
			}
		})
	}
}

func TestJoinDefaultsAreLastComplete(t *testing.T) {
	in := []joinEv{{0, "k", 1}, {0, "k", 2}, {1, "k", 10}, {1, "k", 20}, {0, "k", 3}, {1, "x", 5}}
	got := runItems(t, 1, 1, in, func(s weir.Stream[joinEv]) weir.Stream[string] {
		return formatted(op.Join("join", []weir.KeyedStream[int]{joinSide(s, 0), joinSide(s, 1)}))
	})
	diffOut(t, strings.Join(got, " "), "(k, [2 10]) (k, [3 20])")
}

func TestJoinThreeSides(t *testing.T) {
	in := []joinEv{{2, "k", 100}, {0, "k", 1}, {2, "k", 200}, {1, "k", 10}, {0, "j", 2}, {2, "j", 300}}
	tests := []struct {
		name string
		opts []op.JoinOption
		want string
	}{
		{"complete", nil, "(k, [1 10 200])"},
		{"product_final", []op.JoinOption{op.InsertMode(op.InsertProduct), op.EmitMode(op.EmitFinal)},
			"(j, [2 <none> 300]) (k, [1 10 100]) (k, [1 10 200])"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := runItems(t, 1, 1, in, func(s weir.Stream[joinEv]) weir.Stream[string] {
				return formatted(op.Join("join", []weir.KeyedStream[int]{joinSide(s, 0), joinSide(s, 1), joinSide(s, 2)}, tt.opts...))
			})
			diffOut(t, strings.Join(got, " "), tt.want)
		})
	}
}

// TestJoinMissingIsNotZero checks that a side holding a zero value and a side without
// a value differ, for same-typed and mixed-typed joins.
func TestJoinMissingIsNotZero(t *testing.T) {
	in := []joinEv{{0, "k", 0}, {1, "j", 0}}
	rows := runItems(t, 1, 1, in, func(s weir.Stream[joinEv]) weir.KeyedStream[[]op.Opt[int]] {
		return op.Join("join", []weir.KeyedStream[int]{joinSide(s, 0), joinSide(s, 1)}, op.EmitMode(op.EmitFinal))
	})
	want := []weir.KV[[]op.Opt[int]]{kvOf("j", []op.Opt[int]{{}, op.Some(0)}), kvOf("k", []op.Opt[int]{op.Some(0), {}})}
	diffOut(t, rows, want)

	rows2 := runItems(t, 1, 1, in, func(s weir.Stream[joinEv]) weir.KeyedStream[op.Row2[int, string]] {
		strs := op.MapValue("str", joinSide(s, 1), func(v int) string { return "" })
		return op.Join2("join", joinSide(s, 0), strs, op.EmitMode(op.EmitFinal))
	})
	want2 := []weir.KV[op.Row2[int, string]]{
		kvOf("j", op.Row2[int, string]{B: op.Some("")}),
		kvOf("k", op.Row2[int, string]{A: op.Some(0)}),
	}
	diffOut(t, rows2, want2)
}

func TestJoinMixedTypes(t *testing.T) {
	type user struct{ Name string }
	users := weirtest.NewSource(kvOf("u1", user{"ann"}), kvOf("u2", user{"bob"}))
	flow := weir.NewDataflow("f")
	u := op.Input("users", flow, users)
	logins := op.Input("logins", flow, weirtest.NewSource(kvOf("u1", 3), kvOf("u2", 0), kvOf("u1", 5)))
	scores := op.Input("scores", flow, weirtest.NewSource(kvOf("u2", 1.5), kvOf("u3", 2.0)))
	out2 := weirtest.NewSink[weir.KV[op.Row2[user, int]]]()
	out3 := weirtest.NewSink[weir.KV[op.Row3[user, int, float64]]]()
	op.Output("out2", op.Join2("j2", u, logins, op.InsertMode(op.InsertProduct), op.EmitMode(op.EmitFinal)), out2)
	op.Output("out3", op.Join3("j3", u, logins, scores, op.EmitMode(op.EmitFinal)), out3)
	weirtest.Run(t, flow, 2)

	want2 := []weir.KV[op.Row2[user, int]]{
		kvOf("u1", op.Row2[user, int]{A: op.Some(user{"ann"}), B: op.Some(3)}),
		kvOf("u1", op.Row2[user, int]{A: op.Some(user{"ann"}), B: op.Some(5)}),
		kvOf("u2", op.Row2[user, int]{A: op.Some(user{"bob"}), B: op.Some(0)}),
	}
	diffOut(t, sortedStrings(out2.Items()), sortedStrings(want2))
	want3 := []weir.KV[op.Row3[user, int, float64]]{
		kvOf("u1", op.Row3[user, int, float64]{A: op.Some(user{"ann"}), B: op.Some(5)}),
		kvOf("u2", op.Row3[user, int, float64]{A: op.Some(user{"bob"}), B: op.Some(0), C: op.Some(1.5)}),
		kvOf("u3", op.Row3[user, int, float64]{C: op.Some(2.0)}),
	}
	diffOut(t, sortedStrings(out3.Items()), sortedStrings(want3))
}

func TestJoinBuildErrors(t *testing.T) {
	tests := []struct {
		name  string
		build func(s weir.KeyedStream[int])
		want  string
	}{
		{"one_side", func(s weir.KeyedStream[int]) { op.Join("j", []weir.KeyedStream[int]{s}) },
			"weir: step f.j: a join needs at least two sides, not 1"},
		{"insert_mode", func(s weir.KeyedStream[int]) { op.Join2("j", s, s, op.InsertMode(op.JoinInsert(7))) },
			"weir: step f.j: unknown join insert mode JoinInsert(7)"},
		{"emit_mode", func(s weir.KeyedStream[int]) { op.Join3("j", s, s, s, op.EmitMode(0)) },
			"weir: step f.j: unknown join emit mode JoinEmit(0)"},
		{"duplicate_id", func(s weir.KeyedStream[int]) {
			op.Join("j", []weir.KeyedStream[int]{s, s})
			op.Join("j", []weir.KeyedStream[int]{s, s})
		}, `weir: duplicate step id "f.j"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			flow := weir.NewDataflow("f")
			tt.build(op.Input("in", flow, weirtest.NewSource[weir.KV[int]]()))
			if err := flow.Err(); err == nil || err.Error() != tt.want {
				t.Errorf("build error = %v, want %q", err, tt.want)
			}
		})
	}
}

// An unknown mode stays a build error when a valid one of the same setting follows it:
// the caller asked for something that does not exist.
func TestJoinUnknownModeNotOverridden(t *testing.T) {
	flow := weir.NewDataflow("f")
	s := op.Input("in", flow, weirtest.NewSource[weir.KV[int]]())
	op.Join2("j", s, s, op.EmitMode(9), op.EmitMode(op.EmitFinal))
	if err := flow.Err(); err == nil || err.Error() != "weir: step f.j: unknown join emit mode JoinEmit(9)" {
		t.Errorf("build error = %v, want the unknown emit mode", err)
	}
}

// A join's settings are its options: package op exports no config struct a caller could
// fill, whose zero fields (no insert mode, no emit mode) would be invalid rather than the
// defaults.
func TestNoExportedJoinConfig(t *testing.T) {
	pkgs, err := parser.ParseDir(token.NewFileSet(), ".", func(fi fs.FileInfo) bool {
		return !strings.HasSuffix(fi.Name(), "_test.go")
	}, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range pkgs["op"].Files {
		for name, obj := range f.Scope.Objects {
			if ast.IsExported(name) && obj.Kind == ast.Typ && strings.HasSuffix(name, "Config") {
				t.Errorf("package op exports the type %s: settings are options", name)
			}
		}
	}
}
