package systemtest

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// committedRE finds the items read and the last committed epoch in a progress line.
var committedRE = regexp.MustCompile(`weir: progress.* in=(\d+).* committed=(\d+)`)

// stallPoint is what the test saw of the stalled job at one moment: per process, the last
// heap sample, the items read and the last committed epoch of its last progress line.
type stallPoint struct {
	at        time.Duration // since the launch
	heap      []uint64      // HeapInuse
	live      []uint64      // the live heap as of the last collection
	in        []int64
	committed []int
}

// TestStalledSink stalls the sink of process 1 of a 2-process job over a shared recovery
// directory, 3 s into the run, for 5 s (30 s with WEIR_SYSTEMTEST_LONG=1): every write
// then sleeps 250 ms, so that the sink takes a batch at a time, four a second, where the
// sources read about 100,000 items a second before. The job's items cross between the
// processes through a stateful step (1,024 keys), so that both processes' sources are
// held back by the stalled sink. Every second the test reads each process's last heap
// sample (HeapInuse and the live heap, sampled every 250 ms) and progress line (items
// read, epoch committed), and checks that during the stall (from a second into it) the
// live heap stays below 128 MiB and below its top before the stall plus the engine's cap
// on the data in flight to a worker, that the sources read less than a fifth of their
// best second before the stall in its second half, and that commits go on. It logs the
// curve every 2 s and the longest time the committed epoch stood still: the data queued
// at full speed when the stall begins drains at the sink's new pace first, 2 to 8 s here
// in which nothing commits, after which epochs commit every second or two. So the long version checks that the committed epoch grows in the stall's second
// half; the short one, whose 5 s that drain may take whole, that it has grown 2 s after
// the stall.
//
// A sink frozen in one write (TestBoundedMemory's) commits nothing until that write
// returns, by design: an epoch is committed once every worker's writes of it returned.
// The long version runs that too, for 30 s, and checks that commits resume within 5 s of
// the write's return.
func TestStalledSink(t *testing.T) {
	type variant struct {
		name string
		slow time.Duration
	}
	stall := 5 * time.Second
	variants := []variant{{"slow", 250 * time.Millisecond}}
	if long() {
		stall = 30 * time.Second
		variants = append(variants, variant{"frozen", 0})
	}
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) { stalledSink(t, stall, v.slow) })
	}
}

// stallHeapEvery is how often the stalled job's processes sample their heaps: the samples
// at full speed before the stall, several, give its baseline.
const stallHeapEvery = 250 * time.Millisecond

// inFlightBytes is the engine's cap on the data queued or parked for a worker
// (engine.Config.InFlightBytes, whose default run leaves as it is): what a stall may hold
// up in a process of one worker beyond what it held at full speed.
const inFlightBytes = 64 << 20

