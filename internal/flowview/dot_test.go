package flowview_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/internal/flowview"
)

// TestDOTRenders lays out the DOT of the sample flow, of ids to escape and of every
// example's golden file with Graphviz's dot, and checks that each becomes an SVG with a
// node per step and a cluster per scope. Without dot it skips, unless
// WEIR_REQUIRE_GRAPHVIZ is set (CI installs Debian's graphviz and sets it).
func TestDOTRenders(t *testing.T) {
	dot, err := exec.LookPath("dot")
	if err != nil {
		msg := "no Graphviz dot on $PATH (apt-get install graphviz)"
		if os.Getenv("WEIR_REQUIRE_GRAPHVIZ") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	diagrams := map[string][]byte{}
	for name, flow := range map[string]*weir.Dataflow{"sample": sample(), "odd": odd()} {
		var b bytes.Buffer
		if err := flowview.WriteDOT(&b, describe(t, flow)); err != nil {
			t.Fatal(err)
		}
		diagrams[name] = b.Bytes()
	}
	goldens, err := filepath.Glob("../../examples/*/testdata/graph.dot.golden")
	if err != nil || len(goldens) < 5 {
		t.Fatalf("the examples' DOT golden files: %v %v", goldens, err)
	}
	for _, path := range goldens {
		d, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		diagrams[path] = d
	}
	for name, d := range diagrams {
		cmd := exec.Command(dot, "-Tsvg")
		cmd.Stdin = bytes.NewReader(d)
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		if err := cmd.Run(); err != nil || errOut.Len() > 0 {
			t.Errorf("dot cannot lay out %s: %v %s\n%s", name, err, errOut.String(), d)
			continue
		}
		svg := out.String()
		if got, want := strings.Count(svg, `class="node"`), strings.Count(string(d), ", shape="); got != want {
			t.Errorf("%s: %d nodes drawn, want %d", name, got, want)
		}
		if got, want := strings.Count(svg, `class="cluster"`), strings.Count(string(d), "subgraph cluster_"); got != want {
			t.Errorf("%s: %d clusters drawn, want %d", name, got, want)
		}
	}
}
