package bench

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/run"
	"github.com/weirflow/weir/window"
)

// Keys is the number of distinct keys the count paths count.
const Keys = 1000

// keys are formatted once, so that the count paths measure counting, not formatting.
var keys = func() []string {
	ks := make([]string, Keys)
	for i := range ks {
		ks[i] = "key-" + strconv.Itoa(i)
	}
	return ks
}()

// The user functions of the paths. weir and the anchor loops get the same function
// values; they are trivial so that what is measured is the cost of calling them.
var (
	inc    = func(x int) int { return x + 1 }
	triple = func(x int) int { return x * 3 }
	flip   = func(x int) int { return x ^ 5 }
	keyOf  = func(x int) string { return keys[x%Keys] }
)

// Chain runs a flow of three op.Map steps over the ints 0 to n-1 on the given number of
// workers, each reading its own partition, and returns the sum of what comes out.
func Chain(ctx context.Context, n, workers int, opts ...run.Option) (int, error) {
	return ChainSized(ctx, n, workers, DefaultBatch, opts...)
}

// ChainSized is Chain reading batches of the given size.
func ChainSized(ctx context.Context, n, workers, batch int, opts ...run.Option) (int, error) {
	flow := weir.NewDataflow("chain")
	s := op.Input("ints", flow, NewInts(n, workers).BatchSize(batch))
	s = op.Map("inc", s, inc)
	s = op.Map("triple", s, triple)
	s = op.Map("flip", s, flip)
	sum := IntSum()
	op.Output("sum", s, sum)
	err := run.Run(ctx, flow, append([]run.Option{run.Workers(workers)}, opts...)...)
	total, _ := sum.Total()
	return total, err
}

// ChainLoop is the anchor of Chain: a loop calling the same three functions through
// function values, the floor for any engine that runs user code it does not compile.
func ChainLoop(n int) int { return chainLoop(n, inc, triple, flip) }

// chainLoop takes the functions as arguments, and must not be inlined into its caller,
// where the compiler could see which functions they are and inline them too.
//
//go:noinline
func chainLoop(n int, f1, f2, f3 func(int) int) int {
	sum := 0
	for i := range n {
		sum += f3(f2(f1(i)))
	}
	return sum
}

// ChainBatchLoop is Chain's work without the engine: batches of DefaultBatch filled by
// the benchmark's own source partition, the three functions applied in a loop of their
// own into a second buffer, as op's fused chain does, and the result added up by the
// benchmark's own sink partition. Beside ChainLoop it shows what materializing each batch
// costs any engine that hands batches from step to step; beside Chain, what weir's engine
// adds to that.
func ChainBatchLoop(n int) int { return ChainBatchLoopSized(n, DefaultBatch) }

// ChainBatchLoopSized is ChainBatchLoop on batches of the given size.
func ChainBatchLoopSized(n, batch int) int {
	batch = max(batch, 1)
	src := &intsPart{end: n, buf: make([]int, batch)}
	sink := &sumPart[int]{}
	out := make([]int, batch)
	for src.next < src.end {
		b, _ := src.Next(context.Background())
		o := out[:len(b)]
		mapLoop(b, o, inc, triple, flip)
		sink.Write(o)
	}
	return sink.sum
}

// mapLoop is the loop of op's fused chain of three functions, kept out of its caller as
// op keeps it.
//
//go:noinline
func mapLoop(xs, b []int, f1, f2, f3 func(int) int) {
	b = b[:len(xs)]
	for i, x := range xs {
		y := f1(x)
		y = f2(y)
		b[i] = f3(y)
	}
}

// ChainInlined is Chain as a loop with the functions written out: what the machine can do
// when the compiler sees everything. It is printed for scale, with no budget.
func ChainInlined(n int) int {
	sum := 0
	for i := range n {
		sum += ((i + 1) * 3) ^ 5
	}
	return sum
}

// Count runs op.CountFinal over the ints 0 to n-1, item i counted under key i%Keys, on
// the given number of workers, reading batches of the given size, and returns the number
// of items counted. It fails unless every key that should have a count has one.
func Count(ctx context.Context, n, workers, batch int, opts ...run.Option) (int, error) {
	flow := weir.NewDataflow("count")
	s := op.Input("ints", flow, NewInts(n, workers).BatchSize(batch))
	sum := CountSum()
	op.Output("sum", op.CountFinal("count", s, keyOf), sum)
	if err := run.Run(ctx, flow, append([]run.Option{run.Workers(workers)}, opts...)...); err != nil {
		return 0, err
	}
	total, nkeys := sum.Total()
	if want := min(n, Keys); nkeys != want {
		return total, fmt.Errorf("weir: bench count: %d keys counted, want %d", nkeys, want)
	}
	return total, nil
}

