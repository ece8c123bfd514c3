package run

import (
	"context"
	"errors"
	"time"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/internal/engine"
	"github.com/weirflow/weir/internal/graph"
	"github.com/weirflow/weir/internal/plan"
	"github.com/weirflow/weir/internal/state"
)

// gcInterval is how often a run collects its recovery directory's superseded snapshots.
const gcInterval = 10 * time.Second

// Run runs flow in this process until every input ends, a source aborts the run, a step
// fails, or ctx is done.
//
// It returns the flow's build error if it has one; nil after the end of every input or an
// abort; a *weir.StepError naming the failed step when user code or a connector fails;
// and ctx's error when ctx stops the run.
//
// With more than one address (Addresses), the run is one process of a cluster: it waits
// for the others (StartupTimeout), runs its Workers over its share of the data, and stops
// with an error naming the peer when one is lost (HeartbeatTimeout), as every other
// process does. See Cluster in the package doc.
//
// With a recovery directory (Recovery), the run holds the directory's lock until it
// returns, and is refused, changing nothing, with the errors of package recovery: another
// run holds the directory (*recovery.LockedError), it is missing, damaged, of another
// format or not writable, or it holds state this dataflow cannot resume (another
// dataflow's, or positions of partitions an input or sink no longer lists).
func Run(ctx context.Context, flow *weir.Dataflow, opts ...Option) error {
	return run(ctx, flow, newConfig(opts))
}

// run is Run with its settings built, as run.Main builds them from options and flags.
func run(ctx context.Context, flow *weir.Dataflow, cfg config) error {
	if err := cfg.validate(); err != nil {
		return err
	}
	cfg.logger = cfg.runLogger()
	ctx = engine.WithTracerProvider(ctx, cfg.tracerProvider)
	p, err := plan.New(graph.FlowOf(flow))
	if err != nil {
		return err
	}
	ctx, stopMonitor, err := startMonitor(ctx, cfg, p)
	if err != nil {
		return err
	}
	defer stopMonitor()
	ctx, stopProgress := cfg.progress.start(ctx)
	defer stopProgress()
	ecfg := engine.Config{Workers: cfg.workers, EpochInterval: cfg.epochInterval, Logger: cfg.logger,
		LogEvery: cfg.logEvery, RecoveryDir: cfg.recoveryDir}
	if cfg.cluster() {
		return runCluster(ctx, p, cfg, ecfg)
	}
	if cfg.recoveryDir == "" {
		return public(engine.Run(ctx, p, ecfg))
	}
	store, loaded, err := openStore(cfg, p)
	if err != nil {
		return err
	}
	defer store.Close()
	ecfg.Store = loaded
	// Collect once the execution has started (a refused run changes nothing), every
	// gcInterval during it and when it stops cleanly, at its end or by ctx (Ctrl-C,
	// SIGTERM): snapshots superseded for longer than the backup interval are no longer
	// needed by any copy of the directory, and collecting at a stop leaves the next run
	// less to load. After a crash or a failure, the next run's start collects instead.
	stopGC := store.CollectEvery(gcInterval, cfg.backupInterval)
	err = inDir(public(engine.Run(ctx, p, ecfg)), cfg.recoveryDir)
	if gcErr := stopGC(); err == nil {
		err = gcErr
	}
	if err != nil && !(ctx.Err() != nil && errors.Is(err, ctx.Err())) {
		return err
	}
	if gcErr := store.GC(cfg.backupInterval); gcErr != nil {
		return gcErr
	}
	return err
}

// runCluster runs p as one process of the cluster cfg names. The engine opens the
// process's share of the recovery directory itself, once the processes have told each
// other which partitions they hold (together they must hold each exactly once), and
// collects and closes it: so no store is opened here.
func runCluster(ctx context.Context, p *plan.Plan, cfg config, ecfg engine.Config) error {
	c := &engine.Cluster{Process: cfg.processID, Addresses: cfg.addresses, Secret: cfg.clusterSecret, TLS: cfg.clusterTLS,
		StartupTimeout: cfg.startupTimeout, HeartbeatTimeout: cfg.heartbeatTimeout}
	if cfg.recoveryDir != "" {
		parts, err := state.OpenParts(cfg.recoveryDir)
		if err != nil {
			return err
		}
		c.Parts, c.CreatePartitions = parts, cfg.recoveryPartitions
		c.DropRemovedSteps, c.BackupInterval = cfg.dropRemovedSteps, cfg.backupInterval
	}
	ecfg.Cluster = c
	return inDir(public(engine.Run(ctx, p, ecfg)), cfg.recoveryDir)
}
