package systemtest

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/run"
)

// The kill loops: three jobs (a keyed running sum, an event-time window count and a
// join), each alone in its processes, killed with SIGKILL again and again on one
// recovery directory and one output directory, each launch on another layout, and judged
// against a fault-free run's output line by line.

// killJobs are the kill loops' jobs: each one of the "all" flow's parts, alone, and the
// sinks it writes.
var killJobs = map[string]struct {
	build func(*weir.Dataflow, childSpec)
	sinks []string
}{
	"running": {running, []string{"running"}},
	"windows": {windows, []string{"windows", "late"}},
	"join":    {join, []string{"join"}},
}

// init runs a kill loop's job in a child whose spec names one, before TestMain, which
// knows only the other flows.
func init() {
	env := os.Getenv(childEnv)
	if env == "" || os.Getenv(kafkaEnv) != "" {
		return
	}
	var spec childSpec
	if json.Unmarshal([]byte(env), &spec) != nil {
		return // TestMain reports it
	}
	kj, ok := killJobs[spec.Flow]
	if !ok {
		return
	}
	flow := weir.NewDataflow("systemtest_" + spec.Flow)
	kj.build(flow, spec)
	os.Exit(run.MainStatus(flow))
}

// killKind is when a kill comes in its launch.
type killKind int

const (
	beforeSnapshot killKind = iota // before the launch has committed an epoch
	inWrite                        // within about a millisecond of a write to the store's WAL
	anytime                        // up to 400 ms after the launch's first committed epoch
	noKill                         // the last launch, which runs to the end
)

func (k killKind) String() string {
	return [...]string{"before the first commit", "in a store write", "after a commit", "none"}[k]
}

// killLayouts are the layouts a launch takes: one process of 1 to 4 workers, or a cluster
// of 2 or 3 processes.
var killLayouts = []layout{{1, 1}, {1, 2}, {1, 3}, {1, 4}, {2, 1}, {2, 2}, {3, 1}}

// killStats is what a job's kill loops did.
type killStats struct {
	kills    [noKill]int    // by kind
	clusters int            // kills of a process of a cluster
	layouts  map[string]int // launches by layout
	resumes  []time.Duration
	result   tally
}

func (s *killStats) add(o killStats) {
	for k := range s.kills {
		s.kills[k] += o.kills[k]
	}
	s.clusters += o.clusters
	if s.layouts == nil {
		s.layouts = map[string]int{}
	}
	for l, n := range o.layouts {
		s.layouts[l] += n
	}
	s.resumes = append(s.resumes, o.resumes...)
	s.result.want += o.result.want
	s.result.got += o.result.got
	s.result.missing += o.result.missing
	s.result.doubled += o.result.doubled
	s.result.wrong += o.result.wrong
}

func (s *killStats) total() int {
	n := 0
	for _, k := range s.kills {
		n += k
	}
	return n
}

func (s *killStats) String() string {
	slices.Sort(s.resumes)
	var median time.Duration
	if len(s.resumes) > 0 {
		median = s.resumes[len(s.resumes)/2]
	}
	var ls []string
	for _, l := range killLayouts {
		ls = append(ls, fmt.Sprintf("%v %d", l, s.layouts[l.String()]))
	}
	return fmt.Sprintf("%d kills (%d %s, %d %s, %d %s; %d of a cluster's process); launches by layout: %s; "+
		"a resumed launch's first commit came %v to %v after its start (median %v, %d resumes); output: %d lines (want %d): %d lost, %d doubled, %d wrong",
		s.total(), s.kills[beforeSnapshot], beforeSnapshot, s.kills[inWrite], inWrite, s.kills[anytime], anytime, s.clusters,
		strings.Join(ls, ", "), first(s.resumes), last(s.resumes), median.Round(time.Millisecond), len(s.resumes),
		s.result.got, s.result.want, s.result.missing, s.result.doubled, s.result.wrong)
}

