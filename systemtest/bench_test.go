package systemtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// benchItems is the keyed count's input: 8 partitions of this many keys each.
const benchItems = 8 * 250_000

// BenchmarkCluster counts 2M items over 10,000 keys (op.CountFinal) on 1 process x 2
// workers and on 2 processes x 1 worker, one whole job per iteration, processes started
// and stopped included. The goal is 2x1 within 1.3x of 1x2's time. Besides ns/op it
// reports items/s and run-ms, the longest "run finished" duration of the job's
// processes: the run without the processes' start.
func BenchmarkCluster(b *testing.B) {
	for _, l := range []layout{{1, 2}, {2, 1}} {
		b.Run(l.String(), func(b *testing.B) {
			var runTime time.Duration
			for b.Loop() {
				j := newJob(b, l, childSpec{Flow: "count", Size: benchItems / partitions, Batch: 1024},
					"-s", "1s", "--log-interval", "0")
				j.start()
				j.mustSucceed(5 * time.Minute)
				runTime += j.runDuration()
				if lines := j.output("count"); len(lines) != 10000 {
					b.Fatalf("%d counts, want 10000", len(lines))
				}
			}
			b.ReportMetric(float64(benchItems)*float64(b.N)/b.Elapsed().Seconds(), "items/s")
			b.ReportMetric(float64(runTime.Milliseconds())/float64(b.N), "run-ms")
		})
	}
}

// durationRE finds a run's duration in its end line.
var durationRE = regexp.MustCompile(`run finished.* duration=(\S+)`)

// runDuration returns the longest duration the processes' end lines give.
func (j *job) runDuration() time.Duration {
	var longest time.Duration
	for i := range j.procs {
		m := durationRE.FindStringSubmatch(j.stderr(i))
		if m == nil {
			j.t.Fatalf("process %d logged no end line:\n%s", i, j.stderrs())
		}
		d, err := time.ParseDuration(m[1])
		if err != nil {
			j.t.Fatalf("process %d: duration %q: %v", i, m[1], err)
		}
		longest = max(longest, d)
	}
	return longest
}

// TestClusterExample builds examples/cluster and checks that it prints the same as one
// process (1 worker and 4) and as a cluster started with -p 2 -w 2.
func TestClusterExample(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "cluster")
	build := exec.Command("go", "build", "-o", bin, "../examples/cluster")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	runIt := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "WEIR_LOG_LEVEL=warn")
		var stderr strings.Builder
		cmd.Stderr = &stderr
		done := make(chan struct{})
		timer := time.AfterFunc(time.Minute, func() {
			select {
			case <-done:
			default:
				cmd.Process.Kill()
			}
		})
		out, err := cmd.Output()
		close(done)
		timer.Stop()
		if err != nil {
			t.Fatalf("cluster %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, out, stderr.String())
		}
		return string(out)
	}
	want := runIt()
	if !strings.Contains(want, "most frequent") || strings.Count(want, "\n") != 11 {
		t.Fatalf("one process printed:\n%s", want)
	}
	for _, args := range [][]string{{"-w", "4"}, {"-p", "2", "-w", "2"}} {
		if got := runIt(args...); got != want {
			t.Errorf("cluster %s printed:\n%s\nwant, as one process:\n%s", strings.Join(args, " "), got, want)
		}
	}
}
