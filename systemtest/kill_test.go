package systemtest

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// heartbeat is the kill test's heartbeat timeout: the survivors of a kill must stop within
// it.
const heartbeat = 2 * time.Second

// exitSlack is what a survivor may take beyond the heartbeat timeout to print its error
// and exit.
const exitSlack = time.Second

// TestKill9 kills a process of a running 3-process job over a shared recovery directory
// with SIGKILL: the other two must exit non-zero within the heartbeat timeout, naming the
// lost process; started again on the same directory, all three resume from a committed
// epoch, and the job's final output is that of a run that was never killed: nothing lost,
// nothing written twice. The short version kills once; WEIR_SYSTEMTEST_LONG=1 kills 20
// times, at random moments, a random process.
func TestKill9(t *testing.T) {
	size, kills := 1500, 1
	if long() {
		size, kills = 20000, 20 // 30 s of input: the kills come before its end
	}
	// Batches of 10 items every 15 ms per partition: about 2.3 s of input in the short
	// version, so that a kill up to a second after the first commit lands mid-run.
	spec := childSpec{Flow: "all", Size: size, Batch: 10, Pace: 15 * time.Millisecond}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 14))

	// The fault-free run, on one process, unpaced.
	ref := runVariant(t, variant{layout{1, 3}, noRecovery, 100, 100 * time.Millisecond}, childSpec{Flow: "all", Size: size})
	want := map[string][]string{}
	for _, s := range sinks {
		want[s] = ref.output(s)
	}

	// At debug level each process logs every epoch its workers write: an epoch every
	// worker has written is committed, and a restart must resume after it.
	j := newJob(t, layout{3, 1}, spec, "-s", "100ms", "-r", filepath.Join(t.TempDir(), "recovery"),
		"--recovery-partitions", "4", "--heartbeat-timeout", heartbeat.String(), "--log-interval", "0", "--log-level", "debug")
	var resumes []int
	killed, committed := 0, 0
	for launch := 1; ; launch++ {
		if launch > kills+5 {
			t.Fatalf("the job did not finish in %d launches", launch-1)
		}
		j.start()
		resume := 1
		if launch > 1 {
			resume = checkResumed(t, j, committed+1)
			resumes = append(resumes, resume)
		}
		if killed == kills {
			j.mustSucceed(time.Minute)
			break
		}
		// Kill once this launch has committed an epoch, and up to a second (2.2 s in
		// the long version) later.
		if !j.awaitCommitted(resume, 30*time.Second) {
			codes := j.wait(time.Minute)
			t.Logf("launch %d ended before it committed an epoch: %v", launch, codes)
			for _, c := range codes {
				if c != 0 {
					t.Fatalf("launch %d: exit statuses %v:\n%s", launch, codes, j.stderrs())
				}
			}
			break
		}
		at := time.Duration(rng.Int64N(int64(time.Second)))
		if long() {
			at = time.Duration(rng.Int64N(int64(2200 * time.Millisecond)))
		}
		victim := 1
		if long() {
			victim = rng.IntN(3)
		}
		select {
		case <-j.procs[0].done:
		case <-j.procs[1].done:
		case <-j.procs[2].done:
		case <-time.After(at):
		}
		if done(j.procs[victim]) {
			// The job ended (or failed) before the kill: a finished job is not killed.
			codes := j.wait(time.Minute)
			t.Logf("launch %d ended before its kill %v after its first commit: %v", launch, at, codes)
			for _, c := range codes {
				if c != 0 {
					t.Fatalf("launch %d: exit statuses %v:\n%s", launch, codes, j.stderrs())
				}
			}
			break
		}
		committed = j.committed()
		killedAt := time.Now()
		j.signal(victim, syscall.SIGKILL)
		killed++
		codes := j.wait(heartbeat + 30*time.Second)
		var stops []string
		for i, p := range j.procs {
			if i == victim {
				continue
			}
			took := p.exited.Sub(killedAt)
			stops = append(stops, fmt.Sprintf("process %d: status %d after %v: %s", i, codes[i], took.Round(time.Millisecond), lastLine(j.stderr(i))))
			if codes[i] == 0 && !strings.Contains(j.stderr(i), "run finished") {
				t.Errorf("launch %d: process %d exited 0 after process %d was killed", launch, i, victim)
			}
			if codes[i] == 0 {
				continue // it had finished its part before the kill
			}
			if took > heartbeat+exitSlack {
				t.Errorf("launch %d: process %d took %v to stop after process %d was killed, more than the heartbeat timeout %v (and %v to exit)",
					launch, i, took, victim, heartbeat, exitSlack)
			}
			if !namesLost(j.stderr(i), victim, j.addrs[victim]) {
				t.Errorf("launch %d: process %d's stderr does not name the lost process %d (%s):\n%s",
					launch, i, victim, j.addrs[victim], tail(j.stderr(i), 10))
			}
		}
		t.Logf("launch %d: killed process %d %v after its first commit, with epoch %d committed; %s",
			launch, victim, at.Round(time.Millisecond), committed, strings.Join(stops, "; "))
		if t.Failed() {
			t.Fatalf("stderr:\n%s", j.stderrs())
		}
	}
	t.Logf("%d kills; the restarts resumed from epochs %v", killed, resumes)
	if killed == 0 {
		t.Fatal("the job finished before the first kill: its input is too short to test a kill")
	}
	for _, s := range sinks {
		sameLines(t, s+" after kill -9 and restart against a run without faults", j.output(s), want[s])
	}
}

