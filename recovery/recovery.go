package recovery

import "github.com/weirflow/weir/internal/state"

// Init creates the recovery directory dir, if needed, with n empty partitions. It fails
// with an error matching ErrExists when dir already holds partitions.
func Init(dir string, n int) error { return state.InitSQLite(dir, n) }

// Verify opens the recovery directory dir and checks that its partitions are readable
// and consistent. It returns the epoch the next run would resume from (1 for a new
// directory) or one of the errors of this package.
func Verify(dir string) (resume uint64, err error) {
	s, err := state.OpenSQLite(dir)
	if err != nil {
		return 0, err
	}
	resume, err = s.Verify()
	if cerr := s.Close(); err == nil && cerr != nil {
		return 0, cerr
	}
	return resume, err
}

// Inspect reads what the recovery directory dir holds: its executions with their workers'
// frontiers, and per step the keys, rows and bytes of state stored.
func Inspect(dir string) (Info, error) {
	s, err := state.OpenSQLite(dir)
	if err != nil {
		return Info{}, err
	}
	info, err := s.Inspect()
	if cerr := s.Close(); err == nil && cerr != nil {
		return Info{}, cerr
	}
	return info, err
}

// Info describes a recovery directory.
type Info = state.Info

// ExecutionInfo is one recorded run: its number, worker count, resume epoch, start time
// and the frontier each worker reached.
type ExecutionInfo = state.ExecutionInfo

// StepInfo counts the snapshot rows of one step.
type StepInfo = state.StepInfo

// ErrNoPartitions: the recovery directory does not exist or holds no partition.
var ErrNoPartitions = state.ErrNoPartitions

// ErrExists: Init was given a directory that already holds partitions.
var ErrExists = state.ErrExists

// MissingPartitionsError lists the partitions absent from a recovery directory.
type MissingPartitionsError = state.MissingPartitionsError

// InconsistentError names a partition older than the epoch the others resume from.
type InconsistentError = state.InconsistentError

// CorruptError names a partition that is not a readable weir partition, with the cause.
type CorruptError = state.CorruptError
