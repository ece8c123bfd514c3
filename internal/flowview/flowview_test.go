package flowview_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/internal/flowview"
	"github.com/weirflow/weir/internal/flowview/flowviewtest"
	"github.com/weirflow/weir/internal/graph"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/sink"
	"github.com/weirflow/weir/weirtest"
)

type event struct{ User string }

type parted struct{}

func (parted) Partitions(context.Context) ([]string, error) { return []string{"a", "b"}, nil }
func (parted) Build(context.Context, sink.Part, []byte) (sink.Partition[weir.KV[int]], error) {
	return nil, errors.New("not used")
}

// sample declares a flow with every kind of exchange, a branch, a merge, nested
// composites and two fused Maps.
func sample() *weir.Dataflow {
	flow := weir.NewDataflow("f")
	in := op.Input("in", flow, weirtest.NewSource(event{"a"}))
	users := op.Map("user", in, func(e event) string { return e.User })
	upper := op.Map("upper", users, strings.ToUpper)
	long, short := op.Branch("long", upper, func(s string) bool { return len(s) > 3 })
	both := op.Merge("both", long, short)
	counts := op.CountFinal("count", op.Redistribute("spread", both), func(s string) string { return s })
	op.Output("parted", counts, sink.Sink[weir.KV[int]](parted{}))
	op.Output("print", counts, weirtest.NewSink[weir.KV[int]]())
	return flow
}