// CountLoop is the anchor of Count: counts[key(i)]++ in a Go map, the key given by the
// same function value. It returns the number of items counted.
func CountLoop(n int) int { return countLoopRange(0, n, keyOf) }

// CountLoops is CountLoop split in two halves counted at once on two goroutines, each
// into a map of its own: no engine's two workers can do better on the same machine. It is
// printed for scale beside the two workers' row, because this VM's two cores do not always
// give twice one core's throughput to two loops that share nothing (0.47-0.80 of one
// loop's time over 96 pairs in 8 processes, in spells of seconds).
func CountLoops(n int) int {
	var lo, hi int
	var wg sync.WaitGroup
	wg.Go(func() { lo = countLoopRange(0, n/2, keyOf) })
	wg.Go(func() { hi = countLoopRange(n/2, n, keyOf) })
	wg.Wait()
	return lo + hi
}

// countLoopRange counts the ints from to to-1. It must not be inlined, so that the key
// function stays a call through a function value, as in weir.
//
//go:noinline
func countLoopRange(from, to int, key func(int) string) int {
	counts := map[string]int{}
	for i := from; i < to; i++ {
		counts[key(i)]++
	}
	total := 0
	for _, c := range counts {
		total += c
	}
	return total
}

// The windowed paths count events per key in tumbling windows of event time. Event i has
// key i%WindowKeys and happens at EventBase + i*EventStep: every key has an event every
// 10 s, six per one-minute window, and WindowEvents events span 167 windows, so that
// windows open and close all along the run, as they do in a live flow.
const (
	WindowKeys   = 10_000
	WindowEvents = 10_000_000
	EventStep    = time.Millisecond
	WindowLength = time.Minute
)

// EventBase is the time of the first event, and the alignment of the windows: window i
// covers [EventBase + i*WindowLength, +WindowLength).
var EventBase = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

var windowKeys = func() []string {
	ks := make([]string, WindowKeys)
	for i := range ks {
		ks[i] = "sensor-" + strconv.Itoa(i)
	}
	return ks
}()

// EventAt returns event i of the windowed paths' input.
func EventAt(i int) Event {
	return Event{Key: windowKeys[i%WindowKeys], At: EventBase.Add(time.Duration(i) * EventStep)}
}

// The user functions of the windowed paths, given to weir and the anchors alike.
var (
	eventKey  = func(e Event) string { return e.Key }
	eventTime = func(e Event) time.Time { return e.At }
)

// WindowCount runs window.Count over the first n events, per key in tumbling windows of
// WindowLength on an event clock without wait, on the given number of workers, and
// returns the sum of the counts weighted by window id + 1. Nothing is late: each key's
// events come in time order, from one partition, 10 s of event time apart, which the
// system time between them (that also moves the watermark) is far from. It fails unless
// every (key, window) that has events has exactly one count.
func WindowCount(ctx context.Context, n, workers int) (int, error) {
	flow := weir.NewDataflow("window_count")
	s := op.Input("events", flow, NewEvents(n, workers))
	counts := window.Count("count", s, window.EventClock(eventTime, 0), window.Tumbling(WindowLength, EventBase), eventKey)
	sum := WindowCountSum()
	op.Output("sum", counts.Down, sum)
	if err := run.Run(ctx, flow, run.Workers(workers)); err != nil {
		return 0, err
	}
	total, pairs := sum.Total()
	if want := WindowPairs(n); pairs != want {
		return total, fmt.Errorf("weir: bench window: %d counts, want %d", pairs, want)
	}
	return total, nil
}

// WindowPairs returns the number of (key, window) pairs among the first n events.
func WindowPairs(n int) int {
	per := int(WindowLength / EventStep) // events per window
	pairs := 0
	for first := 0; first < n; first += per {
		pairs += min(per, n-first, WindowKeys)
	}
	return pairs
}

// windowOf returns the id of the window holding t.
func windowOf(t time.Time) int64 {
	d := t.Sub(EventBase)
	w := int64(d / WindowLength)
	if d%WindowLength < 0 {
		w--
	}
	return w
}

