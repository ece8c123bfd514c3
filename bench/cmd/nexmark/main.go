// Command nexmark runs the Nexmark queries on weir over the generator's events and prints
// their throughput, generator included, and peak heap.
//
//	go run ./bench/cmd/nexmark -q N [-n events] [-w workers] [-rate r] [-base-time t] [-out file] [-verify]
//	go run ./bench/cmd/nexmark -q all [-n events] [-w workers]     # the table of every query
//	go run ./bench/cmd/nexmark -q all -r [-rounds r] [-epoch d]   # each also with recovery
//
// Per core is the throughput divided by the cores the run had (the smaller of -w and
// GOMAXPROCS). The table puts each query next to its anchors: Flink's published per-core
// rates in the Nexmark reference setup, and Feldera's 16-core single-machine rates,
// divided by 16. -out writes the outputs as JSON lines; -verify compares them with the
// reference computation (a plain loop, in memory: keep -n to a few million).
//
// With -r, each query also runs with a recovery store, snapshotting every -epoch (10 s,
// run.EpochInterval's default) to a fresh recovery directory of 4 partitions in the
// temporary directory, and the two runs of a query alternate over -rounds rounds (3 by
// default) so that the machine's changing load affects both alike. The table then gives
// ranges over the rounds, and the time with recovery over the time without per round
// (issue 18's goal: at most 1.15), each run timed to its return, the last snapshot's
// commit included; both runs of a round must give as many outputs. The CPU time of the
// process over each run is compared too: on a machine that other work keeps busy, it
// says what recovery costs better than the wall time.
//
// Event n happens at the base time plus n/rate seconds, truncated to the millisecond.
// The defaults, 10,000 events per second from 2023-11-14T22:13:20Z (1,700,000,000,000 ms
// since the epoch), are the benchmark's. -base-time takes an RFC 3339 time, to the
// millisecond at most.
//
// # Beam's timeline
//
// To compare results event for event with Apache Beam's Java Nexmark, or with another
// implementation checked against it, run on Beam's default timeline:
//
//	go run ./bench/cmd/nexmark -q 4 -n 100000 -rate 100 -base-time 2015-07-15T00:00:00Z -out q4.jsonl
//
// Beam's default configuration asks for 10,000 events per second over 100 event
// generators, so each generator's events are 100 × 100 µs = 10 ms apart: -rate 100. Its
// base time is 2015-07-15T00:00:00Z, and 100,000 events its default run (-n 100000);
// every other setting of the generator and the queries already has Beam's default value.
// That is the timeline of Beam's generator read as one stream, as its query models read
// it: event n at the base time plus 10n ms. A Beam runner that splits the source into its
// 100 generators gives each a timeline of its own from the base time, which no single
// timeline reproduces; run Beam with numEventGenerators=1 and firstEventRate=nextEventRate
// =100 to get this timeline from any runner. Beam's delay is a whole number of
// microseconds and this generator's is 1e6/rate: they agree whenever 1e6/rate is whole.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/weirflow/weir/internal/bench/nexmark"
)

// Anchors, in events per second per core (0: not published).
var (
	flink   = [nexmark.Queries]float64{155e3, 158e3, 175e3, 152e3, 34e3, 22e3, 0, 12e3, 146e3}
	feldera = [nexmark.Queries]float64{6.97e6 / 16, 0, 0, 0, 4.23e6 / 16, 6.59e6 / 16, 0, 3.14e6 / 16, 0}
)

const usage = `usage: nexmark [-q N|all] [-n events] [-w workers] [-rate r] [-base-time t] [-out file] [-verify]
       nexmark [-q N|all] -r [-rounds r] [-epoch d] [-n events] [-w workers]

Runs the Nexmark queries on weir and prints their throughput, or (-verify) checks a
query's outputs against the reference computation. With -r, each query runs without and
with a recovery store (a snapshot every -epoch), alternated over -rounds rounds.

To compare outputs event for event with Beam's Java Nexmark, use Beam's default
timeline, 100,000 events 10 ms apart from 2015-07-15T00:00:00Z:

  nexmark -q 4 -n 100000 -rate 100 -base-time 2015-07-15T00:00:00Z -out q4.jsonl

Beam gives that stream when its generator is read as one (as its query models read
it), or from any runner with numEventGenerators=1 and firstEventRate=nextEventRate=100.

`

