// Command report measures weir's performance budget (DESIGN.md, "Performance budget";
// issue 18's goals): each weir path and its anchor in the same run, as a ratio of times
// per item, in one table with each row's goal and PASS or MISS.
//
//	go run ./bench/cmd/report [-n items] [-window-n events] [-rounds r] [-strict]
//	                          [-recovery] [-agg-n items] [-agg-rounds r] [-resume-keys k]
//	                          [-nexmark] [-nexmark-n events] [-nexmark-rounds r]
//	go run ./bench/cmd/report -all     # every row of the table: ~1.5 min + ~10 min
//
// Paths with their own size (bench.Job.N: the windowed paths, at the 10M events issue 3
// sets their budget for) process that many items, or -window-n when given; the others
// process -n items, and the metrics rows (on against off, bench.Job.Scale) 8 times -n, so
// that they time a run's throughput rather than a server's start. Every round runs each
// path once, paths interleaved so that a machine that slows down or speeds up during the
// run affects weir and its anchor alike; after one warm-up round, the table shows each
// path's median time over the rounds and, as the ratio, the median of the rounds' own
// ratios (weir over its anchor in the same round). These rows alone take under a minute
// (43 s on the idle 2-core machine).
//
// -recovery adds the recovery rows: a keyed running sum snapshotting every second against
// the same flow without recovery (-agg-rounds rounds of each, 9 by default, alternated,
// a few seconds long), timed to its last item and to the run's return; and the time to
// resume a recovery directory of 1M keys (built first) to its first new item, whose goal
// is 1 s, beside the store's raw scan of the same rows. They add about 45 s (88-91 s in
// all in one spell of the machine, 76-81 s in a faster one).
//
// -nexmark adds a row per Nexmark query (Q0 to Q8, on 2 workers): the query with a
// recovery store, a snapshot every 10 s, against the same query without, -nexmark-rounds
// rounds (3) of -nexmark-n events (40M: about 10 s a run on two idle cores, so that a
// snapshot falls within the run besides the last), alternated; the ratio is the median
// of the rounds' ratios, and the ratio of the process's CPU time over the runs is printed
// beside it (a busy machine disturbs it less than the wall time). They take about 10
// minutes; `go run ./bench/cmd/nexmark -q all
// -r` gives the same comparison with throughputs and ranges.
//
// -all is -recovery and -nexmark: every row of issue 18's table in one run.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/weirflow/weir/internal/bench"
)

func main() {
	// Each timed run would log its start and end: only warnings and errors matter here.
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	cfg := bench.ReportConfig{NexmarkWorkers: 2, NexmarkEpoch: 10 * time.Second}
	// 16M items: the chain then runs for ~80 ms a round; at 4M (~20 ms) its ratio moved
	// between 1.3 and 1.55 from run to run with the machine's noise.
	flag.IntVar(&cfg.N, "n", 1<<24, "items per path and round")
	flag.IntVar(&cfg.WindowN, "window-n", 0, "items per round of the paths with their own size (default: their own)")
	flag.IntVar(&cfg.Rounds, "rounds", 5, "measured rounds; the median is reported")
	strict := flag.Bool("strict", false, "exit with status 1 when a budget is missed")
	flag.BoolVar(&cfg.Recovery, "recovery", false, "also measure the recovery rows: the running sum with snapshots, and the resume")
	flag.IntVar(&cfg.AggN, "agg-n", bench.AggEvents, "items of the running sum of the recovery rows")
	flag.IntVar(&cfg.AggRounds, "agg-rounds", bench.AggRounds, "rounds of the running sum of the recovery rows, with and without recovery")
	flag.IntVar(&cfg.ResumeKeys, "resume-keys", bench.ResumeKeys, "keys of state of the resume row")
	flag.BoolVar(&cfg.Nexmark, "nexmark", false, "also measure Nexmark Q0-Q8 with recovery against without (slow: ~10 min)")
	flag.Int64Var(&cfg.NexmarkN, "nexmark-n", bench.NexmarkEvents, "events per Nexmark run")
	flag.IntVar(&cfg.NexmarkRounds, "nexmark-rounds", bench.NexmarkRounds, "rounds of each Nexmark query, with and without recovery")
	all := flag.Bool("all", false, "every row: -recovery and -nexmark")
	flag.Parse()
	if *all {
		cfg.Recovery, cfg.Nexmark = true, true
	}
	if cfg.N < 1 || cfg.WindowN < 0 || cfg.Rounds < 1 || cfg.AggN < 1 || cfg.AggRounds < 1 || cfg.ResumeKeys < 1 || cfg.NexmarkN < 1 || cfg.NexmarkRounds < 1 {
		fmt.Fprintln(os.Stderr, "report: -n, -rounds, -agg-n, -agg-rounds, -resume-keys, -nexmark-n and -nexmark-rounds must be at least 1, -window-n at least 0")
		os.Exit(2)
	}
	cfg.Progress = func(s string) { fmt.Fprintln(os.Stderr, "report:", s) }
	start := time.Now()
	rows, err := bench.Report(context.Background(), cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
	windowN := cfg.WindowN
	if windowN == 0 {
		windowN = bench.WindowEvents
	}
	fmt.Printf("%s %s/%s, %d CPUs, %d items per path (windowed: %d); times: medians of %d rounds, ratios: medians of the rounds' ratios\n",
		runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), cfg.N, windowN, cfg.Rounds)
	if cfg.Recovery {
		fmt.Printf("running sum: %d items, %d rounds; resume: %d keys of state, %d partitions\n", cfg.AggN, cfg.AggRounds, cfg.ResumeKeys, bench.RecoveryPartitions)
	}
	if cfg.Nexmark {
		fmt.Printf("Nexmark: %d events per run, median of %d rounds' ratios\n", cfg.NexmarkN, cfg.NexmarkRounds)
	}
	fmt.Println()
	missed := printTable(os.Stdout, rows)
	fmt.Printf("\n(%.0f s)\n", time.Since(start).Seconds())
	if missed && *strict {
		os.Exit(1)
	}
}

// printTable writes the table of rows and reports whether a goal was missed.
func printTable(w io.Writer, rows []bench.Row) (missed bool) {
	width := len("path")
	for _, r := range rows {
		width = max(width, len(r.Path))
	}
	line := func(cells ...any) {
		fmt.Fprintln(w, strings.TrimRight(fmt.Sprintf("%-*s  %12s  %14s  %6s  %7s  %-6s  %s", cells...), " "))
	}
	line(width, "path", "weir ns/item", "anchor ns/item", "ratio", "goal", "result", "")
	for _, r := range rows {
		weir, anchor := fmt.Sprintf("%.2f", r.Weir), fmt.Sprintf("%.2f", r.Anchor)
		if r.Seconds {
			weir, anchor = fmt.Sprintf("%.2f s", r.Weir), fmt.Sprintf("%.2f s", r.Anchor)
		}
		line(width, r.Path, weir, anchor, fmt.Sprintf("%.2f", r.Ratio), r.Budget, r.Result, r.Note)
		missed = missed || r.Result == "MISS"
	}
	return missed
}