func stalledSink(t *testing.T, stall, slow time.Duration) {
	after := 3 * time.Second // a whole second of progress at full speed before the stall
	tail := 2 * time.Second  // the commits after the short stall
	switch {
	case slow == 0:
		tail = 6 * time.Second // the commits after the frozen write returns
	case long():
		tail = 0
	}
	j := newJob(t, layout{2, 1}, childSpec{Flow: "stall", Size: 1 << 40, Batch: 256}, "-s", "100ms",
		"--log-interval", "1s", "-r", filepath.Join(t.TempDir(), "recovery"), "--recovery-partitions", "2")
	heap := func(i int) string { return filepath.Join(j.dir, fmt.Sprintf("heap-%d.txt", i)) }
	j.tweak = func(i int, s *childSpec) {
		s.Heap, s.Every = heap(i), stallHeapEvery
		if i == 1 {
			s.Stall, s.After, s.Slow = stall, after, slow
		}
	}
	began := time.Now()
	j.start()
	var points []stallPoint
	for next := time.Second; next <= after+stall+tail; next += time.Second {
		time.Sleep(time.Until(began.Add(next)))
		pt := stallPoint{at: next}
		for i, p := range j.procs {
			if done(p) {
				t.Fatalf("process %d exited during the stall:\n%s", i, j.stderrs())
			}
			var inuse, live uint64
			if _, err := os.Stat(heap(i)); err == nil { // the sampler may not have started yet
				if hs := readHeap(t, heap(i)); len(hs) > 0 {
					inuse, live = hs[len(hs)-1].inuse, hs[len(hs)-1].live
				}
			}
			in, committed := int64(0), 0
			if ms := committedRE.FindAllStringSubmatch(j.stderr(i), -1); len(ms) > 0 {
				in, _ = strconv.ParseInt(ms[len(ms)-1][1], 10, 64)
				committed, _ = strconv.Atoi(ms[len(ms)-1][2])
			}
			pt.heap = append(pt.heap, inuse)
			pt.live = append(pt.live, live)
			pt.in = append(pt.in, in)
			pt.committed = append(pt.committed, committed)
		}
		points = append(points, pt)
	}
	j.killAll()
	var curve strings.Builder
	curve.WriteString("s, HeapInuse MiB p0/p1, live heap MiB p0/p1, items read p0/p1, committed epoch\n")
	for k, pt := range points {
		if k%2 == 1 {
			fmt.Fprintf(&curve, "%.0f, %.1f/%.1f, %.1f/%.1f, %d/%d, %d\n", pt.at.Seconds(), mib(pt.heap[0]), mib(pt.heap[1]),
				mib(pt.live[0]), mib(pt.live[1]), pt.in[0], pt.in[1], min(pt.committed[0], pt.committed[1]))
		}
	}
	t.Logf("stall from %v for %v (writes of %v each; 0: one frozen write):\n%s", after, stall, slow, curve.String())

	// points[k] is at k+1 s. The stall's points from a second into it to its end:
	first, last := int((after+time.Second)/time.Second)-1, int((after+stall)/time.Second)-1
	half := int((after+stall/2)/time.Second) - 1 // the stall's second half, once the sources have felt it
	start := int(after/time.Second) - 1          // the stall's start
	for i := range j.procs {
		// The most items read in a second at full speed: before the stall and, in the short
		// version, from a second after it (the data it held up is drained by then). Before
		// it alone, on a loaded machine whose job was slow to start, the best second was
		// 104,448 items, and the 27,648 a second of the stall's second half failed the check.
		before, outside := int64(0), int64(0)
		for k := 1; k < len(points); k++ {
			if k <= start || points[k-1].at >= after+stall+time.Second {
				outside = max(outside, points[k].in[i]-points[k-1].in[i])
			}
			if k <= start {
				before = max(before, points[k].in[i]-points[k-1].in[i])
			}
		}
		during := float64(points[last].in[i]-points[half].in[i]) / float64(last-half)
		t.Logf("process %d: read up to %d items a second before the stall, %d outside it, %.0f a second in its second half", i, before, outside, during)
		if before <= 0 {
			t.Errorf("process %d read nothing before the stall: the job did not run, so the test says nothing", i)
		}
		if during*5 > float64(outside) {
			t.Errorf("process %d read %.0f items a second in the stall's second half, up to %d a second outside it: the sources were not held back",
				i, during, outside)
		}
		// The bound is on the live heap as of the last collection, what the process holds:
		// HeapInuse also counts the garbage the collector has not reached yet, and on a
		// loaded machine (go test ./... in CI) the collector fell behind enough for it to
		// go from 59.8 to 158.4 MiB in one run of four. Its top during the stall (by the
		// samples' own clock, which is the process's: the stall starts at after) against
		// its top before it at full speed, not one sample: the live heap moves only at a
		// collection, and one taken as the queues happened to be low made a bound of twice
		// it fail (20.7 -> 61.6 MiB). Growth beyond that top is the data the stall holds
		// up, which the engine caps per worker, one per process here.
		var base, hi uint64
		nBase, nStall := 0, 0
		for _, s := range readHeap(t, heap(i)) {
			switch {
			case s.at < after && s.live > 0: // live is 0 before the first collection
				base = max(base, s.live)
				nBase++
			case s.at >= after+time.Second && s.at <= after+stall:
				hi = max(hi, s.live)
				nStall++
			}
		}
		if nBase < 3 || nStall < int((stall-time.Second)/stallHeapEvery/2) {
			t.Errorf("process %d: %d heap samples since the first collection before the stall and %d during it, want several and about one every %v",
				i, nBase, nStall, stallHeapEvery)
		}
		t.Logf("process %d: the live heap's top %.1f MiB before the stall (%d samples), %.1f MiB during it (%d)", i, mib(base), nBase, mib(hi), nStall)
		if hi >= heapBound || hi > base+inFlightBytes {
			t.Errorf("process %d: the live heap reached %.1f MiB during the stall, from a top of %.1f MiB before it: more than %d MiB above, or above %d MiB",
				i, mib(hi), mib(base), inFlightBytes>>20, heapBound>>20)
		}
	}
	committed := func(pt stallPoint) int { return min(pt.committed[0], pt.committed[1]) }
	if slow > 0 {
		// The longest time the committed epoch stood still during the stall.
		gap, from := time.Duration(0), points[first-1]
		for _, pt := range points[first : last+1] {
			if committed(pt) > committed(from) {
				from = pt
				continue
			}
			gap = max(gap, pt.at-from.at)
		}
		t.Logf("committed epochs %d to %d during the stall; the longest the committed epoch stood still: %v (within a second)",
			committed(points[first-1]), committed(points[last]), gap)
		if long() && committed(points[last]) <= committed(points[half]) {
			t.Errorf("no epoch committed from %v to %v, in the second half of the stall: epoch %d both times",
				points[half].at, points[last].at, committed(points[half]))
		}
		if end := points[len(points)-1]; !long() && committed(end) <= committed(points[start]) {
			t.Errorf("no epoch committed from %v, the stall's start, to %v: epoch %d both times",
				points[start].at, end.at, committed(end))
		}
		return
	}
	end := committed(points[last])
	resumed := false
	for _, pt := range points[last+1:] {
		if pt.at <= after+stall+5*time.Second && committed(pt) > end {
			resumed = true
		}
	}
	if !resumed {
		t.Errorf("no epoch committed within 5 s after the frozen write returned: epoch %d at its end", end)
	}
}
