// Command nexmark runs the Nexmark queries on weir over the generator's events and prints
// their throughput, generator included, and peak heap.
//
//	go run ./bench/cmd/nexmark -q N [-n events] [-w workers] [-rate r] [-out file] [-verify]
//	go run ./bench/cmd/nexmark -q all [-n events] [-w workers]     # the table of every query
//
// Per core is the throughput divided by the cores the run had (the smaller of -w and
// GOMAXPROCS). The table puts each query next to its anchors: Flink's published per-core
// rates in the Nexmark reference setup, and Feldera's 16-core single-machine rates,
// divided by 16. -out writes the outputs as JSON lines; -verify compares them with the
// reference computation (a plain loop, in memory: keep -n to a few million).
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"sync"
	"text/tabwriter"

	"github.com/weirflow/weir/bench/nexmark"
)

// Anchors, in events per second per core (0: not published).
var (
	flink   = [nexmark.Queries]float64{155e3, 158e3, 175e3, 152e3, 34e3, 22e3, 0, 12e3, 146e3}
	feldera = [nexmark.Queries]float64{6.97e6 / 16, 0, 0, 0, 4.23e6 / 16, 6.59e6 / 16, 0, 3.14e6 / 16, 0}
)

func main() {
	query := flag.String("q", "all", "query, 0 to 8, or all")
	c := nexmark.DefaultConfig()
	flag.Int64Var(&c.Events, "n", c.Events, "events to generate")
	flag.Float64Var(&c.Rate, "rate", c.Rate, "events per second of event time")
	workers := flag.Int("w", 2, "workers")
	out := flag.String("out", "", "write the query's outputs to this file, as JSON lines")
	verify := flag.Bool("verify", false, "compare the outputs with the reference computation")
	profile := flag.String("cpuprofile", "", "write a CPU profile of the run to this file")
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
	if err := run(*query, c, *workers, *out, *verify); err != nil {
		fmt.Fprintln(os.Stderr, "nexmark:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

func run(query string, c nexmark.Config, workers int, out string, verify bool) error {
	if c.Events <= 0 {
		return fmt.Errorf("-n must be positive")
	}
	p := nexmark.DefaultParams(c)
	ctx := context.Background()
	if query == "all" {
		if out != "" || verify {
			return fmt.Errorf("-out and -verify take one query")
		}
		return table(ctx, c, p, workers)
	}
	q, err := strconv.Atoi(query)
	if err != nil || q < 0 || q >= nexmark.Queries {
		return fmt.Errorf("-q must be 0 to %d or all, not %q", nexmark.Queries-1, query)
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
