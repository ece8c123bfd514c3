package engine

import (
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// A resume's load allocates what it keeps: nearly everything it allocates (keys, states,
// the keyed runtime's entries and logics, its key map) is still live when the load ends.
// The collector, paced by GOGC (100 unless the program says otherwise), begins a cycle
// each time the heap doubles: about 7 on the way from a few MiB to the 270 MiB of a resume
// of 1M keys, each marking all the state loaded so far to free almost nothing, and while
// it marks, every pointer the load writes goes through the write barrier. That was
// 0.15-0.25 s of CPU of the 1.1-1.3 s to the first item of such a resume (CPU profiles;
// 2 cycles instead of 7). So while a run loads, GOGC is raised to loadGOGC, and put back
// once the last load under way in the process has ended (runs may load at once).
//
// GOGC is the program's setting, so the change is kept narrow: a GOGC that is off or
// already at least loadGOGC is left alone, and one the program changed during the load is
// not put back over. A memory limit (GOMEMLIMIT, debug.SetMemoryLimit) still holds: the
// collector runs as the heap nears it whatever GOGC is. The cost is memory: the heap may
// grow to 5 times its live size since the last cycle instead of twice, about a fifth more
// at the end of a load (330 MiB rather than 280 for 1M keys).
const loadGOGC = 400

var loadGC struct {
	mu     sync.Mutex
	loads  int  // loads under way
	raised bool // the first of them set GOGC to loadGOGC
	old    int  // the GOGC it found
}

// raiseGC raises GOGC for a load; the function it returns ends the load (at most once).
func raiseGC() (end func()) {
	loadGC.mu.Lock()
	defer loadGC.mu.Unlock()
	if loadGC.loads == 0 {
		if cur := gogc(); cur >= 0 && cur < loadGOGC {
			loadGC.old, loadGC.raised = debug.SetGCPercent(loadGOGC), true
		}
	}
	loadGC.loads++
	return sync.OnceFunc(func() {
		loadGC.mu.Lock()
		defer loadGC.mu.Unlock()
		loadGC.loads--
		if loadGC.loads == 0 && loadGC.raised {
			loadGC.raised = false
			if gogc() == loadGOGC { // else the program set it meanwhile
				debug.SetGCPercent(loadGC.old)
			}
		}
	})
}

// gogc returns the collector's GOGC, -1 when off.
func gogc() int {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	return int(int64(s[0].Value.Uint64()))
}
