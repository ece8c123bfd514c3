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
// workers and on 2 processes x 1 worker, one whole job of each per iteration, one after
// the other so that both see the same load on a shared machine. It reports each
// layout's wall time per job (processes started and stopped included, "-wall-ms") and
// run time (the longest "run finished" duration of the job's processes: the run without
// the processes' start, "-run-ms"), and the ratios of 2x1 to 1x2 ("ratio-wall",
// "ratio-run"; the goal is within 1.3).
func BenchmarkCluster(b *testing.B) {
	layouts := []layout{{1, 2}, {2, 1}}
	wall := make([]time.Duration, len(layouts))
	runs := make([]time.Duration, len(layouts))
	for b.Loop() {
		for k, l := range layouts {
			start := time.Now()
			j := newJob(b, l, childSpec{Flow: "count", Size: benchItems / partitions, Batch: 1024},
				"-s", "1s", "--log-interval", "0")
			j.start()
			j.mustSucceed(5 * time.Minute)
			wall[k] += time.Since(start)
			runs[k] += j.runDuration()
			if lines := j.output("count"); len(lines) != 10000 {
				b.Fatalf("%v: %d counts, want 10000", l, len(lines))
			}
		}
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / float64(b.N) }
	for k, l := range layouts {
		b.ReportMetric(ms(wall[k]), l.String()+"-wall-ms")
		b.ReportMetric(ms(runs[k]), l.String()+"-run-ms")
	}
	b.ReportMetric(float64(wall[1])/float64(wall[0]), "ratio-wall")
	b.ReportMetric(float64(runs[1])/float64(runs[0]), "ratio-run")
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
