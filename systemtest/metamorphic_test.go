package systemtest

import (
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/window"
)

// recoveryLayout is where a job's recovery partitions are.
type recoveryLayout int

const (
	noRecovery    recoveryLayout = iota
	sharedDir                    // one directory for every process
	perProcessDir                // a directory per process, as on separate machines
)

func (r recoveryLayout) String() string {
	return [...]string{"none", "shared", "per-process"}[r]
}

// variant is one cell of the metamorphic matrix.
type variant struct {
	layout   layout
	recovery recoveryLayout
	batch    int
	epoch    time.Duration
}

func (v variant) String() string {
	return fmt.Sprintf("%v/recovery=%v/batch=%d/epoch=%v", v.layout, v.recovery, v.batch, v.epoch)
}

// metamorphicSize is the items per source partition: 8 partitions x 5 sources of it take
// about a second on 2 cores.
const metamorphicSize = 4000

// TestSameOutputEverywhere runs the four flows (a wordcount, a running sum per key, a
// windowed count in event time and a join) on 1 process x 4 workers, 2 x 2 and 4 x 1,
// with and without recovery (one directory for all, or one per process), with several
// batch sizes and epoch intervals, and checks that every sink's output, as a sorted
// multiset of lines over all the processes, is the same in every run and what the
// inputs imply.
func TestSameOutputEverywhere(t *testing.T) {
	variants := []variant{
		{layout{1, 4}, noRecovery, 64, 50 * time.Millisecond},
		{layout{2, 2}, sharedDir, 64, 50 * time.Millisecond},
		{layout{4, 1}, perProcessDir, 17, 20 * time.Millisecond},
		{layout{2, 2}, noRecovery, 1000, 200 * time.Millisecond},
	}
	if long() {
		variants = nil
		for _, l := range []layout{{1, 4}, {2, 2}, {4, 1}} {
			for _, r := range []recoveryLayout{noRecovery, sharedDir, perProcessDir} {
				for _, be := range []struct {
					batch int
					epoch time.Duration
				}{{7, 10 * time.Millisecond}, {64, 100 * time.Millisecond}, {1000, time.Second}} {
					variants = append(variants, variant{l, r, be.batch, be.epoch})
				}
			}
		}
	}
	want := expected(metamorphicSize)
	var first string // the first variant, for messages
	var firstOut map[string][]string
	for _, v := range variants {
		t.Run(v.String(), func(t *testing.T) {
			started := time.Now()
			j := runVariant(t, v, childSpec{Flow: "all", Size: metamorphicSize, Batch: v.batch})
			got := make(map[string][]string, len(sinks))
			var sizes []string
			for _, s := range sinks {
				got[s] = j.output(s)
				sizes = append(sizes, fmt.Sprintf("%s %d", s, len(got[s])))
				if w, ok := want[s]; ok {
					sameLines(t, s+" against the inputs", got[s], w)
				}
			}
			t.Logf("%v: %v; lines: %s", v, time.Since(started).Round(time.Millisecond), strings.Join(sizes, ", "))
			checkWindows(t, got["windows"], got["late"], metamorphicSize)
			if firstOut == nil {
				first, firstOut = v.String(), got
				return
			}
			for _, s := range sinks {
				sameLines(t, fmt.Sprintf("%s against %s", s, first), got[s], firstOut[s])
			}
		})
	}
}

// runVariant runs spec on v's layout and settings to the end and returns the job.
func runVariant(t testing.TB, v variant, spec childSpec) *job {
	t.Helper()
	spec.Batch = v.batch
	j := newJob(t, v.layout, spec, "-s", v.epoch.String(), "--log-interval", "0")
	switch v.recovery {
	case sharedDir:
		j.args = append(j.args, "-r", filepath.Join(j.dir, "recovery"), "--recovery-partitions", "4")
	case perProcessDir:
		j.args = append(j.args, "--recovery-partitions", "4")
		j.each = func(i int) []string { return []string{"-r", filepath.Join(j.dir, "recovery-"+strconv.Itoa(i))} }
	}
	j.start()
	j.mustSucceed(time.Minute)
	return j
}

// expected returns the output the inputs imply for the sinks whose lines a plain loop
// computes: the word counts, every update of the running sums, and the joined rows.
func expected(size int) map[string][]string {
	want := map[string][]string{}

	words := map[string]int{}
	sums := map[string]int{}
	var running []string
	left := map[string]kv{}
	var joined []string
	for p := range partitions {
		for i := range size {
			for _, w := range splitWords(line(p, i, size)) {
				words[w]++
			}
			a := amount(p, i, size)
			sums[a.K] += a.V
			running = append(running, weir.KV[int]{Key: a.K, Value: sums[a.K]}.String())
			l := leftSide(p, i, size)
			left[l.K] = l
		}
	}
	for p := range partitions {
		for i := range size {
			r := rightSide(p, i, size)
			if l, ok := left[r.K]; ok {
				joined = append(joined, fmt.Sprintf("(%s, [%v %v])", r.K, l, r))
			}
		}
	}
	for w, n := range words {
		want["wordcount"] = append(want["wordcount"], weir.KV[int]{Key: w, Value: n}.String())
	}
	want["running"] = running
	want["join"] = joined
	for _, s := range want {
		slices.Sort(s)
	}
	return want
}

// splitWords is strings.Fields for the generated lines' single spaces.
func splitWords(s string) []string {
	var words []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ' ' {
			words = append(words, s[start:i])
			start = i + 1
		}
	}
	return words
}

// checkWindows checks the windowed count against a model of event time: per key, in its
// partition's order, an item is late when its time is below the largest time seen before
// it less the wait (20 ms); the others count in their tumbling second.
func checkWindows(t *testing.T, down, late []string, size int) {
	t.Helper()
	counts := map[string]map[int64]int{}
	var wantLate []string
	maxSeen := map[string]int64{}
	for p := range partitions {
		for i := range size {
			e := event(p, i, size)
			if m, ok := maxSeen[e.K]; ok && e.T < m-int64(20*time.Millisecond) {
				id := floorDiv(e.T-eventBase, int64(time.Second))
				wantLate = append(wantLate, weir.KV[window.Windowed[ev]]{Key: e.K, Value: window.Windowed[ev]{Window: id, Value: e}}.String())
				continue
			}
			maxSeen[e.K] = max(maxSeen[e.K], e.T)
			if counts[e.K] == nil {
				counts[e.K] = map[int64]int{}
			}
			counts[e.K][floorDiv(e.T-eventBase, int64(time.Second))]++
		}
	}
	var wantDown []string
	for k, ws := range counts {
		for id, n := range ws {
			wantDown = append(wantDown, weir.KV[window.Windowed[int]]{Key: k, Value: window.Windowed[int]{Window: id, Value: n}}.String())
		}
	}
	slices.Sort(wantDown)
	slices.Sort(wantLate)
	if len(wantLate) == 0 {
		t.Fatal("the generated events have no late one: the test would not see lateness")
	}
	sameLines(t, "windows against the inputs", down, wantDown)
	sameLines(t, "late against the inputs", late, wantLate)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}
