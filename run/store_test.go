package run

import (
	"path/filepath"
	"testing"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/internal/graph"
	"github.com/weirflow/weir/internal/plan"
	"github.com/weirflow/weir/internal/state"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/recovery"
	"github.com/weirflow/weir/source"
)

// The store a run with a recovery directory gives the engine says that it copies what it
// writes (state.Copier), so that the engine hands written snapshots' memory back to their
// steps: a wrapper that hid it would bring back a snapshot's garbage every epoch, and
// nothing else would show it.
func TestRecoveryStoreCopies(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "rec")
	if err := recovery.Init(dir, 2); err != nil {
		t.Fatal(err)
	}
	flow := weir.NewDataflow("copies")
	op.Output("out", op.Input("in", flow, source.FromSlice(1, 2, 3)), discard[int]())
	p, err := plan.New(graph.FlowOf(flow))
	if err != nil {
		t.Fatal(err)
	}
	cfg := defaults()
	cfg.recoveryDir = dir
	d, store, err := openStore(cfg, p)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if c, ok := store.(state.Copier); !ok || !c.CopiesWrites() {
		t.Errorf("the run's store (%T) does not say it copies what it writes", store)
	}
}
