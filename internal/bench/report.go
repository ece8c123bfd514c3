package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"time"

	"github.com/weirflow/weir/internal/bench/nexmark"
)

// A Row is one line of the report's table: a weir path, its anchor, their ratio, and the
// goal the ratio (or, for an absolute goal, weir's figure) is held to.
type Row struct {
	Path string
	// Weir and Anchor are in nanoseconds per item, or in seconds when Seconds is set.
	Weir, Anchor float64
	Seconds      bool
	Ratio        float64
	// Budget is the goal as printed ("<= 1.2", "<= 1 s"), "-" for a row printed for scale.
	Budget string
	// Result is PASS, MISS, or info for a row without a goal.
	Result string
	// Note, if set, says more about the row: the Nexmark rows' ratio of CPU time.
	Note string
}

// ReportConfig sets what Report measures and on how many items.
type ReportConfig struct {
	// N is the items per round of the paths without their own size; WindowN, when
	// positive, overrides the windowed paths' WindowEvents. Rounds is the rounds of each
	// path, after one warm-up round: a row gives the median time of each side and the
	// median of the rounds' ratios (pairRatio).
	N, WindowN, Rounds int
	// Recovery adds the rows of the running aggregate with snapshots every second (AggN
	// items, AggRounds rounds alternated with the same flow without recovery) and of the
	// resume of ResumeKeys keys of state.
	Recovery                    bool
	AggN, AggRounds, ResumeKeys int
	// Nexmark adds a row per Nexmark query, with a recovery store (a snapshot every
	// NexmarkEpoch) against without: NexmarkN events per run on NexmarkWorkers workers,
	// NexmarkRounds rounds alternated.
	Nexmark        bool
	NexmarkN       int64
	NexmarkRounds  int
	NexmarkWorkers int
	NexmarkEpoch   time.Duration
	// Progress, if set, is told what is being measured as the report goes.
	Progress func(string)
}

// The goals of issue 18 that are not a Comparison of two jobs.
const (
	// AggGoal: a running aggregate snapshotting every second takes at most 3% longer
	// than without recovery to bring its last item to the sink...
	AggGoal = 1.03
	// AggReturnGoal: ...and at most 15% longer to return, the last commit included.
	AggReturnGoal = 1.15
	// ResumeGoal: a resume of ResumeKeys keys of state brings its first new item to the
	// stateful step within a second of the run's start.
	ResumeGoal = time.Second
	// NexmarkGoal: every Nexmark query with a recovery store (a snapshot every 10 s)
	// takes at most 15% longer than without.
	NexmarkGoal = 1.15
	// NexmarkEvents is the report's default events per Nexmark run: about 10 s a run on
	// two idle cores, long enough for a snapshot within the run besides the last.
	NexmarkEvents = 40_000_000
	// NexmarkRounds is the report's default rounds of each Nexmark query.
	NexmarkRounds = 3
	// AggRounds is the report's default rounds of the running aggregate. A run is about
	// 2.3 s, and the machine's speed moves over seconds: the rounds' ratios to the last
	// item spread 0.96-1.14 over 15 rounds on an idle machine, so the median of 9 rounds
	// moves less from one report to the next than that of 5.
	AggRounds = 9
)

