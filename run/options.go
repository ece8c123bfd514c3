package run

import (
	"fmt"
	"log/slog"
	"time"
)

// config is a run's settings. It is not exported so that no caller can hand Run a struct
// whose zero fields would silently mean something other than the defaults (an epoch
// interval of 0 closes an epoch after every read, not every 10s): a run starts from
// defaults and only the options given change it; run.Main fills it from its flags.
type config struct {
	workers            int
	epochInterval      time.Duration
	logger             *slog.Logger // nil: slog.Default()
	logEvery           time.Duration
	recoveryDir        string // "": no recovery
	recoveryPartitions int
	dropRemovedSteps   bool
	backupInterval     time.Duration
}

// Defaults of the settings that are not their type's zero value.
const (
	defaultWorkers       = 1
	defaultEpochInterval = 10 * time.Second
	defaultLogEvery      = 30 * time.Second
)

// defaults returns the settings of a run given no option.
func defaults() config {
	return config{workers: defaultWorkers, epochInterval: defaultEpochInterval, logEvery: defaultLogEvery}
}

// newConfig applies opts, in order, to the defaults.
func newConfig(opts []Option) config {
	cfg := defaults()
	for _, o := range opts {
		o(&cfg)
	}
	return cfg
}

// validate reports the first invalid setting, naming it.
func (c config) validate() error {
	if c.workers < 1 {
		return fmt.Errorf("weir: workers must be at least 1, not %d", c.workers)
	}
	if c.recoveryPartitions < 0 {
		return fmt.Errorf("weir: recovery partitions must not be negative, not %d", c.recoveryPartitions)
	}
	if c.backupInterval < 0 {
		return fmt.Errorf("weir: backup interval must not be negative, not %v", c.backupInterval)
	}
	if c.epochInterval < 0 {
		return fmt.Errorf("weir: epoch interval must not be negative, not %v", c.epochInterval)
	}
	if c.logEvery < 0 {
		return fmt.Errorf("weir: log interval must not be negative, not %v", c.logEvery)
	}
	return nil
}

// Option changes one setting of a run. Options apply in order, so a later one overrides
// an earlier one of the same setting; an invalid value makes Run (and Main) fail with an
// error naming the setting, before anything runs.
type Option func(*config)

// Workers sets the number of workers in this process, overriding the default of 1. It must
// be at least 1.
func Workers(n int) Option { return func(c *config) { c.workers = n } }

// EpochInterval sets how often inputs close an epoch, overriding the default of 10s.
// Snapshots are taken at every epoch close. Zero, given explicitly, closes an epoch after
// every round of reads (tests use it so that where a run stops depends on its input, not
// on time); a negative interval is an error.
func EpochInterval(d time.Duration) Option { return func(c *config) { c.epochInterval = d } }

// Logger sets the logger for the run's structured logs, overriding the default of
// slog.Default() (run.Main's default is text on stderr at --log-level). A nil logger
// keeps the default.
func Logger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// LogEvery sets how often the run logs a summary of its progress at info level (items
// read and written, their rates, the current and the last committed epoch), overriding
// the default of 30s. Zero logs none; the start and the end of the run are logged anyway.
// A negative interval is an error.
func LogEvery(d time.Duration) Option { return func(c *config) { c.logEvery = d } }

// Recovery makes the run snapshot to, and resume from, the recovery directory dir (made by
// recovery.Init, or by the run with RecoveryPartitions), overriding the default of no
// recovery; an empty dir keeps that default. The program must import package recovery,
// which holds the store (else the run fails with ErrNoRecoveryStore):
//
//	import _ "github.com/weirflow/weir/recovery"
func Recovery(dir string) Option { return func(c *config) { c.recoveryDir = dir } }

// RecoveryPartitions makes the run create its recovery directory with n partitions when
// the directory holds none or does not exist, overriding the default of 0, which refuses
// such a directory (recovery.ErrNoPartitions); a directory that has partitions must have
// n. The count is fixed for the directory's life; the worker count can change between
// runs. Without Recovery it does nothing. A negative n is an error.
func RecoveryPartitions(n int) Option { return func(c *config) { c.recoveryPartitions = n } }

// DropRemovedSteps lets the run resume from a recovery directory that holds state of steps
// the dataflow no longer has, deleting that state when the run starts and logging which
// steps it was, overriding the default of refusing the run with a
// *recovery.RemovedStepError. Like Flink's allowNonRestoredState, it is for a dataflow
// that dropped or renamed a step on purpose: a renamed step starts afresh. Without
// Recovery it does nothing.
func DropRemovedSteps() Option { return func(c *config) { c.dropRemovedSteps = true } }

// BackupInterval sets how long superseded snapshots are kept in the recovery directory, so
// that a copy of the directory taken within it still resumes, overriding the default of 0
// (collect them at once). A negative interval is an error.
func BackupInterval(d time.Duration) Option { return func(c *config) { c.backupInterval = d } }
