package systemtest

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestConnectionFaults breaks the one connection of a running 2-process job over a shared
// recovery directory: process 1 dials process 0 through a proxy the test controls, which
// either cuts the connection (closes both ends, as a reset does) or holds it (forwards
// nothing more either way, the connection open, as behind a dead router). Both processes
// must exit non-zero naming the other: a cut at once, a hold within the heartbeat timeout
// (2 s) and a second, no sooner than half of it. Each launch resumes from an epoch no
// earlier than the one committed before the fault, and the final launch, without a proxy,
// ends with the output the inputs imply: nothing lost, nothing written twice. The short
// version cuts once and holds once; WEIR_SYSTEMTEST_LONG=1 alternates ten faults and logs
// the range of the times to stop.
func TestConnectionFaults(t *testing.T) {
	size, faults := 2500, []string{"cut", "hold"}
	if long() {
		size = 20000
		faults = nil
		for i := range 10 {
			faults = append(faults, [...]string{"cut", "hold"}[i%2])
		}
	}
	spec := childSpec{Flow: "all", Size: size, Batch: 10, Pace: 15 * time.Millisecond}
	j := newJob(t, layout{2, 1}, spec, "-s", "100ms", "-r", filepath.Join(t.TempDir(), "recovery"),
		"--recovery-partitions", "4", "--heartbeat-timeout", heartbeat.String(), "--log-interval", "0", "--log-level", "debug")
	var px *proxy
	proxied := false
	j.each = func(i int) []string {
		if !proxied || i != 1 {
			return nil
		}
		// Process 1 dials process 0 (the lower id), at the proxy's address.
		px = newProxy(t, j.addrs[0])
		return []string{"-a", px.addr() + ";" + j.addrs[1]}
	}
	took := map[string][]time.Duration{}
	committed, resume := 0, 1
	for launch := 1; launch <= len(faults)+1; launch++ {
		fault := ""
		if launch <= len(faults) {
			fault = faults[launch-1]
		}
		proxied = fault != ""
		j.start()
		if launch > 1 {
			resume = checkResumed(t, j, committed+1)
		}
		if fault == "" {
			j.mustSucceed(3 * time.Minute) // long: up to 30 s of paced input left, on a busy machine
			break
		}
		if !j.awaitCommitted(resume, 30*time.Second) {
			t.Fatalf("launch %d ended before it committed an epoch: %v:\n%s", launch, j.wait(time.Minute), j.stderrs())
		}
		time.Sleep(200 * time.Millisecond)
		if px.connections() == 0 {
			t.Fatalf("launch %d: process 1 did not connect through the proxy", launch)
		}
		committed = j.committed()
		at := time.Now()
		switch fault {
		case "cut":
			px.cut()
		case "hold":
			px.hold()
		}
		codes := j.wait(heartbeat + 30*time.Second)
		var stops []string
		for i, p := range j.procs {
			d := p.exited.Sub(at)
			took[fault] = append(took[fault], d)
			stops = append(stops, fmt.Sprintf("process %d: status %d after %v: %s", i, codes[i], d.Round(time.Millisecond), lastLine(j.stderr(i))))
			if codes[i] == 0 {
				t.Errorf("launch %d: process %d exited 0 after its connection was %s", launch, i, fault)
			}
			if d > heartbeat+exitSlack {
				t.Errorf("launch %d: process %d took %v to stop after its connection was %s, more than the heartbeat timeout %v (and %v to exit)",
					launch, i, d, fault, heartbeat, exitSlack)
			}
			if fault == "hold" && d < heartbeat/2 {
				t.Errorf("launch %d: process %d stopped %v after its connection was held: sooner than a heartbeat timeout of %v allows", launch, i, d, heartbeat)
			}
			if !namesLost(j.stderr(i), 1-i, j.addrs[1-i]) && !strings.Contains(j.stderr(i), px.addr()) {
				t.Errorf("launch %d: process %d's stderr does not name process %d:\n%s", launch, i, 1-i, tail(j.stderr(i), 10))
			}
		}
		px.close()
		t.Logf("launch %d: connection %s with epoch %d committed; %s", launch, fault, committed, strings.Join(stops, "; "))
		if t.Failed() {
			t.Fatalf("stderr:\n%s", j.stderrs())
		}
	}
	for _, f := range []string{"cut", "hold"} {
		if d := took[f]; len(d) > 0 {
			t.Logf("%s: the processes stopped %v to %v after it (%d stops)", f,
				slices.Min(d).Round(time.Millisecond), slices.Max(d).Round(time.Millisecond), len(d))
		}
	}
	want := expected(size)
	for _, s := range []string{"wordcount", "running", "join"} {
		sameLines(t, s+" after faulty connections and restarts against the inputs", j.output(s), want[s])
	}
	checkWindows(t, j.output("windows"), j.output("late"), size)
}
