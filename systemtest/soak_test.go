package systemtest

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/sink"
	"github.com/weirflow/weir/window"
)

// soakGrowth and soakSlack bound how much the peak HeapInuse of the soak's second half
// may exceed that of its first half (after warm-up): a quarter plus 4 MiB. HeapInuse
// swings between the live heap and about twice it as each garbage collection comes and
// goes (GOGC=100), so one sample says little; the peak over many samples is the top of
// the cycle in either half, the same when nothing leaks. A leak that matters is caught:
// the long soak reads about 32 million items and writes about 9,000 epochs per process,
// so a byte kept per item or 2 KB per epoch adds more than the slack between the halves.
const (
	soakGrowth = 0.25
	soakSlack  = 4 << 20
)

// soakGoroutines is how many more goroutines the second half's peak may have than the
// first's: a flow's goroutines are fixed once it runs, beside a few that come and go (a
// snapshot's writers, a connection's reader between two reads); one left behind per epoch
// or per second would be thousands.
const soakGoroutines = 8

// TestSoak runs a 2-process job over a shared recovery directory, with an epoch every
// 200 ms, whose sources never run dry: a running sum per key, whose items cross between
// the processes, and an event-time window count, into sinks that count what they get.
// Each process samples its HeapInuse and goroutine count. After a warm-up (a fifth of the
// run, at most 2 minutes), the run's samples are split in two halves: the second half's
// peaks may exceed the first's by at most soakGrowth and soakSlack (heap) and
// soakGoroutines, neither process may exit, and both must keep reading to the end.
//
// The default run lasts 6 s, sampled every 250 ms: the harness and the bounds, not a
// leak's slow growth. WEIR_SOAK=1 runs 30 minutes sampled every 10 s;
// WEIR_SOAK_DURATION (a Go duration) sets another length.
func TestSoak(t *testing.T) {
	d := 6 * time.Second
	if os.Getenv("WEIR_SOAK") == "1" {
		d = 30 * time.Minute
	}
	if s := os.Getenv("WEIR_SOAK_DURATION"); s != "" {
		var err error
		if d, err = time.ParseDuration(s); err != nil || d < 2*time.Second {
			t.Fatalf("WEIR_SOAK_DURATION=%q: want a duration of 2s or more", s)
		}
	}
	every, logEvery := 250*time.Millisecond, time.Second
	if d >= 10*time.Minute {
		every, logEvery = 10*time.Second, 10*time.Second
	}
	warm := min(d/5, 2*time.Minute)
	// 25 items every 10 ms per partition: 20,000 items a second per source, two
	// sources, a fraction of a core of the two this machine shares.
	spec := childSpec{Flow: "soak", Size: 1 << 40, Batch: 25, Pace: 10 * time.Millisecond, Every: every}
	j := newJob(t, layout{2, 1}, spec, "-s", "200ms", "-r", filepath.Join(t.TempDir(), "recovery"),
		"--recovery-partitions", "2", "--log-interval", logEvery.String())
	heap := func(i int) string { return filepath.Join(j.dir, fmt.Sprintf("heap-%d.txt", i)) }
	j.tweak = func(i int, s *childSpec) { s.Heap = heap(i) }
	j.start()
	for end := time.Now().Add(d); time.Now().Before(end); {
		time.Sleep(min(time.Second, time.Until(end)))
		for i, p := range j.procs {
			if done(p) {
				t.Fatalf("process %d exited during the soak:\n%s", i, j.stderrs())
			}
		}
	}
	j.killAll()
	for i := range j.procs {
		var reads []int
		for _, m := range progressRE.FindAllStringSubmatch(j.stderr(i), -1) {
			n, _ := strconv.Atoi(m[1])
			reads = append(reads, n)
		}
		if len(reads) < 2 || reads[len(reads)-1] <= reads[len(reads)/2] {
			t.Errorf("process %d: items read, log line by log line: %v: the job did not keep reading", i, reads)
		}
		if len(reads) > 0 {
			t.Logf("process %d: %d items read in %v", i, reads[len(reads)-1], d)
		}
		samples := readHeap(t, heap(i))
		var first, second []heapSample
		for _, s := range samples {
			switch {
			case s.at < warm:
			case s.at < warm+(d-warm)/2:
				first = append(first, s)
			default:
				second = append(second, s)
			}
		}
		t.Logf("process %d: %s", i, soakCurve(samples, d))
		if len(first) < 3 || len(second) < 3 {
			t.Fatalf("process %d: %d and %d samples in the soak's halves, want several", i, len(first), len(second))
		}
		h1, h2 := peak(first, heapInuse), peak(second, heapInuse)
		if h2 >= heapBound {
			t.Errorf("process %d: HeapInuse reached %.1f MiB, more than %d MiB", i, mib(h2), heapBound>>20)
		}
		if float64(h2) > float64(h1)*(1+soakGrowth)+soakSlack {
			t.Errorf("process %d: HeapInuse's peak grew from %.1f MiB in the first half to %.1f MiB in the second, more than %.0f%% and %d MiB",
				i, mib(h1), mib(h2), soakGrowth*100, soakSlack>>20)
		}
		if g1, g2 := peak(first, goroutines), peak(second, goroutines); g2 > g1+soakGoroutines {
			t.Errorf("process %d: goroutines grew from %d in the first half to %d in the second, more than %d",
				i, g1, g2, soakGoroutines)
		}
	}
}

