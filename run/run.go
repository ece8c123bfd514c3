package run

import (
	"context"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/internal/engine"
	"github.com/weirflow/weir/internal/plan"
)

// Run runs flow in this process until every input ends, a source aborts the run, a step
// fails, or ctx is done.
//
// It returns the flow's build error if it has one; nil after the end of every input or an
// abort; a *weir.StepError naming the failed step when user code or a connector fails;
// and ctx's error when ctx stops the run.
func Run(ctx context.Context, flow *weir.Dataflow, opts ...Option) error {
	cfg := DefaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	return RunConfig(ctx, flow, cfg)
}

// RunConfig is Run with a whole Config, as run.Main builds it from flags.
func RunConfig(ctx context.Context, flow *weir.Dataflow, cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	p, err := plan.New(flow)
	if err != nil {
		return err
	}
	return engine.Run(ctx, p, engine.Config{
		Workers:       cfg.Workers,
		EpochInterval: cfg.EpochInterval,
		Logger:        cfg.Logger,
	})
}
