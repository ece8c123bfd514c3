package recovery

import (
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/weirflow/weir/internal/codec"
	"github.com/weirflow/weir/internal/state"
	"github.com/weirflow/weir/internal/state/sqlitestore"
)

// Init creates the recovery directory dir, if needed, with n empty partitions. It fails
// with an error matching ErrExists when dir already holds partitions.
func Init(dir string, n int) error { return sqlitestore.Init(dir, n) }

// Verify opens the recovery directory dir, checks that its partitions are readable and
// consistent and verifies the checksum of every stored row. It returns the epoch the next
// run would resume from (1 for a new directory) or one of the errors of this package.
//
// Verify, Inspect and State only read, and take no lock: they work while a run uses the
// directory, reading each partition as its last committed transaction left it.
func Verify(dir string) (resume uint64, err error) {
	s, err := sqlitestore.Read(dir)
	if err != nil {
		return 0, err
	}
	defer s.Close()
	if resume, err = s.Verify(); err != nil {
		return 0, err
	}
	if err := s.Check(); err != nil {
		return 0, err
	}
	return resume, nil
}

// Inspect reads what the recovery directory dir holds: its executions with their workers'
// frontiers, and per step the keys, rows and bytes of state stored.
func Inspect(dir string) (Info, error) {
	s, err := sqlitestore.Read(dir)
	if err != nil {
		return Info{}, err
	}
	defer s.Close()
	return s.Inspect()
}

// KeyState is the stored value of one key of one step: what the next run would resume.
// For an input or a sink, Key is a partition and the value its position, in the
// connector's own encoding rather than a state codec's.
type KeyState struct {
	Step  string // the full step id
	Key   string
	Epoch uint64 // the epoch whose snapshot holds it
	State []byte // as stored: for a state, a format byte, then the codec's encoding
	// JSON renders a state for reading; nil when the value is not a codec-encoded state,
	// as an input's or a sink's position is not.
	JSON []byte
	// Uvarints is the value read as a sequence of unsigned varints when JSON is nil and
	// the value is exactly such a sequence: the files connectors store their positions so
	// (a byte offset; for CSV, the offset and the line number).
	Uvarints []uint64
}

// State reads from the recovery directory dir the value of key in step, which is a full
// step id or the start of exactly one (the operator's id, such as "flow.sum", names the
// steps inside it). It fails with an error matching ErrNoState when the key has none.
func State(dir, step, key string) (KeyState, error) {
	s, err := sqlitestore.Read(dir)
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
	ks := KeyState{Step: id, Key: key, Epoch: epoch, State: b}
	if js, err := codec.JSON(b); err == nil {
		ks.JSON = js
	} else {
		ks.Uvarints = uvarints(b)
	}
	return ks, nil
}

// uvarints reads b as a sequence of unsigned varints, or returns nil when it is not one.
func uvarints(b []byte) []uint64 {
	var vs []uint64
	for len(b) > 0 {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			return nil
		}
		vs, b = append(vs, v), b[n:]
	}
	return vs
}

// findStep finds the one step that step names; its errors go after the directory's name.
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
		has := strings.Join(steps, ", ")
		if has == "" {
			has = "none"
		}
		return "", stepError{fmt.Sprintf("no state stored: no step %s (the directory has %s)", step, has), true}
	case 1:
		return found[0], nil
	}
	return "", stepError{fmt.Sprintf("step %s is ambiguous: %s", step, strings.Join(found, ", ")), false}
}

// stepError is findStep's error: it matches ErrNoState when no step matched, without
// repeating that error's "weir:" inside the directory's message.
type stepError struct {
	msg     string
	noState bool
}

func (e stepError) Error() string        { return e.msg }
func (e stepError) Is(target error) bool { return e.noState && target == ErrNoState }

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

// CorruptError names a partition that is not a readable weir partition, with the cause;
// for a stored row that fails its checksum (Cause wraps ErrChecksum), the step and key.
type CorruptError = state.CorruptError

// FormatError names a partition written in a layout this weir does not read (by an older
// weir: partitions without row checksums are refused, not read unchecked).
type FormatError = state.FormatError

// AccessError names a partition (or the directory) the operating system does not let the
// run read or write: a permission, a read-only mount. Nothing is damaged. It matches
// fs.ErrPermission.
type AccessError = state.AccessError

// DiskFullError names a partition that could not be written because its file system is
// full. What was committed is kept: free space and run again. It matches syscall.ENOSPC.
type DiskFullError = state.DiskFullError

// ErrChecksum is the cause inside a *CorruptError whose stored row no longer matches the
// checksum written with it.
var ErrChecksum = state.ErrChecksum

// ErrLocked: the recovery directory is in use by another run. The error is a
// *LockedError, which says who holds it.
var ErrLocked = state.ErrLocked

// LockedError names the run (process id, host, start time) that holds a recovery
// directory another run was refused.
type LockedError = state.LockedError

// LockFile is the file of a recovery directory that a run locks while it uses the
// directory (with flock(2), which the kernel releases when the process ends, kill -9
// included). It records the holder. On systems without flock(2) no lock is taken.
const LockFile = state.LockFile

// PartitionsChangedError names an input or a sink that no longer lists partitions the
// recovery directory holds positions of, as when a path was moved or renamed: a run is
// refused rather than reading or writing them from the start.
type PartitionsChangedError = state.PartitionsChangedError

// RemovedStepError lists the steps a recovery directory holds state of that the dataflow
// no longer has (removed or renamed): the run is refused rather than losing that state
// silently, unless it runs with run.DropRemovedSteps (--drop-removed-steps), which
// deletes it. Foreign says that no step of the dataflow has state there, as when the
// directory is another dataflow's.
type RemovedStepError = state.RemovedStepError