// Report measures the paths cfg asks for and returns the table's rows in the order of
// issue 18's table, the rows printed for scale beside the ones they explain. It fails if
// a weir path computes something else than its anchor.
func Report(ctx context.Context, cfg ReportConfig) ([]Row, error) {
	if cfg.N < 1 || cfg.WindowN < 0 || cfg.Rounds < 1 || (cfg.Recovery && cfg.AggRounds < 1) {
		return nil, fmt.Errorf("weir: bench: report: N, Rounds and (with Recovery) AggRounds must be at least 1, WindowN at least 0")
	}
	progress := func(format string, args ...any) {
		if cfg.Progress != nil {
			cfg.Progress(fmt.Sprintf(format, args...))
		}
	}
	size := func(j Job) int {
		switch {
		case j.Scale > 0:
			return j.Scale * cfg.N
		case j.N == 0:
			return cfg.N
		case cfg.WindowN > 0:
			return cfg.WindowN
		}
		return j.N
	}
	progress("engine paths: %d rounds", cfg.Rounds)
	samples, err := measureJobs(size, cfg.Rounds)
	if err != nil {
		return nil, err
	}
	var rows []Row
	for _, c := range Comparisons {
		w, a := samples[c.Weir], samples[c.Anchor]
		ratio := pairRatio(w, a)
		rows = append(rows, Row{Path: c.Path, Weir: median(w), Anchor: median(a), Ratio: ratio, Budget: c.BudgetText(), Result: result(c.Budget > 0, c.Pass(ratio))})
	}
	if cfg.Recovery {
		progress("running aggregate: %d rounds of %d items", cfg.AggRounds, cfg.AggN)
		agg, err := aggregateRows(ctx, cfg.AggN, cfg.AggRounds)
		if err != nil {
			return nil, err
		}
		rows = append(rows, agg...)
		progress("resume of %d keys", cfg.ResumeKeys)
		res, err := resumeRows(ctx, cfg.ResumeKeys)
		if err != nil {
			return nil, err
		}
		rows = append(rows, res...)
	}
	if cfg.Nexmark {
		c := nexmark.DefaultConfig()
		c.Events = cfg.NexmarkN
		p := nexmark.DefaultParams(c)
		for q := range nexmark.Queries {
			progress("nexmark q%d: %d rounds of %d events", q, cfg.NexmarkRounds, c.Events)
			o := nexmark.Options{Query: q, Config: c, Params: p, Workers: cfg.NexmarkWorkers, EpochInterval: cfg.NexmarkEpoch}
			pairs, err := nexmark.CompareRecovery(ctx, o, cfg.NexmarkRounds)
			if err != nil {
				return nil, err
			}
			var plain, rec, ratios, cpu []float64
			for _, pr := range pairs {
				plain = append(plain, perEvent(pr.Plain))
				rec = append(rec, perEvent(pr.Recovery))
				ratios = append(ratios, pr.Ratio())
				cpu = append(cpu, pr.CPURatio())
			}
			// Each round's two runs are a pair, taken moments apart: the median of the
			// pairs' ratios follows the machine's load less than the ratio of medians.
			ratio := median(ratios)
			rows = append(rows, Row{
				Path: fmt.Sprintf("Nexmark q%d, %d workers, snapshot every %s / no recovery", q, o.Workers, cfg.NexmarkEpoch),
				Weir: median(rec), Anchor: median(plain), Ratio: ratio,
				Budget: budgetText(NexmarkGoal), Result: result(true, ratio <= NexmarkGoal),
				Note: fmt.Sprintf("CPU %.2f", median(cpu)),
			})
		}
	}
	return rows, nil
}

func perEvent(r nexmark.Result) float64 { return float64(r.Elapsed.Nanoseconds()) / float64(r.Events) }

func result(hasGoal, pass bool) string {
	switch {
	case !hasGoal:
		return "info"
	case pass:
		return "PASS"
	}
	return "MISS"
}

func budgetText(b float64) string { return "<= " + strconv.FormatFloat(b, 'g', -1, 64) }

// aggregateRows times the running aggregate with and without recovery, in alternated
// rounds, each to the last item reaching the sink (throughput) and to the run's return
// (which adds the last commit and collection).
func aggregateRows(ctx context.Context, n, rounds int) ([]Row, error) {
	timed := func(run func() (int, time.Time, error)) (through, whole float64, res int, err error) {
		runtime.GC()
		start := time.Now()
		res, last, err := run()
		per := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / float64(n) }
		return per(last.Sub(start)), per(time.Since(start)), res, err
	}
	var plains, recs, plainsWhole, recsWhole []float64
	for range rounds {
		plain, plainWhole, want, err := timed(func() (int, time.Time, error) { return AggregateTimed(ctx, n, "") })
		if err != nil {
			return nil, fmt.Errorf("aggregate: %w", err)
		}
		dir, remove, err := NewRecoveryDir()
		if err != nil {
			return nil, err
		}
		rec, recWhole, got, err := timed(func() (int, time.Time, error) { return AggregateTimed(ctx, n, dir) })
		remove()
		if err != nil {
			return nil, fmt.Errorf("aggregate with recovery: %w", err)
		}
		if got != want {
			return nil, fmt.Errorf("weir: bench: aggregate with recovery computed %d, without %d", got, want)
		}
		plains, recs = append(plains, plain), append(recs, rec)
		plainsWhole, recsWhole = append(plainsWhole, plainWhole), append(recsWhole, recWhole)
	}
	through, whole := pairRatio(recs, plains), pairRatio(recsWhole, plainsWhole)
	return []Row{
		{Path: "running sum, 100k keys, 1 worker, snapshot every 1s / none (to the last item)", Weir: median(recs), Anchor: median(plains),
			Ratio: through, Budget: budgetText(AggGoal), Result: result(true, through <= AggGoal)},
		{Path: "the same, to the run's return (last commit, collection)", Weir: median(recsWhole), Anchor: median(plainsWhole),
			Ratio: whole, Budget: budgetText(AggReturnGoal), Result: result(true, whole <= AggReturnGoal)},
	}, nil
}