func describe(t *testing.T, flow *weir.Dataflow) *flowview.Graph {
	t.Helper()
	g, err := flowview.DescribeFlow(graph.FlowOf(flow))
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestDescribe(t *testing.T) {
	g := describe(t, sample())
	if g.Version != 1 || g.Flow != "f" {
		t.Errorf("version %d flow %q, want 1 f", g.Version, g.Flow)
	}
	steps := map[string]flowview.Step{}
	for _, s := range g.Steps {
		steps[s.ID] = s
	}
	for _, want := range []flowview.Step{
		{ID: "f.in", Name: "in", Scope: "f", Kind: "input", ItemType: "flowview_test.event", Outputs: 1, Partitioned: true},
		{ID: "f.user.flat_map_batch", Name: "flat_map_batch", Scope: "f.user", Kind: "flat_map_batch", ItemType: "flowview_test.event", Inputs: 1, Outputs: 1},
		{ID: "f.upper.flat_map_batch", Name: "flat_map_batch", Scope: "f.upper", Kind: "flat_map_batch", ItemType: "string", Inputs: 1, Outputs: 1, FusedInto: "f.user.flat_map_batch"},
		{ID: "f.long", Name: "long", Scope: "f", Kind: "branch", ItemType: "string", Inputs: 1, Outputs: 2},
		{ID: "f.both", Name: "both", Scope: "f", Kind: "merge", ItemType: "string", Inputs: 2, Outputs: 1},
		{ID: "f.count.sum.fold_final.stateful.stateful_batch", Name: "stateful_batch", Scope: "f.count.sum.fold_final.stateful", Kind: "stateful_batch", ItemType: "weir.KV[int]", Inputs: 1, Outputs: 1},
		{ID: "f.parted", Name: "parted", Scope: "f", Kind: "output", ItemType: "weir.KV[int]", Inputs: 1, Partitioned: true},
		{ID: "f.print", Name: "print", Scope: "f", Kind: "output", ItemType: "weir.KV[int]", Inputs: 1},
	} {
		if got := steps[want.ID]; got != want {
			t.Errorf("step %s:\n got %+v\nwant %+v", want.ID, got, want)
		}
	}
	if len(g.Steps) != 11 {
		t.Errorf("%d steps, want 11", len(g.Steps))
	}
	wantScopes := []flowview.Scope{{"f.user", "user", "f"}, {"f.upper", "upper", "f"}, {"f.count", "count", "f"},
		{"f.count.init_count", "init_count", "f.count"}, {"f.count.sum", "sum", "f.count"},
		{"f.count.sum.fold_final", "fold_final", "f.count.sum"}, {"f.count.sum.fold_final.stateful", "stateful", "f.count.sum.fold_final"}}
	if !slices.Equal(g.Scopes, wantScopes) {
		t.Errorf("scopes:\n got %+v\nwant %+v", g.Scopes, wantScopes)
	}
	exchanges := map[string]string{}
	for _, e := range g.Edges {
		exchanges[e.From+"->"+e.To+":"+strconv.Itoa(e.FromPort)+strconv.Itoa(e.ToPort)] = e.Exchange + " " + e.ItemType
	}
	for k, want := range map[string]string{
		"f.in->f.user.flat_map_batch:00": "forward flowview_test.event",
		"f.long->f.both:00":              "forward string",
		"f.long->f.both:11":              "forward string",
		"f.both->f.spread:00":            "round_robin string",
		"f.count.sum.pre_reduce->f.count.sum.fold_final.stateful.stateful_batch:00": "by_key weir.KV[int]",
		"f.count.sum.fold_final.stateful.stateful_batch->f.parted:00":               "by_partition weir.KV[int]",
		"f.count.sum.fold_final.stateful.stateful_batch->f.print:00":                "forward weir.KV[int]",
	} {
		if got := exchanges[k]; got != want {
			t.Errorf("edge %s: %q, want %q", k, got, want)
		}
	}
	if len(g.Edges) != 11 {
		t.Errorf("%d edges, want 11", len(g.Edges))
	}
}

// TestJSONFields pins the JSON form's field names, which the package doc promises stable.
func TestJSONFields(t *testing.T) {
	var buf bytes.Buffer
	if err := flowview.WriteJSON(&buf, describe(t, sample())); err != nil {
		t.Fatal(err)
	}
	var raw struct {
		Version int              `json:"version"`
		Flow    string           `json:"flow"`
		Scopes  []map[string]any `json:"scopes"`
		Steps   []map[string]any `json:"steps"`
		Edges   []map[string]any `json:"edges"`
	}
	if err := json.Unmarshal(buf.Bytes(), &raw); err != nil {
		t.Fatal(err)
	}
	keys := func(m map[string]any) string { return strings.Join(slices.Sorted(maps.Keys(m)), ",") }
	if got := keys(raw.Scopes[0]); got != "id,name,parent" {
		t.Errorf("scope fields %s", got)
	}
	if got := keys(raw.Steps[0]); got != "id,inputs,item_type,kind,name,outputs,partitioned,scope" {
		t.Errorf("input step fields %s", got)
	}
	if got := keys(raw.Steps[2]); got != "fused_into,id,inputs,item_type,kind,name,outputs,scope" {
		t.Errorf("fused step fields %s", got)
	}
	if got := keys(raw.Edges[0]); got != "exchange,from,from_port,id,item_type,to,to_port" {
		t.Errorf("edge fields %s", got)
	}
}

func TestShortType(t *testing.T) {
	g := describe(t, func() *weir.Dataflow {
		flow := weir.NewDataflow("f")
		in := op.Input("in", flow, weirtest.NewSource(weir.KV[map[string][]event]{}))
		op.Output("out", in, weirtest.NewSink[weir.KV[map[string][]event]]())
		return flow
	}())
	if got, want := g.Steps[0].ItemType, "weir.KV[map[string][]flowview_test.event]"; got != want {
		t.Errorf("item type %q, want %q", got, want)
	}
}

func TestDescribeFlowError(t *testing.T) {
	flow := weir.NewDataflow("f")
	op.Input("in", flow, weirtest.NewSource(1))
	if _, err := flowview.DescribeFlow(graph.FlowOf(flow)); err == nil {
		t.Error("a flow without an output described without error")
	}
}

// odd declares a flow whose step ids hold the characters drawings must escape.
func odd() *weir.Dataflow {
	flow := weir.NewDataflow(`o"d<d>`)
	in := op.Input(`in "quoted" <b>#1;&amp`, flow, weirtest.NewSource(1))
	sc := flow.Scope().Nest(`scope "x" {y}`)
	m := op.Map(`back\slash|pipe`, weir.In(sc, in), func(i int) int { return i })
	op.Output("end -->|x| --> ;", m, weirtest.NewSink[int]())
	return flow
}

// TestMermaidParses parses with Mermaid's own parser the drawings of the sample flow, of
// a flow with ids to escape, and the golden files of weir's examples, in one run of Node.
func TestMermaidParses(t *testing.T) {
	diagrams := map[string][]byte{}
	for name, flow := range map[string]*weir.Dataflow{"sample": sample(), "odd": odd()} {
		var b bytes.Buffer
		if err := flowview.WriteMermaid(&b, describe(t, flow)); err != nil {
			t.Fatal(err)
		}
		diagrams[name] = b.Bytes()
	}
	for path, d := range exampleGoldens(t) {
		diagrams[path] = d
	}
	flowviewtest.CheckMermaid(t, diagrams)
}

// exampleGoldens returns the Mermaid golden files of weir's examples, by path.
func exampleGoldens(t *testing.T) map[string][]byte {
	t.Helper()
	goldens, err := filepath.Glob("../../examples/*/testdata/graph.mermaid.golden")
	if err != nil || len(goldens) < 5 {
		t.Fatalf("the examples' Mermaid golden files: %v %v", goldens, err)
	}
	m := map[string][]byte{}
	for _, path := range goldens {
		d, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		m[path] = d
	}
	return m
}

func TestEscaping(t *testing.T) {
	g := describe(t, odd())
	var m, d bytes.Buffer
	if err := flowview.WriteMermaid(&m, g); err != nil {
		t.Fatal(err)
	}
	if err := flowview.WriteDOT(&d, g); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`  n0(["in #quot;quoted#quot; #lt;b#gt;#35;1;#amp;amp<br/>input · int · partitioned"])`,
		`  subgraph s0 ["scope #quot;x#quot; {y}"]`,
		`  n2[/"end --#gt;|x| --#gt; ;<br/>output · int"/]`,
	} {
		if !strings.Contains(m.String(), want+"\n") {
			t.Errorf("no line %q in:\n%s", want, m.String())
		}
	}
	for _, want := range []string{
		`digraph "o\"d<d>" {`,
		`  n0 [label="in \"quoted\" <b>#1;&amp\ninput · int · partitioned", shape=invhouse];`,
		`      n1 [label="flat_map_batch\nint", shape=box];`,
		`      label="back\\slash|pipe";`,
	} {
		if !strings.Contains(d.String(), want+"\n") {
			t.Errorf("no line %q in:\n%s", want, d.String())
		}
	}
}