// TestKillLoop runs each job (a running sum per key, a count per key in tumbling windows
// of event time with its late events, a join of two keyed streams) as child processes
// on one recovery directory and one output directory, and kills a process with SIGKILL
// at a random point of each launch: before the launch has committed an epoch (in the
// first launch, before any snapshot), within a millisecond of a write to a partition's
// write-ahead log (a snapshot being written: epochs close every 20 ms), or up to 400 ms
// after the launch's first commit. Each launch takes another worker count than the one
// before: 1 to 4 workers on one process, or 2 x 1, 2 x 2 or 3 x 1 processes, where one
// process is killed and the others stop by themselves. After the last kill the job runs
// to its end, and every sink's lines, the union over the processes, must be those of a
// fault-free run: none lost, none doubled, none wrong. It reports the time from a
// launch's start to its first committed epoch (median and worst). The short version
// kills each job 4 times; WEIR_SYSTEMTEST_LONG=1, 110 times (rounds of a dozen kills on
// a fresh directory).
func TestKillLoop(t *testing.T) {
	size, kills, perRound, pace := 1000, 4, 4, 10*time.Millisecond
	if long() {
		size, kills, perRound, pace = 4000, 110, 12, 20*time.Millisecond
	}
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("WEIR_KILLLOOP_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	t.Logf("seed %d (WEIR_KILLLOOP_SEED=%d makes the same random draws; what they meet depends on timing)", seed, seed)
	var all killStats
	for n, name := range []string{"running", "windows", "join"} {
		t.Run(name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, uint64(n)))
			// The fault-free run: one process of two workers, no recovery, unpaced, which
			// TestSameOutputEverywhere's models also check.
			ref := runVariant(t, variant{layout{1, 2}, noRecovery, 100, 100 * time.Millisecond}, childSpec{Flow: name, Size: size})
			want := map[string][]string{}
			for _, s := range killJobs[name].sinks {
				want[s] = ref.output(s)
			}
			checkReference(t, name, want, size)
			var st killStats
			for round := 0; st.total() < kills; round++ {
				if round > kills {
					t.Fatalf("%d rounds made %d kills of %d", round, st.total(), kills)
				}
				spec := childSpec{Flow: name, Size: size, Batch: 10, Pace: pace}
				st.add(killRound(t, rng, spec, min(perRound, kills-st.total()), round, want))
				if t.Failed() {
					break
				}
			}
			t.Logf("%s: %v", name, &st)
			if st.result.missing+st.result.doubled+st.result.wrong > 0 {
				t.Errorf("%s: the output differs from a fault-free run's", name)
			}
			all.add(st)
		})
	}
	t.Logf("all jobs: %v", &all)
}

// checkReference checks the fault-free run's output against what the inputs imply.
func checkReference(t *testing.T, name string, want map[string][]string, size int) {
	t.Helper()
	if name == "windows" {
		checkWindows(t, want["windows"], want["late"], size)
		return
	}
	sameLines(t, name+": the fault-free run against the inputs", want[name], expected(size)[name])
}

