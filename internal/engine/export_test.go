package engine

import (
	"sync"

	"github.com/weirflow/weir/internal/comm"
)

// MaxLoad makes every run until stop is called record, by worker, the largest load (bytes
// queued for it, or parked there) seen at the end of a round, and returns it from stop.
func MaxLoad() (stop func() map[int]int) {
	var mu sync.Mutex
	most := map[int]int{}
	observeLoad = func(w int, m comm.Mesh, held int) {
		load := m.(*comm.Local).Queued(w) + held
		mu.Lock()
		most[w] = max(most[w], load)
		mu.Unlock()
	}
	return func() map[int]int {
		observeLoad = nil
		mu.Lock()
		defer mu.Unlock()
		return most
	}
}
