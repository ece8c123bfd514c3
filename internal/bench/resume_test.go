package bench_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/weirflow/weir/internal/bench"
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
// those changes are allocation counts and orders: TestResumeAllocs (keyed),
// TestLoadAllocs and TestLoadOrder (sqlitestore), TestFastDecodeAllocs (codec).
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
