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
const benchItems = 8 * 1_000_000

// BenchmarkCluster counts 8M items over 10,000 keys (op.CountFinal) on 1 process x 2
// workers, on 2 processes x 1 worker, and on 2 x 1 with a codec registered for int (the
// counts cross as KV[int]: CBOR by default), one whole job of each per iteration, one
// after the other so that all see the same load on a shared machine. It reports each
// one's wall time per job (processes started and stopped included, "-wall-ms") and run
// time (the longest "run finished" duration of the job's processes: the run without the
// processes' start, "-run-ms"), and the ratios of each 2x1 to 1x2 ("ratio-...", of run
// times; the goal is within 1.3).
func BenchmarkCluster(b *testing.B) {
	cases := []struct {
		name  string
		l     layout
		codec bool
	}{{"1x2", layout{1, 2}, false}, {"2x1", layout{2, 1}, false}, {"2x1-codec", layout{2, 1}, true}}
	wall := make([]time.Duration, len(cases))
	runs := make([]time.Duration, len(cases))
	for b.Loop() {
		for k, c := range cases {
			start := time.Now()
			j := newJob(b, c.l, childSpec{Flow: "count", Size: benchItems / partitions, Batch: 1024, Codec: c.codec},
				"-s", "1s", "--log-interval", "0")
			j.start()
			j.mustSucceed(5 * time.Minute)
			wall[k] += time.Since(start)
			runs[k] += j.runDuration()
			if lines := j.output("count"); len(lines) != 10000 {
				b.Fatalf("%s: %d counts, want 10000", c.name, len(lines))
			}
		}
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / float64(b.N) }
	for k, c := range cases {
		b.ReportMetric(ms(wall[k]), c.name+"-wall-ms")
		b.ReportMetric(ms(runs[k]), c.name+"-run-ms")
		if k > 0 {
			b.ReportMetric(float64(runs[k])/float64(runs[0]), "ratio-"+c.name)
		}
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
