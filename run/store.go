package run

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/weirflow/weir/internal/plan"
	"github.com/weirflow/weir/internal/state"
)

// ErrNoRecoveryStore: a run was given a recovery directory, but the program does not
// include the recovery store, which is linked only into programs that import package
// recovery (its driver, SQLite, is most of what a weir program compiles). The message
// says what to add:
//
//	import _ "github.com/weirflow/weir/recovery"
var ErrNoRecoveryStore = state.ErrNoStore

// openStore opens the run's recovery directory, creating it first when cfg asks to and it
// has no partitions, and returns it with the Store the engine uses: the directory,
// refusing the state of steps that p does not have, or dropping it with
// cfg.dropRemovedSteps.
func openStore(cfg config, p *plan.Plan) (state.Dir, state.Store, error) {
	dir, err := state.OpenDir(cfg.recoveryDir, cfg.recoveryPartitions)
	switch {
	case errors.Is(err, state.ErrNoPartitions):
		return nil, nil, fmt.Errorf("%w, or have this run create them with --recovery-partitions N (run.RecoveryPartitions)", err)
	case err != nil:
		return nil, nil, err
	}
	if n := cfg.recoveryPartitions; n > 0 && dir.Partitions() != n {
		dir.Close()
		return nil, nil, fmt.Errorf("weir: recovery directory %s has %d partitions, not the %d that --recovery-partitions (run.RecoveryPartitions) asks for: the count is fixed when the directory is created; ask for %d, or leave the option out",
			cfg.recoveryDir, dir.Partitions(), n, dir.Partitions())
	}
	ids := make([]string, len(p.Nodes))
	for i, n := range p.Nodes {
		ids[i] = n.ID
	}
	logger := cfg.logger
	if logger == nil {
		logger = slog.Default()
	}
	store := state.KnownSteps(dir, ids, cfg.dropRemovedSteps, func(steps []string) {
		logger.Warn("weir: recovery: dropped the state of steps this dataflow no longer has (--drop-removed-steps)",
			"dir", cfg.recoveryDir, "steps", steps)
	})
	return dir, store, nil
}

// inDir names the recovery directory in the errors of the run that the engine returns
// without it.
func inDir(err error, dir string) error {
	var changed *state.PartitionsChangedError
	if errors.As(err, &changed) && changed.Dir == "" {
		changed.Dir = dir
	}
	var removed *state.RemovedStepError
	if errors.As(err, &removed) && removed.Dir == "" {
		removed.Dir = dir
	}
	return err
}
