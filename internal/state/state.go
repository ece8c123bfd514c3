// Package state is the recovery store behind the engine: what a worker writes at each
// epoch close, and what a new execution loads to resume. Memory keeps everything in
// memory, for tests; the SQLite store of recovery directories, in package sqlitestore,
// implements the same Store and registers itself as the DirOpener runs use. This package
// does not import the store, so that a program that uses no recovery directory does not
// compile and link SQLite.
package state

import (
	"errors"
	"slices"
	"strings"
	"sync"
)

// Snapshot is what one step of one worker recorded at an epoch close: keyed state for a
// stateful step, partition positions (Key = partition name) for inputs and sinks.
type Snapshot struct {
	Step    string
	Changes []Change
	// Release, when not nil, gives the memory of Changes and their states back to the step
	// that made them, for a later snapshot to fill. It is called once the snapshot is
	// written to a Copier, never after a write to another store, and not at all when the
	// write fails. It may be called from any goroutine.
	Release func()
}

// Change is the snapshot of one key (or source or sink partition) at an epoch close: its
// encoded state, or a deletion.
type Change struct {
	Key     string
	State   []byte
	Deleted bool
}

// Store keeps the snapshots of a dataflow's executions.
//
// An execution calls Begin once, then Load, then Start, then Write for every worker and
// epoch. The resume epoch of a new execution is the earliest epoch that every worker of
// the previous execution had not completed (1 for an empty store): every epoch below it
// is committed everywhere, so resuming there loses nothing and repeats nothing. Nothing
// is written before Start, so that an execution refused while it loads (its dataflow does
// not match what the store holds) leaves the store as it found it.
type Store interface {
	// Begin plans a new execution with the given number of workers and returns the epoch
	// it resumes from.
	Begin(workers int) (resume uint64, err error)
	// Load calls fn with the latest state of every (step, key) written for an epoch
	// below the resume epoch, skipping keys whose latest change is a deletion.
	Load(fn func(step, key string, state []byte) error) error
	// Start records the execution. It drops what was written for the resume epoch and
	// later: work of the previous execution that not every worker completed, which the
	// new one redoes.
	Start() error
	// Write records, durably, worker's snapshots of consecutive epochs (the first being
	// its frontier), then its new frontier: the epoch after the last. Writing several
	// epochs at once lets a store that fell behind catch up in one transaction.
	Write(worker int, epochs []Epoch) error
}

// Copier is a Store whose Write keeps no part of the snapshots it is given once it has
// returned: it copies what it keeps. Their memory can then be reused for later
// snapshots (Snapshot.Release). Memory is not one: it keeps the slices it is given.
type Copier interface {
	Store
	// CopiesWrites reports whether Write keeps nothing of its snapshots.
	CopiesWrites() bool
}

// Epoch is what one worker snapshotted in one epoch, nothing when no key or position
// changed.
type Epoch struct {
	Epoch uint64
	Snaps []Snapshot
	// Final marks the worker's last epoch: it has completed the whole stream. Workers
	// that read no input never advance their epoch, so at the end of a stream their
	// frontiers fall short of the readers'; a final frontier does not hold the resume
	// epoch back.
	Final bool
}

// Memory is a Store in memory.
type Memory struct {
	mu       sync.Mutex
	writes   []Write
	workers  int            // of the current execution
	frontier map[int]uint64 // of the current execution's workers
	final    map[int]bool   // the current execution's workers that completed the stream
	resume   uint64         // of the current execution
	pending  int            // workers of the execution Begin planned, 0 when none
	drop     []string       // steps whose state the next Start deletes
}

// Write is one epoch of a call of Store.Write as Memory saw it.
type Write struct {
	Worker int
	Epoch  uint64
	Snaps  []Snapshot
}

// NewMemory returns an empty in-memory store.
func NewMemory() *Memory {
	return &Memory{frontier: map[int]uint64{}, final: map[int]bool{}, resume: 1}
}

func (m *Memory) Begin(workers int) (uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.workers > 0 {
		// The previous execution's workers must all have completed an epoch to move on.
		m.resume = NextResume(m.workers, m.resume, func(w int) (uint64, bool, bool) {
			f, ok := m.frontier[w]
			return f, m.final[w], ok
		})
		m.workers = 0 // an execution that is not started leaves the resume epoch as it is
	}
	m.pending = workers
	return m.resume, nil
}

func (m *Memory) Start() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.pending == 0 {
		return errors.New("weir: recovery: start without begin")
	}
	m.writes = slices.DeleteFunc(m.writes, func(w Write) bool { return w.Epoch >= m.resume })
	if len(m.drop) > 0 {
		for i := range m.writes {
			m.writes[i].Snaps = slices.DeleteFunc(slices.Clone(m.writes[i].Snaps), func(s Snapshot) bool { return slices.Contains(m.drop, s.Step) })
		}
		m.drop = nil
	}
	m.workers, m.pending = m.pending, 0
	m.frontier, m.final = map[int]uint64{}, map[int]bool{}
	return nil
}

// DropAtStart implements Dropper.
func (m *Memory) DropAtStart(steps []string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.drop = slices.Clone(steps)
}

func (m *Memory) Load(fn func(step, key string, state []byte) error) error {
	m.mu.Lock()
	type sk struct{ step, key string }
	latest := map[sk]Change{}
	epochs := map[sk]uint64{}
	for _, w := range m.writes {
		if w.Epoch >= m.resume {
			continue
		}
		for _, s := range w.Snaps {
			for _, c := range s.Changes {
				k := sk{s.Step, c.Key}
				if e, ok := epochs[k]; !ok || w.Epoch >= e {
					latest[k], epochs[k] = c, w.Epoch
				}
			}
		}
	}
	m.mu.Unlock()
	keys := make([]sk, 0, len(latest))
	for k := range latest {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b sk) int {
		if a.step != b.step {
			return strings.Compare(a.step, b.step)
		}
		return strings.Compare(a.key, b.key)
	})
	for _, k := range keys {
		if c := latest[k]; !c.Deleted {
			if err := fn(k.step, k.key, c.State); err != nil {
				return err
			}
		}
	}
	return nil
}

// NextResume is the epoch an execution after one of workers workers, begun at resume,
// resumes from: the lowest frontier of its workers that did not complete the stream (a
// worker that wrote nothing counts at resume), or the highest when all completed it.
func NextResume(workers int, resume uint64, frontier func(w int) (epoch uint64, final, ok bool)) uint64 {
	low, high := uint64(0), resume
	for w := range workers {
		f, final, ok := frontier(w)
		if !ok {
			f, final = resume, false
		}
		if final {
			high = max(high, f)
		} else if low == 0 || f < low {
			low = f
		}
	}
	if low == 0 {
		return high
	}
	return max(low, resume)
}

func (m *Memory) Write(worker int, epochs []Epoch) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.workers == 0 {
		return errors.New("weir: recovery: write before start")
	}
	for _, e := range epochs {
		for _, s := range e.Snaps {
			// In key order, so that tests can compare what was written.
			slices.SortStableFunc(s.Changes, func(a, b Change) int { return strings.Compare(a.Key, b.Key) })
		}
		m.writes = append(m.writes, Write{Worker: worker, Epoch: e.Epoch, Snaps: e.Snaps})
		m.frontier[worker] = e.Epoch + 1
		m.final[worker] = e.Final
	}
	return nil
}

// Writes returns every write so far, in the order they were made.
func (m *Memory) Writes() []Write {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Write(nil), m.writes...)
}

// Frontier returns the epoch worker of the current execution has completed everything below.
func (m *Memory) Frontier(worker int) uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.frontier[worker]
}
