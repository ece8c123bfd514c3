package systemtest

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// heapBound is what HeapInuse must stay below in a process of the stalled job.
const heapBound = 64 << 20

// TestBoundedMemory runs a 2-process job whose sources never run dry, through a stateful
// step (so that half of each process's items cross to the other), into a sink that
// stalls in its first write on process 1: 5 s by default, 30 s with
// WEIR_SYSTEMTEST_LONG=1. Each process samples its HeapInuse every second; after the
// first second (5 s in the long version) neither may exceed 64 MiB. Without credit-based
// flow control process 0 would go on reading and sending, at hundreds of MB a second,
// and the stalled process would go on receiving.
func TestBoundedMemory(t *testing.T) {
	stall, settle := 5*time.Second, time.Second
	if long() {
		stall, settle = 30*time.Second, 5*time.Second
	}
	j := newJob(t, layout{2, 1}, childSpec{Flow: "stall", Size: 1 << 40, Batch: 256}, "-s", "100ms", "--log-interval", "0")
	heap := func(i int) string { return filepath.Join(j.dir, fmt.Sprintf("heap-%d.txt", i)) }
	j.tweak = func(i int, s *childSpec) {
		s.Heap = heap(i)
		if i == 1 {
			s.Stall = stall
		}
	}
	j.start()
	time.Sleep(stall + 500*time.Millisecond)
	for i, p := range j.procs {
		if done(p) {
			t.Fatalf("process %d exited during the stall:\n%s", i, j.stderrs())
		}
	}
	j.killAll()
	for i := range j.procs {
		samples := readHeap(t, heap(i))
		var curve []string
		peak := uint64(0)
		n := 0
		for _, s := range samples {
			curve = append(curve, fmt.Sprintf("%.1fs:%.1fMiB", s.at.Seconds(), float64(s.inuse)/(1<<20)))
			if s.at >= settle {
				peak = max(peak, s.inuse)
				n++
			}
		}
		t.Logf("process %d HeapInuse: %s", i, strings.Join(curve, " "))
		if n < int((stall-settle)/time.Second)-1 {
			t.Errorf("process %d: %d heap samples after %v, want about one a second", i, n, settle)
		}
		if peak >= heapBound {
			t.Errorf("process %d: HeapInuse reached %.1f MiB after %v of a %v stall, more than %d MiB",
				i, float64(peak)/(1<<20), settle, stall, heapBound>>20)
		}
	}
}

// heapSample is one line of a process's heap file.
type heapSample struct {
	at    time.Duration
	inuse uint64
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
		ms, inuse, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue // a line cut short by the kill
		}
		a, err1 := strconv.ParseInt(ms, 10, 64)
		b, err2 := strconv.ParseUint(inuse, 10, 64)
		if err1 != nil || err2 != nil {
			continue
		}
		samples = append(samples, heapSample{time.Duration(a) * time.Millisecond, b})
	}
	return samples
}