// killRound runs a job of spec on a fresh recovery directory, killing it up to kills
// times, then to its end, and compares its output with want.
func killRound(t *testing.T, rng *rand.Rand, spec childSpec, kills, round int, want map[string][]string) killStats {
	t.Helper()
	rec := filepath.Join(t.TempDir(), "recovery")
	j := newJob(t, layout{}, spec, "-s", "20ms", "-r", rec, "--recovery-partitions", "4",
		"--heartbeat-timeout", heartbeat.String(), "--startup-timeout", "10s", "--log-interval", "0", "--log-level", "debug")
	j.shared = true
	st := killStats{layouts: map[string]int{}}
	var prev layout
	committed := 0 // the last epoch committed before a kill, by the logs
	for launch := 1; ; launch++ {
		if launch > kills+5 {
			t.Fatalf("round %d: the job did not finish in %d launches", round, launch-1)
		}
		for {
			l := killLayouts[rng.IntN(len(killLayouts))]
			if l.processes*l.workers != prev.processes*prev.workers {
				j.layout, prev = l, l
				break
			}
		}
		kind := killKind(rng.IntN(int(noKill)))
		if launch == 1 && round%2 == 0 {
			kind = beforeSnapshot // before the job's first snapshot
		}
		if st.total() == kills {
			kind = noKill
		}
		st.layouts[j.layout.String()]++
		started := time.Now()
		j.start()
		resume := 0 // not known yet
		if launch == 1 {
			resume = 1
		}
		k := j.launchKill(rng, rec, kind, func() int {
			if resume == 0 {
				resume = resumedFrom(t, j, committed+1)
			}
			return resume
		})
		if launch > 1 && !k.firstCommit.IsZero() {
			st.resumes = append(st.resumes, k.firstCommit.Sub(started))
		}
		if launch > 1 {
			resumedFrom(t, j, committed+1)
		}
		if k.victim < 0 {
			codes := j.wait(2 * time.Minute)
			for _, c := range codes {
				if c != 0 {
					t.Fatalf("round %d, launch %d (%v): exit statuses %v:\n%s", round, launch, j.layout, codes, j.stderrs())
				}
			}
			if kind != noKill {
				t.Logf("round %d: launch %d (%v) finished before its kill (%v)", round, launch, j.layout, kind)
			}
			break
		}
		codes := j.wait(heartbeat + 30*time.Second)
		for i, c := range codes {
			if i != k.victim && c == 0 && !strings.Contains(j.stderr(i), "run finished") {
				t.Errorf("round %d, launch %d (%v): process %d exited 0 after process %d was killed", round, launch, j.layout, i, k.victim)
			}
		}
		committed = max(committed, j.committed())
		st.kills[k.kind]++
		if j.layout.processes > 1 {
			st.clusters++
		}
		if t.Failed() {
			t.Fatalf("stderr:\n%s", j.stderrs())
		}
	}
	for s, w := range want {
		r := countLines(w, j.output(s))
		if r.missing+r.doubled+r.wrong > 0 {
			t.Errorf("round %d: %s against a fault-free run: %v; e.g. %s", round, s, r, r.example)
		}
		st.result.want += r.want
		st.result.got += r.got
		st.result.missing += r.missing
		st.result.doubled += r.doubled
		st.result.wrong += r.wrong
	}
	return st
}

// aKill is how a launch's kill went.
type aKill struct {
	kind        killKind
	victim      int       // the process killed; -1: none, the launch ended first
	firstCommit time.Time // when the launch was first seen to commit an epoch; zero: never
}

// launchKill watches the current launch, polling every millisecond, and kills one of its
// processes with SIGKILL when kind says: a random process at a random moment within
// 200 ms of the start, before any commit; the process writing a partition's WAL file in
// rec when it changes, after 1 to 6 such changes; a random process up to 400 ms after the
// launch's first commit. A kill before the first commit that comes too late becomes one
// after it. resume returns the epoch the launch resumes from. It returns once it has
// killed or, with noKill or when the launch ends first, once a process has exited.
func (j *job) launchKill(rng *rand.Rand, rec string, kind killKind, resume func() int) aKill {
	k := aKill{kind: kind, victim: rng.IntN(j.layout.processes)}
	early := time.Duration(rng.Int64N(int64(200 * time.Millisecond)))
	after := time.Duration(rng.Int64N(int64(400 * time.Millisecond)))
	writes := 1 + rng.IntN(6)
	started := time.Now()
	wal := walFiles(rec)
	var checked time.Time
	for {
		for _, p := range j.procs {
			if done(p) {
				k.victim = -1
				return k
			}
		}
		now := time.Now()
		if k.firstCommit.IsZero() && now.Sub(checked) >= 10*time.Millisecond {
			checked = now
			if e := resume(); e > 0 && j.committed() >= e {
				k.firstCommit = now
				if k.kind == beforeSnapshot {
					k.kind = anytime
				}
			}
		}
		kill := false
		switch k.kind {
		case beforeSnapshot:
			// A cluster's processes are killed once they run: before, the others would
			// wait for the startup timeout.
			kill = now.Sub(started) >= early &&
				(j.layout.processes == 1 || strings.Contains(j.stderr(k.victim), "run starting"))
		case inWrite:
			if changed := walChanged(rec, wal); changed != "" {
				if writes--; writes == 0 {
					if v := j.holder(changed); v >= 0 {
						k.victim = v
					}
					kill = true
				}
			}
		case anytime:
			kill = !k.firstCommit.IsZero() && now.Sub(k.firstCommit) >= after
		}
		if kill {
			j.signal(k.victim, syscall.SIGKILL)
			return k
		}
		time.Sleep(time.Millisecond)
	}
}

