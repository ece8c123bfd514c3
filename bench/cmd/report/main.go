// Command report measures weir's performance budget (DESIGN.md, "Performance budget"):
// each weir path and its anchor in the same run, as a ratio of times per item.
//
//	go run ./bench/cmd/report [-n items] [-window-n events] [-rounds r] [-strict]
//
// Paths with their own size (bench.Job.N: the windowed paths, at the 10M events issue 3
// sets their budget for) process that many items, or -window-n when given; the others
// process -n items. Every round runs each path once, paths interleaved so that a machine
// that slows down or speeds up during the run affects weir and its anchor alike; the
// table shows the median of the rounds, after one warm-up round.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"slices"
	"time"

	"github.com/weirflow/weir/bench"
)

func main() {
	n := flag.Int("n", 1<<22, "items per path and round")
	windowN := flag.Int("window-n", 0, "items per round of the paths with their own size (default: their own)")
	rounds := flag.Int("rounds", 5, "measured rounds; the median is reported")
	strict := flag.Bool("strict", false, "exit with status 1 when a budget is missed")
	flag.Parse()
	if *n < 1 || *windowN < 0 || *rounds < 1 {
		fmt.Fprintln(os.Stderr, "report: -n and -rounds must be at least 1, -window-n at least 0")
		os.Exit(2)
	}

	size := func(j bench.Job) int {
		switch {
		case j.N == 0:
			return *n
		case *windowN > 0:
			return *windowN
		}
		return j.N
	}
	times, err := measure(size, *rounds)
	if err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}

	fmt.Printf("%s %s/%s, %d CPUs, %d items per path (windowed: %d), median of %d rounds\n\n",
		runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), *n, size(bench.Job{N: bench.WindowEvents}), *rounds)
	width := len("path")
	for _, c := range bench.Comparisons {
		width = max(width, len(c.Path))
	}
	row := "%-*s  %12s  %14s  %6s  %7s  %s\n"
	fmt.Printf(row, width, "path", "weir ns/item", "anchor ns/item", "ratio", "budget", "result")
	missed := false
	for _, c := range bench.Comparisons {
		w, a := times[c.Weir], times[c.Anchor]
		ratio := w / a
		result := "PASS"
		switch {
		case c.Budget == 0:
			result = "info"
		case !c.Pass(ratio):
			result, missed = "MISS", true
		}
		fmt.Printf(row, width, c.Path, fmt.Sprintf("%.2f", w), fmt.Sprintf("%.2f", a),
			fmt.Sprintf("%.2f", ratio), c.BudgetText(), result)
	}
	if missed && *strict {
		os.Exit(1)
	}
}

// measure returns the median time per item of every job, each run over size(job) items.
// It also checks that the jobs of a family agree, so that a fast but wrong path cannot
// pass.
func measure(size func(bench.Job) int, rounds int) (map[string]float64, error) {
	samples := map[string][]float64{}
	results := map[string]int{}
	for r := -1; r < rounds; r++ { // round -1 warms up
		for _, j := range bench.Jobs {
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
	for _, c := range bench.Comparisons {
		if results[c.Weir] != results[c.Anchor] {
			return nil, fmt.Errorf("%s computed %d, %s computed %d", c.Weir, results[c.Weir], c.Anchor, results[c.Anchor])
		}
	}
	med := map[string]float64{}
	for name, s := range samples {
		slices.Sort(s)
		med[name] = s[len(s)/2]
	}
	return med, nil
}