// resumeRows builds a recovery directory of keys keys and times its resume. The goal is
// absolute; the anchor beside it is the store's raw scan of the same state (open, begin,
// load without decoding), which no resume can beat.
func resumeRows(ctx context.Context, keys int) ([]Row, error) {
	tmp, err := os.MkdirTemp("", "weir-report-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	dir := filepath.Join(tmp, "recovery")
	if err := BuildResumeStore(ctx, dir, keys); err != nil {
		return nil, fmt.Errorf("building the resume store: %w", err)
	}
	t, err := Resume(ctx, dir, keys)
	if err != nil {
		return nil, fmt.Errorf("resume: %w", err)
	}
	first, scan := t.FirstItem.Seconds(), t.Store.Seconds()
	return []Row{{
		Path: fmt.Sprintf("resume of %s keys, to the first new item / store's raw scan", si(keys)),
		Weir: first, Anchor: scan, Seconds: true, Ratio: first / scan,
		Budget: "<= " + ResumeGoal.String(), Result: result(true, t.FirstItem <= ResumeGoal),
	}}, nil
}

// si writes a count the way the table's paths name them: 1M, 100k, 3000.
func si(n int) string {
	switch {
	case n >= 1_000_000 && n%1_000_000 == 0:
		return strconv.Itoa(n/1_000_000) + "M"
	case n >= 1000 && n%1000 == 0:
		return strconv.Itoa(n/1000) + "k"
	}
	return strconv.Itoa(n)
}

// measureJobs returns the time per item of every job in each round, in the order of the
// rounds, each run over size(job) items. It also checks that the jobs of a family agree,
// so that a fast but wrong path cannot pass.
func measureJobs(size func(Job) int, rounds int) (map[string][]float64, error) {
	samples := map[string][]float64{}
	results := map[string]int{}
	for r := -1; r < rounds; r++ { // round -1 warms up
		for _, j := range Jobs {
			n := size(j)
			runtime.GC() // each path starts from a clean heap, not the previous path's garbage
			start := time.Now()
			res, err := j.Run(n)
			d := time.Since(start)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", j.Name, err)
			}
			if r >= 0 {
				samples[j.Name] = append(samples[j.Name], float64(d.Nanoseconds())/float64(n))
			}
			results[j.Name] = res
		}
	}
	for _, c := range Comparisons {
		if results[c.Weir] != results[c.Anchor] {
			return nil, fmt.Errorf("weir: bench: %s computed %d, %s computed %d", c.Weir, results[c.Weir], c.Anchor, results[c.Anchor])
		}
	}
	return samples, nil
}

// pairRatio is the median over the rounds of weir's time over its anchor's in the same
// round. The two run moments apart, so that the ratio follows the machine's spells (an
// anchor 30% slower for the whole of one run, two cores scaling less for seconds) less
// than the ratio of the two medians, whose rounds may fall in different spells: the
// Nexmark rows are measured the same way.
func pairRatio(weir, anchor []float64) float64 {
	ratios := make([]float64, len(weir))
	for r := range weir {
		ratios[r] = weir[r] / anchor[r]
	}
	return median(ratios)
}

func median(s []float64) float64 {
	s = slices.Clone(s)
	slices.Sort(s)
	return s[len(s)/2]
}
