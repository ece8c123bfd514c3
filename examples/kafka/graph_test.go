package main

import (
	"testing"

	"github.com/weirflow/weir/internal/flowview/flowviewtest"
)

// TestGraph checks the flow's description in each format against
// testdata/graph.F.golden (go test -update rewrites them); internal/flowview's tests parse
// the Mermaid one. main starts a broker before it runs the flow, so the flow is described
// here rather than through the graph sub-command.
func TestGraph(t *testing.T) {
	flowviewtest.CheckFlow(t, totals([]string{"127.0.0.1:9092"}, "sales", "totals"))
}
