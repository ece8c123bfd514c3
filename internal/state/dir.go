package state

import (
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"time"
)

// FormatVersion is the layout of a recovery partition this weir reads and writes.
// Version 1 kept every snapshot row in one table keyed by step name; version 2 had no
// checksums. Partitions of another version are refused with a *FormatError: reading rows
// without checksums would give up the check that every row read is the row written.
const FormatVersion = 3

// PartitionPath is the file of partition i of the recovery directory dir.
func PartitionPath(dir string, i int) string {
	return filepath.Join(dir, fmt.Sprintf("part-%d.sqlite3", i))
}

// PartitionLockPath is the lock file of partition i of the recovery directory dir, which a
// process of a cluster run holds while it holds the partition (see LockFile).
func PartitionLockPath(dir string, i int) string {
	return filepath.Join(dir, fmt.Sprintf("part-%d.lock", i))
}

// LockFile is the file in a recovery directory whose lock a run holds while it uses the
// directory. The lock is flock(2)'s: the kernel releases it when the holder's process
// ends, however it ends (kill -9 too), so a crash never leaves the directory locked. The
// file's text records the holder for the error a second run gets. On systems without
// flock(2) the directory is not locked: two runs on one directory are not detected.
//
// A single-process run holds it exclusively. The processes of a cluster run, which may
// share the directory, hold it shared and each of their partitions' lock files
// (PartitionLockPath) exclusively: a single run and a cluster run on one directory
// refuse each other, and two cluster runs refuse each other on their partitions.
const LockFile = "weir.lock"

// Dir is a Store in a recovery directory, opened for a run: what the run needs of it
// beside the Store.
type Dir interface {
	Store
	Dropper
	// Partitions returns the number of partitions, fixed when the directory was made.
	Partitions() int
	// GC collects the snapshots superseded for longer than backup.
	GC(backup time.Duration) error
	// CollectEvery runs GC(backup) once the execution has started, then every interval,
	// until stop is called; stop returns the first error GC met.
	CollectEvery(interval, backup time.Duration) (stop func() error)
	// Close releases the directory and its lock.
	Close() error
}

// DirOpener opens the recovery directory dir for a run, holding its lock until Close.
// When create is positive and dir holds no partition (or does not exist), it first makes
// dir with create partitions, under the lock; otherwise a directory without partitions
// fails with ErrNoPartitions.
type DirOpener func(dir string, create int) (Dir, error)

var (
	openerMu sync.Mutex
	opener   DirOpener
)

// RegisterDirOpener makes open the way runs open recovery directories. The SQLite store
// registers itself from its init function: the store's driver is large to compile and
// link, so only the programs that import it (through package recovery) carry it. It
// panics when a store is already registered.
func RegisterDirOpener(open DirOpener) {
	openerMu.Lock()
	defer openerMu.Unlock()
	if opener != nil {
		panic("weir: recovery: a recovery store is already registered")
	}
	opener = open
}

// ErrNoStore: the program opens a recovery directory but does not include the recovery
// store (no package of it imports package recovery).
var ErrNoStore = errors.New(`weir: a recovery directory (-r, run.Recovery) needs the recovery store, which this program does not include: add  import _ "github.com/weirflow/weir/recovery"  to its main package`)

// OpenDir opens the recovery directory dir for a run with the registered store (see
// DirOpener), or fails with ErrNoStore when none is registered.
func OpenDir(dir string, create int) (Dir, error) {
	openerMu.Lock()
	open := opener
	openerMu.Unlock()
	if open == nil {
		return nil, ErrNoStore
	}
	return open(dir, create)
}

// Info describes a recovery directory, for inspection.
type Info struct {
	Partitions int
	Executions []ExecutionInfo // ascending by number
	Steps      []StepInfo      // ascending by step id
}

// ExecutionInfo is one recorded execution and the frontiers its workers reached.
type ExecutionInfo struct {
	Number    int64
	Workers   int
	Resume    uint64
	Began     time.Time
	Frontiers []uint64 // per worker, the lowest any partition recorded; 0 for none
}

// StepInfo counts a step's stored snapshot rows over all partitions.
type StepInfo struct {
	Step  string
	Keys  int   // distinct keys, deletions included
	Rows  int   // rows, older versions kept for backups included
	Bytes int64 // of state
}