// walFiles returns the size and modification time of each WAL file in rec.
func walFiles(rec string) map[string]string {
	m := map[string]string{}
	paths, _ := filepath.Glob(filepath.Join(rec, "*-wal"))
	for _, p := range paths {
		if fi, err := os.Stat(p); err == nil {
			m[p] = fmt.Sprint(fi.Size(), fi.ModTime().UnixNano())
		}
	}
	return m
}

// walChanged returns a WAL file of rec that changed since last, which it updates; "":
// none.
func walChanged(rec string, last map[string]string) string {
	changed := ""
	for p, s := range walFiles(rec) {
		if last[p] != s {
			last[p] = s
			changed = p
		}
	}
	return changed
}

// holder returns the process of the current launch that has path open, by its file
// descriptors (Linux); -1 when none is seen to.
func (j *job) holder(path string) int {
	for i, p := range j.procs {
		fds := fmt.Sprintf("/proc/%d/fd", p.cmd.Process.Pid)
		ents, err := os.ReadDir(fds)
		if err != nil {
			return -1
		}
		for _, e := range ents {
			if target, err := os.Readlink(filepath.Join(fds, e.Name())); err == nil && target == path {
				return i
			}
		}
	}
	return -1
}

// resumedFrom returns the epoch the current launch's processes resume from, by their
// start lines, once one has logged it, and checks that those that have agree and resume
// after epoch least-1, committed before the kill; 0 while none has.
func resumedFrom(t *testing.T, j *job, least int) int {
	t.Helper()
	e := 0
	for i := range j.procs {
		m := resumeRE.FindStringSubmatch(j.stderr(i))
		if m == nil {
			continue
		}
		n, _ := strconv.Atoi(m[1])
		if e != 0 && n != e {
			t.Errorf("launch %d: process %d resumes from epoch %d, another from %d", j.launch, i, n, e)
		}
		if n < least {
			t.Errorf("launch %d: process %d resumes from epoch %d, though epoch %d was committed before the kill", j.launch, i, n, least-1)
		}
		e = n
	}
	return e
}

// countLines tallies got, a sink's lines, against want, a fault-free run's, both as
// multisets: a wanted line missing or with fewer copies is lost, a copy beyond the wanted
// ones is doubled, a line no fault-free run writes is wrong.
func countLines(want, got []string) tally {
	t := tally{want: len(want), got: len(got)}
	w, g := map[string]int{}, map[string]int{}
	for _, l := range want {
		w[l]++
	}
	for _, l := range got {
		g[l]++
	}
	for _, l := range want {
		n, c := w[l], g[l]
		if n == 0 {
			continue // counted
		}
		w[l] = 0
		switch {
		case c < n:
			t.missing += n - c
			if t.example == "" {
				t.example = "lost " + strconv.Quote(l)
			}
		case c > n:
			t.doubled += c - n
			if t.example == "" {
				t.example = "doubled " + strconv.Quote(l)
			}
		}
		g[l] = -1
	}
	for l, c := range g {
		if c > 0 {
			t.wrong += c
			if t.example == "" {
				t.example = "wrong " + strconv.Quote(l)
			}
		}
	}
	return t
}

// TestCountLines checks the kill loops' judge on output it must find wrong.
func TestCountLines(t *testing.T) {
	want := []string{"(a, 1)", "(a, 3)", "(b, 2)", "(b, 2)"}
	for _, c := range []struct {
		name string
		got  []string
		want tally
	}{
		{"right", []string{"(b, 2)", "(a, 1)", "(b, 2)", "(a, 3)"}, tally{}},
		{"lost", []string{"(a, 1)", "(a, 3)", "(b, 2)"}, tally{missing: 1}},
		{"doubled", []string{"(a, 1)", "(a, 1)", "(a, 3)", "(b, 2)", "(b, 2)", "(b, 2)"}, tally{doubled: 2}},
		{"wrong", []string{"(a, 1)", "(a, 4)", "(b, 2)", "(b, 2)"}, tally{missing: 1, wrong: 1}},
	} {
		got := countLines(want, c.got)
		got.want, got.got, got.example = 0, 0, ""
		if got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}
