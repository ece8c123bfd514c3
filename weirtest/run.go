package weirtest

import (
	"context"
	"testing"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/run"
)

// Run runs flow in this process with the given number of workers and fails the test if
// the run returns an error. opts are applied after the worker count, so they may override
// it. A run that a Source's Abort marker stopped returns no error.
func Run(t testing.TB, flow *weir.Dataflow, workers int, opts ...run.Option) {
	t.Helper()
	if err := run.Run(context.Background(), flow, append([]run.Option{run.Workers(workers)}, opts...)...); err != nil {
		t.Fatal(err)
	}
}
