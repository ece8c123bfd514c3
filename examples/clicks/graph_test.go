package main

import (
	"testing"

	"github.com/weirflow/weir/internal/flowview/flowviewtest"
)

func TestMain(m *testing.M) { flowviewtest.ExampleMain(m, main) }

// TestGraph checks what "graph --format F" prints against testdata/graph.F.golden
// (go test -update rewrites them); internal/flowview's tests parse the Mermaid ones.
func TestGraph(t *testing.T) { flowviewtest.CheckExample(t) }
