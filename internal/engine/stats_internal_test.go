package engine

import (
	"testing"
	"time"
	"unsafe"

	"github.com/weirflow/weir/internal/plan"
)

// A step's fast calls are timed by sample, about one in sampleEvery, each timed call
// counting for the calls not timed before it, so the total is the calls' time but for the
// few calls after the last timed one; a slow step's calls are all timed.
func TestSampledTiming(t *testing.T) {
	for _, tc := range []struct {
		name      string
		each      [2]time.Duration // by step
		timedMost float64          // the most of the calls that may be timed
	}{
		{"fast steps, sampled", [2]time.Duration{3 * time.Microsecond, 7 * time.Microsecond}, 1.0 / 16},
		{"a slow step among fast ones", [2]time.Duration{2 * time.Microsecond, 100 * time.Microsecond}, 0.5 + 1.0/16},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const calls = 20000
			now, reads := time.Unix(0, 0), 0
			ws := &workerStats{steps: make([]stepCounters, 2), rng: 0x9e3779b97f4a7c15,
				now: func() time.Time { reads++; return now }}
			for range calls {
				for i, d := range tc.each {
					start := ws.start(i)
					now = now.Add(d)
					ws.spent(i, start)
				}
			}
			for i, d := range tc.each {
				busy, want := time.Duration(ws.steps[i].busy.Load()), calls*d
				// The calls after the last timed one are not counted yet: at most 2*sampleEvery.
				if busy > want || busy < want-2*sampleEvery*d {
					t.Errorf("step %d: busy %v, want %v", i, busy, want)
				}
			}
			if timed := float64(reads) / 2 / (2 * calls); timed > tc.timedMost {
				t.Errorf("%.3f of the calls timed, want at most %.3f", timed, tc.timedMost)
			}
		})
	}
}

// TestCountersApart guards the layout of the workers' counters, which each worker writes
// at every batch: no cache line holds counters of two workers of a Stats, whatever the
// number of steps. Unpadded, a plan of one or two steps had each worker's step counters
// (208 or 416 bytes) share a line with the next worker's.
func TestCountersApart(t *testing.T) {
	for workers := 2; workers <= 4; workers++ {
		for nodes := 1; nodes <= 12; nodes++ {
			r := &runState{plan: &plan.Plan{Nodes: make([]*plan.Node, nodes)}, cfg: Config{Workers: workers}}
			o := newObs(r)
			owner := map[uintptr]int{} // cache line -> worker
			claim := func(w int, p, size uintptr) {
				for line := p / cacheLine; line <= (p+size-1)/cacheLine; line++ {
					if o, ok := owner[line]; ok && o != w {
						t.Errorf("%d workers, %d steps: workers %d and %d write one cache line", workers, nodes, o, w)
						return
					}
					owner[line] = w
				}
			}
			for w, ws := range o.workers {
				// A worker's own figures, but for the padding that ends them.
				claim(w, uintptr(unsafe.Pointer(ws)), unsafe.Sizeof(*ws)-cacheLine)
				claim(w, uintptr(unsafe.Pointer(&ws.steps[0])), uintptr(len(ws.steps))*unsafe.Sizeof(ws.steps[0]))
			}
		}
	}
}
