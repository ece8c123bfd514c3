package nexmark

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/op"
	_ "github.com/weirflow/weir/recovery" // Options.Recovery needs the store
	"github.com/weirflow/weir/run"
	"github.com/weirflow/weir/sink"
)

// Queries is the number of queries: Q0 to Q8.
const Queries = 9

// Options sets up one run of a query.
type Options struct {
	Query   int
	Config  Config
	Params  Params
	Workers int
	// Collect, if set, receives every output of the query as a JSON line, in the order
	// each worker wrote them. It is called concurrently by the workers.
	Collect func(line []byte)
	// Recovery, if set, is a recovery directory the run snapshots its state to at the
	// close of every epoch, made with RecoveryPartitions partitions if it holds none; a
	// directory a run has already written resumes from it. Empty runs without recovery.
	Recovery string
	// EpochInterval, if set, overrides the run's epoch interval (run.EpochInterval),
	// 10 s by default: with Recovery, how often a snapshot is written.
	EpochInterval time.Duration
}

// RecoveryPartitions is the number of partitions of the recovery directories Run makes.
const RecoveryPartitions = 4

// Result is what a run measured.
type Result struct {
	Query   int
	Events  int64
	Outputs int64
	// Late is the number of events that came after Params.Wait and did not count.
	Late    int64
	Elapsed time.Duration
	// CPU is the CPU time, user and system, the process used during the run: all of it
	// the run's when nothing else runs in the process. Beside Elapsed, it tells a run
	// that did more work from one that waited on a busy machine.
	CPU     time.Duration
	Workers int
	// PeakHeap is the largest heap in use seen while the query ran, sampled every 10 ms.
	PeakHeap uint64
}

// EventsPerSec is the throughput over the whole run, generator included.
func (r Result) EventsPerSec() float64 { return float64(r.Events) / r.Elapsed.Seconds() }

// PerCore is EventsPerSec divided by the cores the run had: the smaller of its workers
// and GOMAXPROCS.
func (r Result) PerCore() float64 {
	return r.EventsPerSec() / float64(min(r.Workers, runtime.GOMAXPROCS(0)))
}

// Run runs a query over o.Config's events on o.Workers workers in this process.
func Run(ctx context.Context, o Options) (Result, error) {
	if o.Query < 0 || o.Query >= Queries {
		return Result{}, fmt.Errorf("weir: nexmark: no query %d: there are Q0 to Q%d", o.Query, Queries-1)
	}
	if err := o.Config.Validate(); err != nil {
		return Result{}, err
	}
	if err := o.Params.Validate(); err != nil {
		return Result{}, err
	}
	workers := max(o.Workers, 1)
	flow := weir.NewDataflow(fmt.Sprintf("nexmark_q%d", o.Query))
	in := op.Input("events", flow, NewSource(o.Config, workers))
	var late atomic.Int64
	out := &counter{collect: o.Collect}
	switch o.Query {
	case 0:
		output(Q0(in, o.Params), out)
	case 1:
		output(Q1(in, o.Params), out)
	case 2:
		output(Q2(in, o.Params), out)
	case 3:
		output(Q3(in, o.Params, &late), out)
	case 4:
		output(Q4(in, o.Params, &late), out)
	case 5:
		output(Q5(in, o.Params, &late), out)
	case 6:
		output(Q6(in, o.Params, &late), out)
	case 7:
		output(Q7(in, o.Params, &late), out)
	case 8:
		output(Q8(in, o.Params, &late), out)
	}
	runtime.GC()
	peak := sampleHeap()
	opts := []run.Option{run.Workers(workers)}
	if o.Recovery != "" {
		opts = append(opts, run.Recovery(o.Recovery), run.RecoveryPartitions(RecoveryPartitions))
	}
	if o.EpochInterval > 0 {
		opts = append(opts, run.EpochInterval(o.EpochInterval))
	}
	start, cpu0 := time.Now(), processCPU()
	err := run.Run(ctx, flow, opts...)
	elapsed, cpu := time.Since(start), processCPU()-cpu0
	res := Result{Query: o.Query, Events: o.Config.Events, Outputs: out.n.Load(), Late: late.Load(),
		Elapsed: elapsed, CPU: cpu, Workers: workers, PeakHeap: peak()}
	if err != nil {
		return res, fmt.Errorf("weir: nexmark: q%d: %w", o.Query, err)
	}
	return res, nil
}

// processCPU is the CPU time this process has used, user and system; 0 where the system
// does not say.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// counter is the sink of a run: it counts the outputs and, if asked, encodes them.
type counter struct {
	n       atomic.Int64
	collect func([]byte)
}

func output[T any](s weir.Stream[T], c *counter) {
	op.Output("out", s, sink.Func(func(items []T) error {
		c.n.Add(int64(len(items)))
		if c.collect == nil {
			return nil
		}
		for i := range items {
			line, err := json.Marshal(items[i])
			if err != nil {
				return err
			}
			c.collect(line)
		}
		return nil
	}))
}

// sampleHeap samples the heap in use every 10 ms until the returned function is called,
// which returns the largest sample.
func sampleHeap() func() uint64 {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() uint64 {
		metrics.Read(sample)
		return sample[0].Value.Uint64()
	}
	var (
		peak atomic.Uint64
		wg   sync.WaitGroup
	)
	stop := make(chan struct{})
	peak.Store(read())
	wg.Go(func() {
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				if v := read(); v > peak.Load() {
					peak.Store(v)
				}
			}
		}
	})
	return func() uint64 {
		close(stop)
		wg.Wait()
		return max(peak.Load(), read())
	}
}

