package state

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/weirflow/weir/internal/keyhash"
)

// A cluster's recovery store is spread over its processes: each process holds some of the
// partitions of one logical directory (all of them in one shared directory, or those in
// its own directory on its machine), and the engine routes every row to the process that
// holds its partition. Together the processes hold every partition exactly once. The
// engine decides who holds what from what each process finds (Scan), then opens its share
// (Open), agrees with the others on the resume epoch (PlanViews over every process's
// Views), and writes through Parts.

// Found is a partition file one process sees in its recovery directory.
type Found struct {
	Index int // the partition's number
	Count int // the partitions of the directory it was made for
	// ID identifies the file itself, not its contents: two processes that see the same
	// file (one directory shared by the processes of one machine) get the same ID, and a
	// copy of the file elsewhere gets another, so that a partition held twice is told from
	// a partition seen twice.
	ID string
}

// View is what one partition says about the last execution, for PlanViews.
type View struct {
	Partition int
	Number    int64  // the latest execution, 0 when none
	Resume    uint64 // its resume epoch
	Collected uint64 // rows needed to resume below this epoch may have been collected
	Implied   uint64 // the epoch this partition can resume from
}

// PlanViews computes, from every partition's view, the epoch a new execution resumes from
// and its number. A crash in the middle of a Write leaves some partitions ahead: only what
// every partition holds is committed, so the resume epoch is the least implied. A
// partition older than another's resume epoch or collection horizon would lose state
// that one already dropped: *InconsistentError naming dir.
func PlanViews(dir string, views []View) (resume uint64, number int64, err error) {
	var need uint64
	for _, v := range views {
		need = max(need, v.Resume, v.Collected)
		number = max(number, v.Number)
	}
	for _, v := range views {
		if v.Implied < need {
			return 0, 0, &InconsistentError{Dir: dir, Partition: v.Partition, Has: v.Implied, Need: need}
		}
		if resume == 0 || v.Implied < resume {
			resume = v.Implied
		}
	}
	if resume == 0 {
		resume = 1
	}
	return resume, number + 1, nil
}

// PartitionOf is the partition of n that holds the rows of (step, key): the stable hash
// of step, a zero byte and key, modulo n.
func PartitionOf(step, key string, n int) int { return HashStep(step).Partition(key, n) }

// StepHash is PartitionOf's hash after the step and its zero byte, so that a caller that
// places many keys of one step (a Write places every row) hashes the step's name once.
type StepHash uint64

// HashStep returns the StepHash of step.
func HashStep(step string) StepHash {
	return StepHash(keyhash.Of(step) * keyhash.Prime) // the zero byte's FNV-1a step is the product alone
}

// Partition is PartitionOf(step, key, n) for the step h is the hash of.
func (h StepHash) Partition(key string, n int) int {
	x := uint64(h)
	for i := 0; i < len(key); i++ {
		x ^= uint64(key[i])
		x *= keyhash.Prime
	}
	return int(x % uint64(n))
}

// PartOpener opens one process's share of a recovery directory for a cluster run.
type PartOpener interface {
	// Dir returns the directory, for messages.
	Dir() string
	// Scan lists the partition files in the directory, none when it has none or does not
	// exist. It opens nothing for writing and takes no lock.
	Scan() ([]Found, error)
	// Create makes the partitions which (those not present) of a directory of count
	// partitions, creating the directory if needed.
	Create(count int, which []int) error
	// Open opens the partitions held, of a directory of count, holding a lock on each
	// until Close, and checks them as a single run's open does.
	Open(count int, held []int) (Parts, error)
}

// Parts is the partitions of a recovery directory that one process of a cluster holds.
// It is a Store whose Begin is replaced by BeginAt (the cluster plans together), whose
// Load gives the rows of the held partitions only, and whose Write writes the rows of
// the held partitions and the worker's frontier to each of them, ignoring rows of the
// partitions held elsewhere. Workers are numbered across the cluster.
//
// Each process must be given every worker's Writes, and a worker must wait for its Write
// to complete at every process before its next: the first epoch of a Write then tells a
// process that the worker's previous Write is on every partition, which bounds what GC
// may collect (a partition elsewhere left behind by a crash must still resume).
type Parts interface {
	Store
	Dropper
	// Count returns the number of partitions of the whole directory.
	Count() int
	// Held returns the partitions this process holds, ascending.
	Held() []int
	// Views returns what each held partition says about the last execution.
	Views() ([]View, error)
	// BeginAt plans the execution the cluster agreed on (see PlanViews): Load and Start
	// then work as after Begin.
	BeginAt(workers int, resume uint64, number int64) error
	// GC collects the held partitions' superseded snapshots as Dir's does, below the
	// epoch every partition of the cluster is known to hold.
	GC(backup time.Duration) error
	// CollectEvery runs garbage collection of the held partitions as Dir's does.
	CollectEvery(interval, backup time.Duration) (stop func() error)
	// Close releases the partitions and their locks.
	Close() error
}

var (
	partsMu     sync.Mutex
	partsOpener func(dir string) PartOpener
)

// RegisterPartOpener makes open the way cluster runs open their share of a recovery
// directory; the SQLite store registers itself from its init function, beside its
// DirOpener. It panics when one is already registered.
func RegisterPartOpener(open func(dir string) PartOpener) {
	partsMu.Lock()
	defer partsMu.Unlock()
	if partsOpener != nil {
		panic("weir: recovery: a recovery store is already registered")
	}
	partsOpener = open
}

// OpenParts returns the registered store's PartOpener for dir, or ErrNoStore.
func OpenParts(dir string) (PartOpener, error) {
	partsMu.Lock()
	open := partsOpener
	partsMu.Unlock()
	if open == nil {
		return nil, ErrNoStore
	}
	return open(dir), nil
}

// PartitionsHeldError: the processes of a cluster do not hold every partition of their
// recovery directory exactly once between them.
type PartitionsHeldError struct {
	Count   int
	Missing []int            // held by no process
	Doubled map[int][]string // partition → the processes' directories holding distinct copies
}

func (e *PartitionsHeldError) Error() string {
	msg := fmt.Sprintf("weir: recovery: the processes must hold each of the %d partitions exactly once between them", e.Count)
	if len(e.Missing) > 0 {
		msg += fmt.Sprintf("; missing: %v", e.Missing)
	}
	if len(e.Doubled) > 0 {
		msg += fmt.Sprintf("; held twice (distinct copies): %v", e.Doubled)
	}
	return msg
}

// ErrPartitionsHeld is matched by every *PartitionsHeldError.
var ErrPartitionsHeld = errors.New("weir: recovery: partitions not held exactly once")

func (e *PartitionsHeldError) Unwrap() error { return ErrPartitionsHeld }
