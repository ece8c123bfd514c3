package nexmark

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/metrics"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/op"
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
}

// Result is what a run measured.
type Result struct {
	Query   int
	Events  int64
	Outputs int64
	// Late is the number of events that came after Params.Wait and did not count.
	Late    int64
	Elapsed time.Duration
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
	start := time.Now()
	err := run.Run(ctx, flow, run.Workers(workers))
	elapsed := time.Since(start)
	res := Result{Query: o.Query, Events: o.Config.Events, Outputs: out.n.Load(), Late: late.Load(),
		Elapsed: elapsed, Workers: workers, PeakHeap: peak()}
	if err != nil {
		return res, fmt.Errorf("weir: nexmark: q%d: %w", o.Query, err)
	}
	return res, nil
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
	return verifyAgainst(ctx, q, c, p, workers, want)
}

// verifyAgainst is Verify with the reference's output, want, already computed: tests run
// each query on several worker counts against one reference.
func verifyAgainst(ctx context.Context, q int, c Config, p Params, workers int, want []string) error {
	var (
		mu  sync.Mutex
		got []string
	)
	res, err := Run(ctx, Options{Query: q, Config: c, Params: p, Workers: workers, Collect: func(line []byte) {
		mu.Lock()
		got = append(got, string(line))
		mu.Unlock()
	}})
	if err != nil {
		return err
	}
	if res.Late > 0 {
		return fmt.Errorf("weir: nexmark: q%d: %d late events: raise Params.Wait", q, res.Late)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		return fmt.Errorf("weir: nexmark: q%d on %d workers: %d outputs differ from the reference's %d: %s", q, workers, len(got), len(want), firstDiff(got, want))
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