// WindowLoop is the anchor of WindowCount: the loop one would write for per-key tumbling
// counts of a stream whose keys' events are in time order. Each key has one open window;
// an event past it closes it (adding its weighted count to the result) and opens the
// next. It takes the key and the time from the same function values as weir.
func WindowLoop(n int) int { return windowLoop(n, eventKey, eventTime) }

//go:noinline
func windowLoop(n int, key func(Event) string, ts func(Event) time.Time) int {
	type open struct {
		id    int64
		count int
	}
	keys := map[string]*open{}
	sum := 0
	for i := range n {
		e := EventAt(i)
		w := windowOf(ts(e))
		k := key(e)
		o := keys[k]
		if o == nil {
			o = &open{id: w}
			keys[k] = o
		}
		if o.id != w {
			sum += o.count * int(o.id+1)
			o.id, o.count = w, 0
		}
		o.count++
	}
	for _, o := range keys {
		sum += o.count * int(o.id+1)
	}
	return sum
}

// WindowMapLoop computes WindowLoop's result with a count per window in a Go map per key,
// as one would without relying on the order of the events (it beats one map keyed by
// (key, window)). It is printed for scale.
func WindowMapLoop(n int) int { return windowMapLoop(n, eventKey, eventTime) }

//go:noinline
func windowMapLoop(n int, key func(Event) string, ts func(Event) time.Time) int {
	counts := map[string]map[int64]int{}
	for i := range n {
		e := EventAt(i)
		k := key(e)
		perKey := counts[k]
		if perKey == nil {
			perKey = map[int64]int{}
			counts[k] = perKey
		}
		perKey[windowOf(ts(e))]++
	}
	sum := 0
	for _, perKey := range counts {
		for id, c := range perKey {
			sum += c * int(id+1)
		}
	}
	return sum
}

// A Job is one measured path: Run processes n items and returns a number that depends on
// every one of them, so that paths computing the same thing can be checked against each
// other.
type Job struct {
	Name string
	Run  func(n int) (int, error)
	// N, when set, is the number of items the report runs the job with instead of its -n
	// (its -window-n overrides it): the windowed paths run at WindowEvents, the size
	// issue 3 sets their budget for.
	N int
	// Scale, when set, multiplies -n for the job: the metrics rows run MetricsScale times
	// as long as the others, so that they measure what serving and scraping cost a run's
	// throughput, not what starting a server and the first scrape add to a run of a
	// tenth of a second (about 3 ms of CPU, 2-4% of such a run).
	Scale int
}

// MetricsScale is the Scale of the metrics rows' jobs: at the default -n, about 0.6 s for
// the chain and 1.2 s for the count on 2 workers, scraped at once and a second later.
const MetricsScale = 8

func chainJob(workers int) func(int) (int, error) {
	return func(n int) (int, error) { return Chain(context.Background(), n, workers) }
}

func countJob(workers, batch int) func(int) (int, error) {
	return func(n int) (int, error) { return Count(context.Background(), n, workers, batch) }
}

func windowJob(workers int) func(int) (int, error) {
	return func(n int) (int, error) { return WindowCount(context.Background(), n, workers) }
}

func loopJob(f func(int) int) func(int) (int, error) {
	return func(n int) (int, error) { return f(n), nil }
}

// Jobs are every measured path, by name. Jobs of the same family (the name's first word,
// "chain", "count" or "window") return the same number for the same n. weir's paths read
// batches of DefaultBatch unless their name gives another size.
var Jobs = []Job{
	{Name: "chain", Run: chainJob(1)},
	{Name: "chain-loop", Run: loopJob(ChainLoop)},
	{Name: "chain-inlined", Run: loopJob(ChainInlined)},
	{Name: "chain-batchloop", Run: loopJob(ChainBatchLoop)},
	{Name: "count-1w", Run: countJob(1, DefaultBatch)},
	{Name: "count-2w", Run: countJob(2, DefaultBatch)},
	{Name: "count-1w-16k", Run: countJob(1, 16384)},
	{Name: "count-loop", Run: loopJob(CountLoop)},
	{Name: "count-loop-2g", Run: loopJob(CountLoops)},
	{Name: "chain-long", Run: chainJob(1), Scale: MetricsScale},
	{Name: "chain-long-http", Run: monitoredJob(func(ctx context.Context, n int, opts ...run.Option) (int, error) {
		return Chain(ctx, n, 1, opts...)
	}), Scale: MetricsScale},
	{Name: "count-2w-long", Run: countJob(2, DefaultBatch), Scale: MetricsScale},
	{Name: "count-2w-long-http", Run: monitoredJob(func(ctx context.Context, n int, opts ...run.Option) (int, error) {
		return Count(ctx, n, 2, DefaultBatch, opts...)
	}), Scale: MetricsScale},
	{Name: "window-1w", Run: windowJob(1), N: WindowEvents},
	{Name: "window-loop", Run: loopJob(WindowLoop), N: WindowEvents},
	{Name: "window-maploop", Run: loopJob(WindowMapLoop), N: WindowEvents},
}

