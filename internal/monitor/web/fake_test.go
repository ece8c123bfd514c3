package web

import (
	"sync"
	"time"

	"github.com/weirflow/weir/internal/engine"
)

// fakeStats is a run's figures as a test sets them.
type fakeStats struct {
	mu sync.Mutex
	st engine.Status
}

func (f *fakeStats) Read() engine.Status {
	f.mu.Lock()
	defer f.mu.Unlock()
	st := f.st
	st.Steps = append([]engine.StepStatus(nil), f.st.Steps...)
	for i := range st.Steps {
		st.Steps[i].Workers = append([]engine.StepWorker(nil), f.st.Steps[i].Workers...)
	}
	st.WorkerStatus = append([]engine.WorkerStatus(nil), f.st.WorkerStatus...)
	return st
}

func (f *fakeStats) set(fn func(st *engine.Status)) {
	f.mu.Lock()
	fn(&f.st)
	f.mu.Unlock()
}

// fakeClock is a clock a test moves.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

var t0 = time.Date(2026, 12, 5, 2, 0, 0, 0, time.UTC)

// twoSteps is a run of an input and a sink on workers 2 and 3 of a cluster of two
// processes of two workers each.
func twoSteps() engine.Status {
	return engine.Status{
		Flow: "f", Process: 1, Processes: 2, Workers: []int{2, 3}, Running: true, Started: t0, Resume: 1,
		Steps: []engine.StepStatus{
			{ID: "f.in", Kind: "input", Workers: []engine.StepWorker{{Worker: 2}, {Worker: 3}}},
			{ID: "f.out", Kind: "output", Workers: []engine.StepWorker{{Worker: 2}, {Worker: 3}}},
		},
		WorkerStatus: []engine.WorkerStatus{
			{Worker: 2, Epoch: 1, Credits: make([]int64, 4)},
			{Worker: 3, Epoch: 1, Credits: make([]int64, 4)},
		},
	}
}
