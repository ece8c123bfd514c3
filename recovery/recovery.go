package recovery

import (
	"fmt"
	"strings"

	"github.com/weirflow/weir/internal/codec"
	"github.com/weirflow/weir/internal/state"
)

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

// KeyState is the stored state of one key of one step: what the next run would resume.
type KeyState struct {
	Step  string // the full step id
	Key   string
	Epoch uint64 // the epoch whose snapshot holds it
	State []byte // as stored: a format byte, then the codec's encoding
	JSON  []byte // State rendered for reading
}

// State reads from the recovery directory dir the state of key in step, which is a full
// step id or the start of exactly one (the operator's id, such as "flow.sum", names the
// steps inside it). It fails with an error matching ErrNoState when the key has none.
func State(dir, step, key string) (KeyState, error) {
	s, err := state.OpenSQLite(dir)
	if err != nil {
		return KeyState{}, err
	}
	defer s.Close()
	steps, err := s.Steps()
	if err != nil {
		return KeyState{}, err
	}
	id, err := findStep(steps, step)
	if err != nil {
		return KeyState{}, fmt.Errorf("weir: recovery directory %s: %w", dir, err)
	}
	b, epoch, err := s.State(id, key)
	if err != nil {
		return KeyState{}, err
	}
	js, err := codec.JSON(b)
	if err != nil {
		return KeyState{}, fmt.Errorf("weir: recovery directory %s: step %s, key %q: %w", dir, id, key, err)
	}
	return KeyState{Step: id, Key: key, Epoch: epoch, State: b, JSON: js}, nil
}

func findStep(steps []string, step string) (string, error) {
	var found []string
	for _, s := range steps {
		if s == step {
			return s, nil
		}
		if strings.HasPrefix(s, step+".") {
			found = append(found, s)
		}
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("%w: no step %s (the directory has %s)", ErrNoState, step, strings.Join(steps, ", "))
	case 1:
		return found[0], nil
	}
	return "", fmt.Errorf("step %s is ambiguous: %s", step, strings.Join(found, ", "))
}

// ErrNoState: State found no state for the key, or no such step.
var ErrNoState = state.ErrNoState

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
