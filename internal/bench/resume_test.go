package bench_test

import (
	"context"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"testing"
	"time"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/internal/bench"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/run"
)

// resumeGuardKeys is the size of BenchmarkResumePerKey: large enough that per-key costs
// (the store's rows, the keyed runtime's map and entries, sorting keys) dominate, small
// enough for CI.
const resumeGuardKeys = 100_000

// BenchmarkResumePerKey resumes a recovery directory of resumeGuardKeys keys and reports
// the time per key of the store alone (open, begin, load: its raw scan) and of a resuming
// run to its first new item, with their ratio (first/store) as the anchor: what the
// engine and the keyed runtime add to the store's own reading. Both are measured in the
// same operation, so that a busy machine slows them alike. On the development VM under
// a load of about 17 on its 2 cores, first/store was 2.49-3.55 before issue 18's changes
// to the resume and 2.06-2.79 after (3 operations a run, 2 runs each): too noisy there to
// tell a regression by itself, and the store alone got faster too. The exact guards of
// those changes are allocation counts, orders and structure: TestResumeAllocs (keyed: the
// key map made once, at the keys preloaded), TestResumeOverlapsLoad (engine: keys are
// resumed while the store still loads), TestLoadAllocs, TestLoadOrder,
// TestLoadReadsInSQLite (rows read inside SQLite, none again in Go) and TestPartitionsMapped
// (files read through a memory mapping) in sqlitestore, TestFastDecodeAllocs (codec).
func BenchmarkResumePerKey(b *testing.B) {
	dir := filepath.Join(b.TempDir(), "recovery")
	if err := bench.BuildResumeStore(context.Background(), dir, resumeGuardKeys); err != nil {
		b.Fatal(err)
	}
	var t bench.ResumeTimes
	for b.Loop() {
		r, err := bench.Resume(context.Background(), dir, resumeGuardKeys)
		if err != nil {
			b.Fatal(err)
		}
		t.Store += r.Store
		t.FirstItem += r.FirstItem
	}
	perKey := func(d float64) float64 { return d / float64(b.N) / resumeGuardKeys }
	b.ReportMetric(perKey(float64(t.Store.Nanoseconds())), "store-ns/key")
	b.ReportMetric(perKey(float64(t.FirstItem.Nanoseconds())), "first-item-ns/key")
	b.ReportMetric(float64(t.FirstItem)/float64(t.Store), "first/store")
}

// TestResumeProfile writes a CPU profile of a run resuming a recovery directory of
// WEIR_RESUME_KEYS keys (bench.ResumeKeys by default), from run.Run's call to its first new
// item, to the file WEIR_RESUME_PROFILE: where a resume's time goes. It logs the run's time
// and the process's CPU to that item, and from that item to the run's return (the end of
// the stream: OnEOF, the final snapshot, collection). The directory is WEIR_RESUME_DIR,
// built on the first run and resumed on the next ones. It runs only when
// WEIR_RESUME_PROFILE is set.
func TestResumeProfile(t *testing.T) {
	out := os.Getenv("WEIR_RESUME_PROFILE")
	if out == "" {
		t.Skip("WEIR_RESUME_PROFILE is not set")
	}
	keys := bench.ResumeKeys
	if s := os.Getenv("WEIR_RESUME_KEYS"); s != "" {
		var err error
		if keys, err = strconv.Atoi(s); err != nil {
			t.Fatal(err)
		}
	}
	dir := os.Getenv("WEIR_RESUME_DIR")
	if dir == "" {
		dir = filepath.Join(t.TempDir(), "recovery")
	}
	if _, err := os.Stat(dir); os.IsNotExist(err) {
		if err := bench.BuildResumeStore(context.Background(), dir, keys); err != nil {
			t.Fatal(err)
		}
	}
	// The keys resumed so far: each run adds one, the int after the last.
	r, err := bench.Resume(context.Background(), dir, keys)
	if err != nil {
		t.Fatal(err)
	}
	next := r.Keys + 1
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// The flow of bench.Resume, whose steps' names the directory's state is under.
	flow := weir.NewDataflow("resume")
	s := op.KeyOn("key", op.Input("ints", flow, bench.NewInts(next+1, 1)), strconv.Itoa)
	var first, cpu time.Duration
	var start, firstAt time.Time
	var firstCPU time.Duration
	sums := op.StatefulMap("running_sum", s, func(st *op.State[int], v int) int {
		if v == next {
			firstAt, firstCPU = time.Now(), bench.ProcessCPU()
			first, cpu = firstAt.Sub(start), firstCPU-cpu
			pprof.StopCPUProfile()
		}
		n, _ := st.Get()
		st.Set(n + v)
		return n + v
	})
	op.Output("sum", sums, bench.CountSum())
	if err := pprof.StartCPUProfile(f); err != nil {
		t.Fatal(err)
	}
	start, cpu = time.Now(), bench.ProcessCPU()
	err = run.Run(context.Background(), flow, run.EpochInterval(bench.AggInterval), run.Recovery(dir))
	end, endCPU := time.Now(), bench.ProcessCPU()
	pprof.StopCPUProfile()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("bench.Resume: store %v, first item %v, run %v, %d keys; profiled run: first item %v, CPU %v; from it to the return %v, CPU %v",
		r.Store, r.FirstItem, r.Run, r.Keys, first, cpu, end.Sub(firstAt), endCPU-firstCPU)
}
