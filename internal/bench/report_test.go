package bench_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/weirflow/weir/internal/bench"
)

// TestReportRows runs the whole report on a few items and checks that it has every row
// of issue 18's table, each with its goal, a result, and figures measured.
func TestReportRows(t *testing.T) {
	rows, err := bench.Report(context.Background(), bench.ReportConfig{
		N: 3000, WindowN: 3000, Rounds: 1,
		Recovery: true, AggN: 3000, AggRounds: 1, ResumeKeys: 2000,
		Nexmark: true, NexmarkN: 20_000, NexmarkRounds: 1, NexmarkWorkers: 2, NexmarkEpoch: 10 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ path, goal string }{
		{"chain of 3 maps, 1 worker / loop of func values", "<= 1.2"},
		{"CountFinal, 1000 keys, 1 worker / map loop", "<= 1.5"},
		{"CountFinal, 1000 keys, 2 workers / 1 worker (time)", "<= 0.58"},
		{"window.Count, tumbling 1 min, 10k keys, 1 worker / per-key loop", "<= 2.5"},
		{"chain of 3 maps, 1 worker, metrics served and scraped / off", "<= 1.03"},
		{"CountFinal, 1000 keys, 2 workers, metrics served and scraped / off", "<= 1.03"},
		{"resume of 2k keys, to the first new item / store's raw scan", "<= 1s"},
		{"running sum, 100k keys, 1 worker, snapshot every 1s / none (to the last item)", "<= 1.03"},
		{"the same, to the run's return (last commit, collection)", "<= 1.15"},
	}
	for q := range 9 {
		want = append(want, struct{ path, goal string }{fmt.Sprintf("Nexmark q%d, 2 workers, snapshot every 10s / no recovery", q), "<= 1.15"})
	}
	byPath := map[string]bench.Row{}
	for _, r := range rows {
		if _, dup := byPath[r.Path]; dup {
			t.Errorf("row %q twice", r.Path)
		}
		byPath[r.Path] = r
		if !(r.Weir > 0 && r.Anchor > 0 && r.Ratio > 0) {
			t.Errorf("row %q: weir %v, anchor %v, ratio %v", r.Path, r.Weir, r.Anchor, r.Ratio)
		}
		switch {
		case r.Budget == "-" && r.Result != "info",
			r.Budget != "-" && r.Result != "PASS" && r.Result != "MISS":
			t.Errorf("row %q: goal %q, result %q", r.Path, r.Budget, r.Result)
		}
	}
	for _, w := range want {
		r, ok := byPath[w.path]
		if !ok {
			t.Errorf("no row %q; rows:\n%s", w.path, paths(rows))
			continue
		}
		if r.Budget != w.goal {
			t.Errorf("row %q: goal %q, want %q", w.path, r.Budget, w.goal)
		}
	}
}

func paths(rows []bench.Row) string {
	var b strings.Builder
	for _, r := range rows {
		b.WriteString(r.Path + "\n")
	}
	return b.String()
}