// done reports whether p has exited.
func done(p *proc) bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// resumeRE finds the epoch a run resumes from in its start line.
var resumeRE = regexp.MustCompile(`run starting.* resume=(\d+)`)

// checkResumed waits for every process of a restarted job to log its start and checks
// that they resume from one epoch, no earlier than least (nor than 2); it returns it.
func checkResumed(t *testing.T, j *job, least int) int {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	epochs := make([]int, len(j.procs))
	for i := range j.procs {
		for {
			if m := resumeRE.FindStringSubmatch(j.stderr(i)); m != nil {
				epochs[i], _ = strconv.Atoi(m[1])
				break
			}
			if done(j.procs[i]) || time.Now().After(deadline) {
				t.Fatalf("process %d of launch %d logged no start:\n%s", i, j.launch, j.stderrs())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	for i, e := range epochs {
		if e != epochs[0] {
			t.Errorf("launch %d: the processes resume from epochs %v, not one", j.launch, epochs)
			break
		}
		if e < max(least, 2) {
			t.Errorf("launch %d: process %d resumes from epoch %d, though epoch %d was committed before the kill", j.launch, i, e, least-1)
		}
	}
	return epochs[0]
}

// writtenRE finds a worker's epoch written in a debug line.
var writtenRE = regexp.MustCompile(`epoch written" worker=(\d+) epoch=(\d+)`)

// committed returns the last epoch that every worker of the current launch has logged as
// written: committed, by the store's rule. 0 when some worker has written none.
func (j *job) committed() int {
	last := map[int]int{}
	for i := range j.procs {
		for _, m := range writtenRE.FindAllStringSubmatch(j.stderr(i), -1) {
			w, _ := strconv.Atoi(m[1])
			e, _ := strconv.Atoi(m[2])
			last[w] = max(last[w], e)
		}
	}
	if len(last) < j.layout.processes*j.layout.workers {
		return 0
	}
	least := -1
	for _, e := range last {
		if least < 0 || e < least {
			least = e
		}
	}
	return least
}

// awaitCommitted waits up to d until the current launch has committed epoch e, and
// reports whether it has; it returns false at once when a process exits.
func (j *job) awaitCommitted(e int, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for j.committed() < e {
		for _, p := range j.procs {
			if done(p) {
				return false
			}
		}
		if time.Now().After(deadline) {
			j.t.Fatalf("launch %d committed no epoch %d within %v:\n%s", j.launch, e, d, j.stderrs())
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}

// namesLost reports whether a survivor's stderr names the lost process, by id or address.
func namesLost(stderr string, i int, addr string) bool {
	return strings.Contains(stderr, "process "+strconv.Itoa(i)) || strings.Contains(stderr, addr)
}

// TestSilentProcess stops a process of a running 3-process job with SIGSTOP: its
// connections stay open but it says nothing, so only the heartbeat can tell. The other two
// must exit non-zero within the heartbeat timeout (2 s) and a second, naming the silent
// process.
func TestSilentProcess(t *testing.T) {
	j := newJob(t, layout{3, 1}, childSpec{Flow: "all", Size: 100_000, Batch: 10, Pace: 15 * time.Millisecond},
		"-s", "100ms", "--heartbeat-timeout", heartbeat.String(), "--log-interval", "0")
	j.start()
	// Wait for every process to start its run, so that the stop lands mid-run.
	for i := range j.procs {
		for !strings.Contains(j.stderr(i), "run starting") {
			if done(j.procs[i]) {
				t.Fatalf("process %d exited before it started:\n%s", i, j.stderrs())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	time.Sleep(300 * time.Millisecond)
	stoppedAt := time.Now()
	j.signal(1, syscall.SIGSTOP)
	defer j.procs[1].cmd.Process.Kill() // a stopped process dies of SIGKILL too
	for _, i := range []int{0, 2} {
		select {
		case <-j.procs[i].done:
		case <-time.After(heartbeat + 30*time.Second):
			t.Fatalf("process %d still runs %v after process 1 went silent:\n%s", i, heartbeat+30*time.Second, j.dump())
		}
		p := j.procs[i]
		took := p.exited.Sub(stoppedAt)
		t.Logf("process %d: status %d after %v: %s", i, p.code, took.Round(time.Millisecond), lastLine(j.stderr(i)))
		if p.code == 0 {
			t.Errorf("process %d exited 0 while process 1 was silent", i)
		}
		if took > heartbeat+exitSlack {
			t.Errorf("process %d took %v to stop after process 1 went silent, more than the heartbeat timeout %v (and %v to exit)",
				i, took, heartbeat, exitSlack)
		}
		if took < heartbeat/2 {
			t.Errorf("process %d stopped %v after process 1 went silent: sooner than a heartbeat timeout of %v allows", i, took, heartbeat)
		}
		if !namesLost(j.stderr(i), 1, j.addrs[1]) {
			t.Errorf("process %d's stderr does not name the silent process 1 (%s):\n%s", i, j.addrs[1], tail(j.stderr(i), 10))
		}
	}
}

// TestRescale kills a 3 x 1 job with SIGKILL, resumes it as 2 processes x 2 workers, kills
// that too, and finishes it as 1 process of 3 workers, on one recovery directory and one
// output directory: each restart resumes after the epoch committed before the kill, and
// the output is that of a run that never stopped.
func TestRescale(t *testing.T) {
	const size = 1500
	ref := runVariant(t, variant{layout{1, 3}, noRecovery, 100, 100 * time.Millisecond}, childSpec{Flow: "all", Size: size})
	j := newJob(t, layout{3, 1}, childSpec{Flow: "all", Size: size, Batch: 10, Pace: 15 * time.Millisecond},
		"-s", "100ms", "-r", filepath.Join(t.TempDir(), "recovery"), "--recovery-partitions", "4",
		"--heartbeat-timeout", heartbeat.String(), "--log-interval", "0", "--log-level", "debug")
	j.shared = true
	committed, resume := 0, 1
	for _, l := range []layout{{3, 1}, {2, 2}, {1, 3}} {
		j.layout = l
		j.start()
		if j.launch > 1 {
			resume = checkResumed(t, j, committed+1)
		}
		if l.processes == 1 {
			j.mustSucceed(time.Minute)
			break
		}
		if !j.awaitCommitted(resume, 30*time.Second) {
			t.Fatalf("%v ended before it committed an epoch: %v:\n%s", l, j.wait(time.Minute), j.stderrs())
		}
		time.Sleep(300 * time.Millisecond)
		committed = j.committed()
		j.signal(0, syscall.SIGKILL)
		j.wait(heartbeat + 30*time.Second)
		t.Logf("%v: resumed from epoch %d, killed with epoch %d committed", l, resume, committed)
	}
	t.Logf("1x3: resumed from epoch %d", resume)
	for _, s := range sinks {
		sameLines(t, s+" after two rescales against a run without faults", j.output(s), ref.output(s))
	}
}
