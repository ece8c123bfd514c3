// Package state is the recovery store behind the engine: what a worker writes at each
// epoch close. The SQLite store lives here too once recovery lands; Memory keeps every
// write in memory, for tests and for runs without a recovery directory.
package state

import (
	"sync"

	"github.com/weirflow/weir/internal/graph"
)

// Snapshot is what one step of one worker recorded at an epoch close: keyed state for a
// stateful step, partition positions (Key = partition name) for inputs and sinks.
type Snapshot struct {
	Step    string
	Changes []graph.Change
}

// Store receives each worker's snapshots. Write must be durable before it returns: the
// epoch counts as committed by the worker once it has.
type Store interface {
	// Write records worker's snapshots for epoch, then its frontier epoch+1.
	Write(worker int, epoch uint64, snaps []Snapshot) error
}

// Memory is a Store in memory.
type Memory struct {
	mu       sync.Mutex
	writes   []Write
	frontier map[int]uint64
}

// Write is one call of Store.Write as Memory saw it.
type Write struct {
	Worker int
	Epoch  uint64
	Snaps  []Snapshot
}

// NewMemory returns an empty in-memory store.
func NewMemory() *Memory { return &Memory{frontier: map[int]uint64{}} }

func (m *Memory) Write(worker int, epoch uint64, snaps []Snapshot) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.writes = append(m.writes, Write{Worker: worker, Epoch: epoch, Snaps: snaps})
	m.frontier[worker] = epoch + 1
	return nil
}

// Writes returns every write so far, in the order they were made.
func (m *Memory) Writes() []Write {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Write(nil), m.writes...)
}

// Frontier returns the epoch worker has completed everything below.
func (m *Memory) Frontier(worker int) uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.frontier[worker]
}
