package systemtest

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// heapBound is what the live heap must stay below in a process of the stalled job: the
// engine's cap on a worker's data in flight (InFlightBytes, 64 MiB) with the garbage
// collector's room beside it (GOGC=100). Running at full speed before the stall the
// processes' heaps were measured at 35 to 72 MiB.
const heapBound = 128 << 20

// heapGrowth is how much the live heap may grow from a second into the stall to its end:
// flat, give or take the sampler's own allocations and a late garbage collection.
const heapGrowth = 8 << 20

// TestBoundedMemory runs a 2-process job whose sources never run dry, through a stateful
// step (so that half of each process's items cross to the other), into a sink that
// stalls in a write on process 1, 2 s into the run: for 5 s by default, 30 s with
// WEIR_SYSTEMTEST_LONG=1. Each process samples its heap every second; from a second
// into the stall to its end, neither's live heap as of the last collection may grow by
// more than 8 MiB or exceed 128 MiB. Not HeapInuse, which also counts the garbage not
// collected yet: a frozen stall allocates nothing, so no collection comes to free what
// the run at full speed left, and HeapInuse stood at whatever the stall found, 44 to 135
// MiB in nine runs, once over the bound (a CI run), with the live heap well below it.
// Before the stall the job runs at full speed (the progress lines show it), so that the
// debloated credit has grown: without credit-based flow control process 0 would go on
// reading and sending to the stalled process at full speed, and the heap of one or the
// other would grow with it.
func TestBoundedMemory(t *testing.T) {
	after, stall := 2*time.Second, 5*time.Second
	if long() {
		stall = 30 * time.Second
	}
	settle := after + time.Second
	j := newJob(t, layout{2, 1}, childSpec{Flow: "stall", Size: 1 << 40, Batch: 256}, "-s", "100ms", "--log-interval", "1s")
	heap := func(i int) string { return filepath.Join(j.dir, fmt.Sprintf("heap-%d.txt", i)) }
	j.tweak = func(i int, s *childSpec) {
		s.Heap = heap(i)
		if i == 1 {
			s.Stall, s.After = stall, after
		}
	}
	j.start()
	time.Sleep(after + stall)
	for i, p := range j.procs {
		if done(p) {
			t.Fatalf("process %d exited during the stall:\n%s", i, j.stderrs())
		}
	}
	j.killAll()
	for i := range j.procs {
		// The progress lines show that the sources read while the sink was not yet
		// stalled, and how little they read during the stall.
		var reads []string
		for _, m := range progressRE.FindAllStringSubmatch(j.stderr(i), -1) {
			reads = append(reads, m[1])
		}
		t.Logf("process %d: items read, second by second: %s", i, strings.Join(reads, " "))
		if len(reads) == 0 || reads[len(reads)-1] == "0" {
			t.Errorf("process %d read nothing: the job did not run, so its heap says nothing", i)
		}
		samples := readHeap(t, heap(i))
		var curve []string
		peak, first := uint64(0), uint64(0)
		n := 0
		for _, s := range samples {
			curve = append(curve, fmt.Sprintf("%.1fs:%.1f/%.1fMiB", s.at.Seconds(), float64(s.live)/(1<<20), float64(s.inuse)/(1<<20)))
			if s.at >= settle && s.at <= after+stall {
				if n == 0 {
					first = s.live
				}
				peak = max(peak, s.live)
				n++
			}
		}
		t.Logf("process %d live heap/HeapInuse: %s", i, strings.Join(curve, " "))
		if n < int((after+stall-settle)/time.Second)-1 {
			t.Errorf("process %d: %d heap samples during the stall, want about one a second", i, n)
		}
		if peak >= heapBound {
			t.Errorf("process %d: the live heap reached %.1f MiB during a %v stall, more than %d MiB",
				i, float64(peak)/(1<<20), stall, heapBound>>20)
		}
		if peak > first+heapGrowth {
			t.Errorf("process %d: the live heap grew from %.1f to %.1f MiB during a %v stall, more than %d MiB",
				i, float64(first)/(1<<20), float64(peak)/(1<<20), stall, heapGrowth>>20)
		}
	}
}

// progressRE finds the items read so far in a progress line.
var progressRE = regexp.MustCompile(`weir: progress.* in=(\d+)`)

// heapSample is one line of a process's heap file.
type heapSample struct {
	at         time.Duration
	inuse      uint64
	goroutines int
	live       uint64 // the live heap as of the last collection
}

func readHeap(t *testing.T, path string) []heapSample {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var samples []heapSample
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 4 {
			continue // a line cut short by the kill
		}
		a, err1 := strconv.ParseInt(f[0], 10, 64)
		b, err2 := strconv.ParseUint(f[1], 10, 64)
		c, err3 := strconv.Atoi(f[2])
		d, err4 := strconv.ParseUint(f[3], 10, 64)
		if err1 != nil || err2 != nil || err3 != nil || err4 != nil {
			continue
		}
		samples = append(samples, heapSample{time.Duration(a) * time.Millisecond, b, c, d})
	}
	return samples
}