func main() {
	// Each timed run would log its start and end: only warnings and errors matter here.
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	query := flag.String("q", "all", "query, 0 to 8, or all")
	c := nexmark.DefaultConfig()
	flag.Int64Var(&c.Events, "n", c.Events, "events to generate")
	flag.Float64Var(&c.Rate, "rate", c.Rate, "events per second of event time (Beam's timeline: 100, 10 ms apart)")
	flag.Func("base-time", fmt.Sprintf("time of event 0, RFC 3339 (default %s; Beam's: 2015-07-15T00:00:00Z)", formatMillis(c.BaseTime)), func(s string) error {
		ms, err := parseBaseTime(s)
		c.BaseTime = ms
		return err
	})
	workers := flag.Int("w", 2, "workers")
	out := flag.String("out", "", "write the query's outputs to this file, as JSON lines")
	verify := flag.Bool("verify", false, "compare the outputs with the reference computation")
	profile := flag.String("cpuprofile", "", "write a CPU profile of the run to this file")
	var rec recoveryFlags
	flag.BoolVar(&rec.on, "r", false, "also run each query with a recovery store, alternated with the run without")
	flag.IntVar(&rec.rounds, "rounds", 3, "with -r: rounds of the two runs of each query")
	flag.DurationVar(&rec.epoch, "epoch", 10*time.Second, "with -r: the epoch interval, so the time between snapshots")
	flag.Usage = func() {
		fmt.Fprint(flag.CommandLine.Output(), usage)
		flag.PrintDefaults()
	}
	flag.Parse()
	if *profile != "" {
		f, err := os.Create(*profile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "nexmark:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	if err := run(*query, c, *workers, *out, *verify, rec); err != nil {
		fmt.Fprintln(os.Stderr, "nexmark:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

// recoveryFlags are the flags of -r.
type recoveryFlags struct {
	on     bool
	rounds int
	epoch  time.Duration
}

func run(query string, c nexmark.Config, workers int, out string, verify bool, rec recoveryFlags) error {
	if c.Events <= 0 {
		return fmt.Errorf("-n must be positive")
	}
	if rec.on && (rec.rounds < 1 || rec.epoch <= 0) {
		return fmt.Errorf("-rounds and -epoch must be positive")
	}
	if rec.on && (out != "" || verify) {
		return fmt.Errorf("-r times the runs: it takes neither -out nor -verify")
	}
	p := nexmark.DefaultParams(c)
	ctx := context.Background()
	if query == "all" {
		if out != "" || verify {
			return fmt.Errorf("-out and -verify take one query")
		}
		if rec.on {
			return recoveryTable(ctx, c, p, workers, rec, nexmark.Queries)
		}
		return table(ctx, c, p, workers)
	}
	q, err := strconv.Atoi(query)
	if err != nil || q < 0 || q >= nexmark.Queries {
		return fmt.Errorf("-q must be 0 to %d or all, not %q", nexmark.Queries-1, query)
	}
	if rec.on {
		return recoveryTable(ctx, c, p, workers, rec, q, q+1)
	}
	if verify {
		if err := nexmark.Verify(ctx, q, c, p, workers); err != nil {
			return err
		}
		fmt.Printf("q%d: %d events on %d workers: outputs equal the reference's\n", q, c.Events, workers)
		return nil
	}
	o := nexmark.Options{Query: q, Config: c, Params: p, Workers: workers}
	if out != "" {
		f, err := os.Create(out)
		if err != nil {
			return err
		}
		defer f.Close()
		w := bufio.NewWriter(f)
		var mu sync.Mutex
		o.Collect = func(line []byte) {
			mu.Lock()
			w.Write(line)
			w.WriteByte('\n')
			mu.Unlock()
		}
		defer w.Flush()
	}
	r, err := nexmark.Run(ctx, o)
	if err != nil {
		return err
	}
	fmt.Printf("q%d: %d events in %.2f s on %d workers: %s events/s, %s events/s per core, peak heap %s, %d outputs, %d late\n",
		q, r.Events, r.Elapsed.Seconds(), r.Workers, si(r.EventsPerSec()), si(r.PerCore()), bytes(r.PeakHeap), r.Outputs, r.Late)
	return nil
}

func table(ctx context.Context, c nexmark.Config, p nexmark.Params, workers int) error {
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "query\tevents/s\tper core\tFlink/core\t× Flink\tFeldera/core\t× Feldera\tpeak heap\toutputs\tlate\t\n")
	for q := range nexmark.Queries {
		r, err := nexmark.Run(ctx, nexmark.Options{Query: q, Config: c, Params: p, Workers: workers})
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "q%d done in %.1f s\n", q, r.Elapsed.Seconds())
		fmt.Fprintf(tw, "q%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t\n", q, si(r.EventsPerSec()), si(r.PerCore()),
			si(flink[q]), ratio(r.PerCore(), flink[q]), si(feldera[q]), ratio(r.PerCore(), feldera[q]), bytes(r.PeakHeap), r.Outputs, r.Late)
	}
	tw.Flush()
	fmt.Printf("\n%d events per query on %d workers; per core = events/s / min(workers, GOMAXPROCS=%d)\n", c.Events, workers, min(workers, runtime.GOMAXPROCS(0)))
	return nil
}

// recoveryTable runs the queries from, or from to to-1 when given, without and with a
// recovery store, and prints the table of both: ranges over the rounds.
func recoveryTable(ctx context.Context, c nexmark.Config, p nexmark.Params, workers int, rec recoveryFlags, span ...int) error {
	from, to := 0, span[0]
	if len(span) > 1 {
		from, to = span[0], span[1]
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "query\tevents/s\tper core\t× Flink\tevents/s -r\t-r / without\tmedian\tgoal\tCPU -r / without\tpeak heap\tpeak heap -r\toutputs\tlate\t\n")
	for q := from; q < to; q++ {
		o := nexmark.Options{Query: q, Config: c, Params: p, Workers: workers, EpochInterval: rec.epoch}
		pairs, err := nexmark.CompareRecovery(ctx, o, rec.rounds)
		if err != nil {
			return err
		}
		var plain, withRec, ratios, cpu []float64
		var heap, heapRec uint64
		for _, pr := range pairs {
			plain = append(plain, pr.Plain.EventsPerSec())
			withRec = append(withRec, pr.Recovery.EventsPerSec())
			ratios = append(ratios, pr.Ratio())
			cpu = append(cpu, pr.CPURatio())
			heap, heapRec = max(heap, pr.Plain.PeakHeap), max(heapRec, pr.Recovery.PeakHeap)
		}
		med := median(ratios)
		result := "PASS"
		if med > recoveryGoal {
			result = "MISS"
		}
		fmt.Fprintf(os.Stderr, "q%d done: -r / without %s (time), %s (CPU)\n", q,
			spread(ratios, func(v float64) string { return fmt.Sprintf("%.2f", v) }), spread(cpu, func(v float64) string { return fmt.Sprintf("%.2f", v) }))
		perCore := median(plain) / float64(min(workers, runtime.GOMAXPROCS(0)))
		twoDigits := func(v float64) string { return fmt.Sprintf("%.2f", v) }
		fmt.Fprintf(tw, "q%d\t%s\t%s\t%s\t%s\t%s\t%.2f\t<= %g %s\t%s\t%s\t%s\t%d\t%d\t\n", q, spread(plain, si), si(perCore), ratio(perCore, flink[q]),
			spread(withRec, si), spread(ratios, twoDigits), med, recoveryGoal, result, spread(cpu, twoDigits),
			bytes(heap), bytes(heapRec), pairs[0].Plain.Outputs, pairs[0].Plain.Late)
	}
	tw.Flush()
	fmt.Printf("\n%d events per query on %d workers, %d rounds (ranges: min-max); -r: a snapshot every %s; per core = median events/s / min(workers, GOMAXPROCS=%d)\n",
		c.Events, workers, rec.rounds, rec.epoch, min(workers, runtime.GOMAXPROCS(0)))
	return nil
}

// recoveryGoal is issue 18's goal for a query's time with recovery over its time without.
const recoveryGoal = 1.15

// spread writes the range of vs, or its one value.
func spread(vs []float64, format func(float64) string) string {
	lo, hi := slices.Min(vs), slices.Max(vs)
	if len(vs) == 1 || format(lo) == format(hi) {
		return format(lo)
	}
	return format(lo) + "-" + format(hi)
}

func median(vs []float64) float64 {
	s := slices.Sorted(slices.Values(vs))
	if len(s)%2 == 0 {
		return (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return s[len(s)/2]
}

// parseBaseTime reads an RFC 3339 time as milliseconds since the Unix epoch, the unit of
// event times; a finer time would be silently truncated, so it is refused.
func parseBaseTime(s string) (int64, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return 0, fmt.Errorf("not an RFC 3339 time: %w", err)
	}
	if t.Nanosecond()%int(time.Millisecond) != 0 {
		return 0, fmt.Errorf("%s is finer than a millisecond", s)
	}
	if t.Before(time.UnixMilli(0)) {
		return 0, fmt.Errorf("%s is before 1970", s)
	}
	return t.UnixMilli(), nil
}

// formatMillis writes milliseconds since the Unix epoch as an RFC 3339 time in UTC.
func formatMillis(ms int64) string { return time.UnixMilli(ms).UTC().Format(time.RFC3339Nano) }

func si(v float64) string {
	switch {
	case v == 0:
		return "-"
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	}
	return fmt.Sprintf("%.0fK", v/1e3)
}

func ratio(v, anchor float64) string {
	if anchor == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f", v/anchor)
}

func bytes(b uint64) string { return fmt.Sprintf("%d MiB", b>>20) }