func heapInuse(s heapSample) uint64  { return s.inuse }
func goroutines(s heapSample) uint64 { return uint64(s.goroutines) }

// peak returns the largest of f over samples.
func peak(samples []heapSample, f func(heapSample) uint64) uint64 {
	var m uint64
	for _, s := range samples {
		m = max(m, f(s))
	}
	return m
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

// soakCurve summarises samples in ten slices of d: each slice's peak HeapInuse and
// goroutine count, the table the README shows.
func soakCurve(samples []heapSample, d time.Duration) string {
	var b strings.Builder
	b.WriteString("elapsed: peak HeapInuse MiB / goroutines:")
	for k := range 10 {
		from, to := d*time.Duration(k)/10, d*time.Duration(k+1)/10
		var in []heapSample
		for _, s := range samples {
			if s.at >= from && s.at < to {
				in = append(in, s)
			}
		}
		if len(in) == 0 {
			continue
		}
		fmt.Fprintf(&b, " %v: %.1f / %d;", to.Round(d/100), mib(peak(in, heapInuse)), peak(in, goroutines))
	}
	return strings.TrimSuffix(b.String(), ";")
}

// soakFlow is the soak's job: a running sum per key over 128 keys, which crosses between
// processes, and a count per key in tumbling windows of event time, whose state empties
// as the windows close; the sinks drop their items, so that the disk does not fill however
// long it runs. Its state stays the same size: what grows is a leak.
func soakFlow(spec childSpec) *weir.Dataflow {
	flow := weir.NewDataflow("systemtest_soak")
	items := op.Input("amounts", flow, newGen(spec, amount))
	keyed := op.KeyOn("key_amounts", items, func(a kv) string { return a.K })
	sums := op.StatefulMap("sum", op.MapValue("values", keyed, func(a kv) int { return a.V }),
		func(st *op.State[int], v int) int {
			s, _ := st.Get()
			st.Set(s + v)
			return s + v
		})
	op.Output("running", sums, discard[weir.KV[int]]())
	events := op.Input("events", flow, newGen(spec, event))
	clock := window.EventTime(func(e ev) time.Time { return time.Unix(0, e.T) }, 20*time.Millisecond)
	out := window.Count("count_windows", events, clock, window.Tumbling(time.Second, time.Unix(0, eventBase)),
		func(e ev) string { return e.K })
	op.Output("windows", out.Down, discard[weir.KV[window.Windowed[int]]]())
	op.Output("late", out.Late, discard[weir.KV[window.Windowed[ev]]]())
	return flow
}

// discard is a sink that drops what it gets.
func discard[T any]() sink.Sink[T] {
	return sink.Func(func([]T) error { return nil })
}
