package state

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// ErrNoPartitions: the recovery directory holds no partition file (or does not exist).
var ErrNoPartitions = errors.New("weir: no recovery partitions found")

// ErrExists: InitSQLite found partitions already in the directory.
var ErrExists = errors.New("weir: recovery directory already initialized")

// ErrNoState: State found no state for the key (never written, or deleted).
var ErrNoState = errors.New("weir: no state stored")

// ErrLocked: another run (in this process or another) holds the recovery directory.
// A *LockedError says who.
var ErrLocked = errors.New("weir: recovery directory in use")

// ErrChecksum is the cause inside a *CorruptError when a stored row no longer matches the
// checksum written with it: the file was damaged after SQLite wrote it (bit rot, a bad
// copy), which SQLite's own checks do not see. It never stands alone, hence no prefix.
var ErrChecksum = errors.New("checksum mismatch")

// partitionName names partition p of dir in messages: its index and its file's name.
func partitionName(dir string, p int) string {
	return fmt.Sprintf("partition %d (%s)", p, filepath.Base(PartitionPath(dir, p)))
}

// writeWhere starts the message of an error that the engine may return before the run
// names the recovery directory dir (then empty).
func writeWhere(b *strings.Builder, dir string) {
	b.WriteString("weir: recovery")
	if dir != "" {
		fmt.Fprintf(b, " directory %s", dir)
	}
}

// MissingPartitionsError: some partitions of a recovery directory are absent.
type MissingPartitionsError struct {
	Dir     string
	Missing []int // indexes, ascending
	Count   int   // partitions the directory should hold
}

func (e *MissingPartitionsError) Error() string {
	return fmt.Sprintf("weir: recovery directory %s: missing partitions %v of %d", e.Dir, e.Missing, e.Count)
}

// InconsistentError: a partition's executions or frontiers are older than the epoch the
// other partitions' last execution resumed from, as when a partition file was replaced by
// an older copy. Resuming from it would lose or repeat state, so the store refuses.
type InconsistentError struct {
	Dir       string
	Partition int
	Has       uint64 // the epoch the partition could resume from
	Need      uint64 // the epoch the last execution recorded elsewhere resumed from
}

func (e *InconsistentError) Error() string {
	return fmt.Sprintf("weir: recovery directory %s: %s is too old: it is complete only below epoch %d, but the other partitions need epoch %d (was it replaced by an older copy?)",
		e.Dir, partitionName(e.Dir, e.Partition), e.Has, e.Need)
}

// CorruptError: a partition file cannot be used: not a SQLite file, truncated or damaged,
// not a weir partition, or a row whose checksum does not match (Cause wraps ErrChecksum).
// Step and Key name the state or position row that failed its checksum (Key is the
// partition name for an input's or a sink's position); they are empty when the damage is
// elsewhere, and Cause then says where.
type CorruptError struct {
	Dir       string
	Partition int
	Step, Key string
	Cause     error
}

func (e *CorruptError) Error() string {
	var row string
	if e.Step != "" {
		row = fmt.Sprintf("step %s, key %q: ", e.Step, e.Key)
	}
	return fmt.Sprintf("weir: recovery directory %s: %s is corrupt: %s%v",
		e.Dir, partitionName(e.Dir, e.Partition), row, e.Cause)
}

func (e *CorruptError) Unwrap() error { return e.Cause }

// FormatError: a partition was written in a layout this weir does not read, by an older
// (or newer) weir. Nothing is wrong with the file: it is refused rather than misread.
type FormatError struct {
	Dir       string
	Partition int
	Version   int // the partition's format version
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("weir: recovery directory %s: %s has format version %d, this weir reads version %d: resume it with the weir that wrote it, or start a new recovery directory",
		e.Dir, partitionName(e.Dir, e.Partition), e.Version, FormatVersion)
}

// AccessError: the operating system refused to let the store read or write a file of the
// recovery directory (permissions, a read-only mount, an immutable file). The data is not
// damaged; fix the access. It matches fs.ErrPermission.
type AccessError struct {
	Dir       string
	Partition int // -1 for the directory itself or its lock file
	Cause     error
}

func (e *AccessError) Error() string {
	what := "the directory"
	if e.Partition >= 0 {
		what = partitionName(e.Dir, e.Partition)
	}
	return fmt.Sprintf("weir: recovery directory %s: %s cannot be written: %v (check the permissions and the mount of the directory and its files)",
		e.Dir, what, e.Cause)
}

func (e *AccessError) Unwrap() error { return e.Cause }

func (e *AccessError) Is(target error) bool { return target == fs.ErrPermission }

// DiskFullError: a partition could not be written because its file system is full.
// SQLite rolls back the transaction it could not write, so what was committed is kept:
// free space and run again. It matches syscall.ENOSPC.
type DiskFullError struct {
	Dir       string
	Partition int
	Cause     error
}

func (e *DiskFullError) Error() string {
	return fmt.Sprintf("weir: recovery directory %s: %s cannot be written: its file system is full: %v (free space on it and run again: what was committed is kept)",
		e.Dir, partitionName(e.Dir, e.Partition), e.Cause)
}

func (e *DiskFullError) Unwrap() error { return e.Cause }

func (e *DiskFullError) Is(target error) bool { return target == syscall.ENOSPC }

// LockedError: the recovery directory is in use by another run, which holds its lock
// file, or one of its partitions is in use by a process of another cluster run, which
// holds the partition's lock file (see PartitionLockPath). PID, Host and Since describe
// the holder as it recorded itself (zero when it had not yet done so). It matches
// ErrLocked.
type LockedError struct {
	Dir       string
	Partition int // the partition whose lock is held, -1 for the directory's lock
	PID       int
	Host      string
	Since     time.Time
}

func (e *LockedError) Error() string {
	what := "recovery directory " + e.Dir
	if e.Partition >= 0 {
		what += ": " + partitionName(e.Dir, e.Partition)
	}
	if e.PID == 0 {
		return fmt.Sprintf("weir: %s is in use by another run", what)
	}
	return fmt.Sprintf("weir: %s is in use by pid %d on host %s since %s",
		what, e.PID, e.Host, e.Since.UTC().Format(time.RFC3339))
}

func (e *LockedError) Is(target error) bool { return target == ErrLocked }

// PartitionsChangedError: the recovery directory holds positions of partitions that an
// input or a sink no longer lists, as when its path was moved or renamed. Resuming
// without them would read or write those partitions from the start.
type PartitionsChangedError struct {
	Dir     string   // the recovery directory, when known
	Step    string   // the input or sink
	Missing []string // partitions with a stored position that the step no longer lists
	New     []string // partitions the step lists that have no stored position
}

func (e *PartitionsChangedError) Error() string {
	var b strings.Builder
	writeWhere(&b, e.Dir)
	fmt.Fprintf(&b, ": step %s no longer lists partitions %q that the store holds positions of", e.Step, e.Missing)
	if len(e.New) > 0 {
		fmt.Fprintf(&b, " (it lists %q instead)", e.New)
	}
	b.WriteString(": restore the moved or renamed path, or start afresh with a new recovery directory")
	return b.String()
}