// A Comparison is one line of the budget table (DESIGN.md, "Performance budget"): a
// weir path against its anchor, measured in the same run. It passes when weir's time
// divided by the anchor's is at most Budget (below it, when Strict). A Budget of 0 marks
// a line printed for scale only.
type Comparison struct {
	Path         string
	Weir, Anchor string // job names
	Budget       float64
	Strict       bool
}

// Comparisons are the lines of the table, in order. The budgets are issue 18's goals
// (DESIGN.md, "Performance budget"); the lines without one are printed for scale.
var Comparisons = []Comparison{
	{Path: "chain of 3 maps, 1 worker / loop of func values", Weir: "chain", Anchor: "chain-loop", Budget: 1.2},
	{Path: "chain of 3 maps, 1 worker / inlined loop", Weir: "chain", Anchor: "chain-inlined"},
	// The floor of batches handed from step to step, and what the engine adds to it.
	{Path: "batch loop (fill, map, sum per batch) / loop of func values", Weir: "chain-batchloop", Anchor: "chain-loop"},
	{Path: "chain of 3 maps, 1 worker / batch loop", Weir: "chain", Anchor: "chain-batchloop"},
	{Path: "CountFinal, 1000 keys, 1 worker / map loop", Weir: "count-1w", Anchor: "count-loop", Budget: 1.5},
	// Two workers must take at most 0.58 of one worker's time: 1.7 times the throughput.
	{Path: "CountFinal, 1000 keys, 2 workers / 1 worker (time)", Weir: "count-2w", Anchor: "count-1w", Budget: 0.58},
	{Path: "CountFinal, 1000 keys, 2 workers / map loop", Weir: "count-2w", Anchor: "count-loop"},
	// What the machine gives two loops that share nothing, in the same rounds.
	{Path: "map loop on 2 goroutines / on 1 (the machine's own scaling)", Weir: "count-loop-2g", Anchor: "count-loop"},
	{Path: "CountFinal, 1000 keys, 1 worker, batches of 16384 / map loop", Weir: "count-1w-16k", Anchor: "count-loop"},
	// DESIGN.md's budget for metrics is a throughput cost: these rows run MetricsScale
	// times as many items (Job.Scale).
	{Path: "chain of 3 maps, 1 worker, metrics served and scraped / off", Weir: "chain-long-http", Anchor: "chain-long", Budget: 1.03},
	{Path: "CountFinal, 1000 keys, 2 workers, metrics served and scraped / off", Weir: "count-2w-long-http", Anchor: "count-2w-long", Budget: 1.03},
	{Path: "window.Count, tumbling 1 min, 10k keys, 1 worker / per-key loop", Weir: "window-1w", Anchor: "window-loop", Budget: 2.5},
	{Path: "window.Count, tumbling 1 min, 10k keys, 1 worker / map-per-key loop", Weir: "window-1w", Anchor: "window-maploop"},
}

// Pass reports whether ratio is within c's budget; a line without a budget always passes.
func (c Comparison) Pass(ratio float64) bool {
	switch {
	case c.Budget == 0:
		return true
	case c.Strict:
		return ratio < c.Budget
	}
	return ratio <= c.Budget
}

// BudgetText is c's budget as printed: "<= 1.5", "< 1", or "-" for none.
func (c Comparison) BudgetText() string {
	switch {
	case c.Budget == 0:
		return "-"
	case c.Strict:
		return "< " + strconv.FormatFloat(c.Budget, 'g', -1, 64)
	}
	return "<= " + strconv.FormatFloat(c.Budget, 'g', -1, 64)
}
