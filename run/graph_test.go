package run

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/source"
)

// TestGraphCommand prints a flow with the graph sub-command in each format, with the
// program's own flags and arguments after it, and checks that nothing runs.
func TestGraphCommand(t *testing.T) {
	build := func(ran *bool) *weir.Dataflow {
		flow := weir.NewDataflow("g")
		in := op.Input("in", flow, source.Lines("a b\n"))
		words := op.FlatMap("split", in, func(s string) []string { *ran = true; return strings.Fields(s) })
		op.Output("out", op.CountFinal("count", words, func(w string) string { return w }), discard[weir.KV[int]]())
		return flow
	}
	for _, tc := range []struct {
		args []string
		want string // a line of the output
		rest []string
	}{
		{args: []string{"graph"}, want: "flowchart TD"},
		{args: []string{"graph", "--format", "dot", "-w", "2", "in.txt"}, want: `digraph "g" {`, rest: []string{"in.txt"}},
		{args: []string{"graph", "-f=JSON", "--limit", "3"}, want: `  "flow": "g",`},
		{args: []string{"graph", "--format=mermaid", "--", "-x"}, want: `  n3 -->|"by key"| n4`, rest: []string{"-x"}},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			cl := newCommandLine("prog")
			limit := cl.fs.Int("limit", 0, "the program's own flag")
			var stdout, stderr bytes.Buffer
			ran := false
			code := main(context.Background(), cl, build(&ran), tc.args, &stdout, &stderr, nil)
			if code != 0 || stderr.Len() > 0 {
				t.Fatalf("status %d, stderr %q", code, stderr.String())
			}
			if ran {
				t.Error("the flow ran")
			}
			if !strings.Contains("\n"+stdout.String(), "\n"+tc.want+"\n") {
				t.Errorf("no line %q in:\n%s", tc.want, stdout.String())
			}
			if got := cl.fs.Args(); strings.Join(got, " ") != strings.Join(tc.rest, " ") {
				t.Errorf("arguments %q, want %q", got, tc.rest)
			}
			if strings.Contains(strings.Join(tc.args, " "), "limit") && *limit != 3 {
				t.Errorf("--limit %d, want 3", *limit)
			}
			if strings.Contains(tc.want, `"flow"`) && !json.Valid(stdout.Bytes()) {
				t.Errorf("invalid JSON:\n%s", stdout.String())
			}
		})
	}
}

func TestGraphCommandErrors(t *testing.T) {
	good := weir.NewDataflow("g")
	op.Output("out", op.Input("in", good, source.Lines("a\n")), discard[string]())
	noOutput := weir.NewDataflow("g")
	op.Input("in", noOutput, source.Lines("a\n"))
	for _, tc := range []struct {
		name string
		flow *weir.Dataflow
		args []string
		code int
		want string
	}{
		{"unknown format", good, []string{"graph", "--format", "svg"}, 2, `prog: graph: unknown format "svg": want mermaid, dot, json (see prog --help)`},
		{"no format", good, []string{"graph", "--format"}, 2, `prog: graph: --format needs a format: mermaid, dot, json (see prog --help)`},
		{"flow without output", noOutput, []string{"graph"}, 1, "weir: dataflow g: dataflow needs at least one output or inspect step"},
		{"not the first argument", good, []string{"-w", "2", "graph", "--format", "x"}, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := main(context.Background(), newCommandLine("prog"), tc.flow, tc.args, &stdout, &stderr, []Option{Logger(slog.New(slog.DiscardHandler))})
			if code != tc.code || strings.TrimSpace(stderr.String()) != tc.want {
				t.Errorf("status %d, stderr %q; want %d, %q", code, stderr.String(), tc.code, tc.want)
			}
		})
	}
}
