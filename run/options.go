package run

import (
	"fmt"
	"log/slog"
	"time"
)

// Config is the configuration of a run. Options set it; run.Main fills it from flags and
// environment variables.
type Config struct {
	// Workers is the number of workers in this process. Default 1.
	Workers int
	// EpochInterval is how often inputs close an epoch (and, with recovery, snapshot);
	// zero closes one after every round of reads. Default 10s.
	EpochInterval time.Duration
	// Logger receives the run's structured logs (see the package doc's Logs). Default:
	// slog.Default(); run.Main's default is text on stderr at info level.
	Logger *slog.Logger
	// LogEvery is how often the Logger gets a summary of the run's progress ("weir:
	// progress"); zero logs none. Default 30s.
	LogEvery time.Duration
	// RecoveryDir is a recovery directory made by recovery.Init (or `weir recovery init`),
	// or by the run itself with RecoveryPartitions: snapshots go there at every epoch
	// close, and a run resumes from it. Default: none, and nothing is snapshotted. The
	// program must import package recovery, which holds the store (else the run fails
	// with ErrNoRecoveryStore).
	RecoveryDir string
	// RecoveryPartitions, when positive, is the partition count the run creates
	// RecoveryDir with when the directory holds no partitions (or does not exist); a
	// directory that has partitions must have that many, as the count cannot change.
	// Default 0: a directory without partitions is refused (recovery.ErrNoPartitions).
	RecoveryPartitions int
	// DropRemovedSteps lets a run resume from a recovery directory that holds state of
	// steps the dataflow no longer has (removed or renamed since): that state is
	// deleted when the run starts, and the steps are logged. Default false: such a run
	// is refused with a *recovery.RemovedStepError.
	DropRemovedSteps bool
	// BackupInterval is how long superseded snapshots are kept, so that a copy of the
	// recovery directory taken within it still resumes. Default 0: collect at once.
	BackupInterval time.Duration
}

// DefaultConfig returns the configuration used when no option is given.
func DefaultConfig() Config {
	return Config{Workers: 1, EpochInterval: 10 * time.Second, LogEvery: 30 * time.Second}
}

// Validate reports the first invalid setting.
func (c Config) Validate() error {
	if c.Workers < 1 {
		return fmt.Errorf("weir: workers must be at least 1, not %d", c.Workers)
	}
	if c.RecoveryPartitions < 0 {
		return fmt.Errorf("weir: recovery partitions must not be negative, not %d", c.RecoveryPartitions)
	}
	if c.BackupInterval < 0 {
		return fmt.Errorf("weir: backup interval must not be negative, not %v", c.BackupInterval)
	}
	if c.EpochInterval < 0 {
		return fmt.Errorf("weir: epoch interval must not be negative, not %v", c.EpochInterval)
	}
	if c.LogEvery < 0 {
		return fmt.Errorf("weir: log interval must not be negative, not %v", c.LogEvery)
	}
	return nil
}

// Option changes one setting of a run.
type Option func(*Config)

// Workers sets the number of workers in this process, overriding the default of 1.
func Workers(n int) Option { return func(c *Config) { c.Workers = n } }

// EpochInterval sets how often inputs close an epoch, overriding the default of 10s.
// Snapshots are taken at every epoch close. Zero closes an epoch after every round of reads.
func EpochInterval(d time.Duration) Option { return func(c *Config) { c.EpochInterval = d } }

// Logger sets the logger for the run's structured logs, overriding slog.Default().
func Logger(l *slog.Logger) Option { return func(c *Config) { c.Logger = l } }

// LogEvery sets how often the run logs a summary of its progress at info level (items
// read and written, their rates, the current and the last committed epoch), overriding
// the default of 30s. Zero logs none; the start and the end of the run are logged anyway.
func LogEvery(d time.Duration) Option { return func(c *Config) { c.LogEvery = d } }

// Recovery makes the run snapshot to, and resume from, the recovery directory dir (made by
// recovery.Init, or by the run with RecoveryPartitions), overriding the default of no
// recovery. The program must import package recovery, which holds the store:
//
//	import _ "github.com/weirflow/weir/recovery"
func Recovery(dir string) Option { return func(c *Config) { c.RecoveryDir = dir } }

// RecoveryPartitions makes the run create its recovery directory with n partitions when
// the directory holds none or does not exist, overriding the default of refusing it; a
// directory that has partitions must have n. The count is fixed for the directory's life;
// the worker count can change between runs. Without Recovery it does nothing.
func RecoveryPartitions(n int) Option { return func(c *Config) { c.RecoveryPartitions = n } }

// DropRemovedSteps lets the run resume from a recovery directory that holds state of steps
// the dataflow no longer has, deleting that state when the run starts and logging which
// steps it was, overriding the default of refusing the run with a
// *recovery.RemovedStepError. Like Flink's allowNonRestoredState, it is for a dataflow
// that dropped or renamed a step on purpose: a renamed step starts afresh. Without
// Recovery it does nothing.
func DropRemovedSteps() Option { return func(c *Config) { c.DropRemovedSteps = true } }

// BackupInterval sets how long superseded snapshots are kept in the recovery directory,
// overriding the default of 0.
func BackupInterval(d time.Duration) Option { return func(c *Config) { c.BackupInterval = d } }