// Reference returns query q's output over events 0 to c.Events-1 as computed by a plain
// loop without weir, as sorted JSON lines.
func Reference(q int, c Config, p Params) ([]string, error) {
	if q < 0 || q >= Queries {
		return nil, fmt.Errorf("weir: nexmark: no query %d", q)
	}
	es := make([]Event, c.Events)
	for i := range es {
		es[i] = c.Event(int64(i))
	}
	switch q {
	case 0:
		return jsonLines(ref0(es, p))
	case 1:
		return jsonLines(ref1(es, p))
	case 2:
		return jsonLines(ref2(es, p))
	case 3:
		return jsonLines(ref3(es, p))
	case 4:
		return jsonLines(ref4(es, p))
	case 5:
		return jsonLines(ref5(es, p))
	case 6:
		return jsonLines(ref6(es, p))
	case 7:
		return jsonLines(ref7(es, p))
	}
	return jsonLines(ref8(es, p))
}

// jsonLines returns items as sorted JSON lines.
func jsonLines[T any](items []T) ([]string, error) {
	lines := make([]string, len(items))
	for i := range items {
		b, err := json.Marshal(items[i])
		if err != nil {
			return nil, err
		}
		lines[i] = string(b)
	}
	slices.Sort(lines)
	return lines, nil
}

// Verify runs query q on workers workers and compares its output, as a multiset, with
// Reference's. It fails if any event was late.
func Verify(ctx context.Context, q int, c Config, p Params, workers int) error {
	want, err := Reference(q, c, p)
	if err != nil {
		return err
	}
	return verifyAgainst(ctx, Options{Query: q, Config: c, Params: p, Workers: workers}, want)
}

// verifyAgainst is Verify of the run o with the reference's output, want, already
// computed: tests run each query on several worker counts, with and without recovery,
// against one reference. o.Collect is set here.
func verifyAgainst(ctx context.Context, o Options, want []string) error {
	var (
		mu  sync.Mutex
		got []string
	)
	o.Collect = func(line []byte) {
		mu.Lock()
		got = append(got, string(line))
		mu.Unlock()
	}
	res, err := Run(ctx, o)
	if err != nil {
		return err
	}
	if res.Late > 0 {
		return fmt.Errorf("weir: nexmark: q%d: %d late events: raise Params.Wait", o.Query, res.Late)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		return fmt.Errorf("weir: nexmark: q%d on %d workers: %d outputs differ from the reference's %d: %s", o.Query, o.Workers, len(got), len(want), firstDiff(got, want))
	}
	return nil
}

// firstDiff describes the first line where got and want (both sorted) part.
func firstDiff(got, want []string) string {
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			return fmt.Sprintf("first difference: got %s, want %s", got[i], want[i])
		}
	}
	if len(got) > len(want) {
		return "extra output " + got[len(want)]
	}
	if len(want) > len(got) {
		return "missing output " + want[len(got)]
	}
	return ""
}

// Pair is one round of a query run without and with a recovery store.
type Pair struct {
	Plain, Recovery Result
}

// Ratio is the recovery run's time over the plain run's.
func (p Pair) Ratio() float64 { return p.Recovery.Elapsed.Seconds() / p.Plain.Elapsed.Seconds() }

// CPURatio is the recovery run's CPU time over the plain run's: what recovery costs in
// work, which a busy machine disturbs less than the wall time.
func (p Pair) CPURatio() float64 { return p.Recovery.CPU.Seconds() / p.Plain.CPU.Seconds() }

// CompareRecovery runs query o.Query rounds times without a recovery store and with one,
// alternated (the plain run first in even rounds, second in odd ones), so that a machine
// that slows down or speeds up affects both alike. Each recovery run writes to a fresh
// directory of RecoveryPartitions partitions in a temporary directory, removed after it,
// snapshotting every o.EpochInterval (10 s by default). It fails unless both runs of a
// round give the same numbers of outputs and of late events. o.Recovery must be empty.
func CompareRecovery(ctx context.Context, o Options, rounds int) ([]Pair, error) {
	if o.Recovery != "" {
		return nil, fmt.Errorf("weir: nexmark: CompareRecovery makes its own recovery directories")
	}
	withStore := func() (Result, error) {
		tmp, err := os.MkdirTemp("", "weir-nexmark-")
		if err != nil {
			return Result{}, err
		}
		defer os.RemoveAll(tmp)
		r := o
		r.Recovery = filepath.Join(tmp, "recovery")
		return Run(ctx, r)
	}
	pairs := make([]Pair, 0, rounds)
	for i := range rounds {
		var p Pair
		var err error
		if i%2 == 0 {
			if p.Plain, err = Run(ctx, o); err == nil {
				p.Recovery, err = withStore()
			}
		} else {
			if p.Recovery, err = withStore(); err == nil {
				p.Plain, err = Run(ctx, o)
			}
		}
		if err != nil {
			return pairs, err
		}
		if p.Plain.Outputs != p.Recovery.Outputs || p.Plain.Late != p.Recovery.Late {
			return pairs, fmt.Errorf("weir: nexmark: q%d: %d outputs and %d late events with recovery, %d and %d without",
				o.Query, p.Recovery.Outputs, p.Recovery.Late, p.Plain.Outputs, p.Plain.Late)
		}
		pairs = append(pairs, p)
	}
	return pairs, nil
}
