package systemtest

import (
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/connectors/files"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/recovery"
	"github.com/weirflow/weir/run"
	"github.com/weirflow/weir/sink"
	"github.com/weirflow/weir/source"
	"github.com/weirflow/weir/window"
)

// childEnv names the variable that makes the test binary a process of a cluster: its value
// is a childSpec in JSON.
const childEnv = "WEIR_SYSTEMTEST_CHILD"

// childSpec is what a cluster process builds and how; the command line (-i, -a, -w, -r,
// -s, ...) is run.Main's, as in any weir program.
type childSpec struct {
	Flow    string        // "all" (the four flows), "count", "stall", "soak" or "hang"
	Variant bool          // one more step: another dataflow, for the refusal test
	Out     string        // this process's output directory
	Size    int           // items per source partition
	Batch   int           // a source's largest batch
	Pace    time.Duration // a partition's wait between batches; 0: none
	Stall   time.Duration // "stall": this process's sink sleeps this long in a write,
	After   time.Duration // the first write this long after the process started
	Slow    time.Duration // "stall" with Slow: every write of the stall sleeps this long, not the first alone
	Heap    string        // a file to append "ms HeapInuse goroutines" to every Every; "": none
	Every   time.Duration // the heap sampler's interval; 0: a second
	Startup time.Duration // run.StartupTimeout; 0: the default
	Delay   time.Duration // how long the process waits before it starts its run
	Codec   bool          // register a varint codec for int (states, and KV[int] items between processes)
	Profile string        // a file to write the process's CPU profile to; "": none
}

// partitions is the number of partitions of every generated source: enough that 4
// processes x 1 worker, 2 x 2 and 1 x 4 all have two to read per worker.
const partitions = 8

// TestMain runs the tests, or, in a child, the flow its childSpec names.
func TestMain(m *testing.M) {
	if env := os.Getenv(childEnv); env != "" {
		var spec childSpec
		if err := json.Unmarshal([]byte(env), &spec); err != nil {
			fmt.Fprintf(os.Stderr, "systemtest: bad %s: %v\n", childEnv, err)
			os.Exit(3)
		}
		child(spec)
		return
	}
	os.Exit(m.Run())
}

// child runs spec's flow as run.Main runs any program's, and exits with its status.
func child(spec childSpec) {
	if spec.Heap != "" {
		go sampleHeap(spec.Heap, cmp.Or(spec.Every, time.Second))
	}
	time.Sleep(spec.Delay)
	if spec.Codec {
		recovery.RegisterCodec[int]("varint", varint{})
	}
	var opts []run.Option
	if spec.Startup > 0 {
		opts = append(opts, run.StartupTimeout(spec.Startup))
	}
	if spec.Profile != "" {
		f, err := os.Create(spec.Profile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "systemtest: profile: %v\n", err)
			os.Exit(3)
		}
	}
	code := run.MainStatus(buildFlow(spec), opts...)
	pprof.StopCPUProfile()
	os.Exit(code)
}

// sampleHeap appends the time since the process started (ms), HeapInuse, the number of
// goroutines and the live heap as of the last collection (runtime/metrics'
// /gc/heap/live:bytes) to path every interval, so that the test can read the curves even
// of a process it kills.
func sampleHeap(path string, every time.Duration) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		fmt.Fprintf(os.Stderr, "systemtest: heap samples: %v\n", err)
		return
	}
	start := time.Now()
	var ms runtime.MemStats
	live := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	for {
		runtime.ReadMemStats(&ms)
		metrics.Read(live)
		fmt.Fprintf(f, "%d %d %d %d\n", time.Since(start).Milliseconds(), ms.HeapInuse, runtime.NumGoroutine(), live[0].Value.Uint64())
		time.Sleep(every)
	}
}

// buildFlow declares spec's dataflow.
func buildFlow(spec childSpec) *weir.Dataflow {
	switch spec.Flow {
	case "count":
		flow := weir.NewDataflow("systemtest_count")
		keys := op.Input("keys", flow, newGen(spec, countKey))
		counts := op.CountFinal("count", keys, func(k string) string { return k })
		op.Output("out", counts, files.NewDirSink[weir.KV[int]](filepath.Join(spec.Out, "count"), 4))
		return flow
	case "stall":
		return stallFlow(spec)
	case "soak":
		return soakFlow(spec)
	case "hang":
		return hangFlow(spec)
	}
	flow := weir.NewDataflow("systemtest")
	wordcount(flow, spec)
	running(flow, spec)
	windows(flow, spec)
	join(flow, spec)
	return flow
}

// wordcount counts the words of generated lines.
func wordcount(flow *weir.Dataflow, spec childSpec) {
	lines := op.Input("lines", flow, newGen(spec, line))
	words := op.FlatMap("split", lines, strings.Fields)
	if spec.Variant {
		words = op.Filter("nonempty", words, func(w string) bool { return w != "" })
	}
	counts := op.CountFinal("count", words, func(w string) string { return w })
	op.Output("wordcount", counts, files.NewDirSink[weir.KV[int]](filepath.Join(spec.Out, "wordcount"), 4))
}

// running emits every update of a running sum per key. A key's items all come from one
// partition, in its order, so that the updates are the same whatever the layout.
func running(flow *weir.Dataflow, spec childSpec) {
	items := op.Input("amounts", flow, newGen(spec, amount))
	keyed := op.KeyOn("key_amounts", items, func(a kv) string { return a.K })
	values := op.MapValue("values", keyed, func(a kv) int { return a.V })
	sums := op.StatefulMap("sum", values, func(st *op.State[int], v int) int {
		s, _ := st.Get()
		s += v
		st.Set(s)
		return s
	})
	op.Output("running", sums, files.NewDirSink[weir.KV[int]](filepath.Join(spec.Out, "running"), 4))
}

// windows counts events per key in tumbling windows of event time, and writes the late
// ones apart.
func windows(flow *weir.Dataflow, spec childSpec) {
	events := op.Input("events", flow, newGen(spec, event))
	clock := window.EventTime(func(e ev) time.Time { return time.Unix(0, e.T) }, 20*time.Millisecond)
	out := window.Count("count_windows", events, clock, window.Tumbling(time.Second, time.Unix(0, eventBase)),
		func(e ev) string { return e.K })
	op.Output("windows", out.Down, files.NewDirSink[weir.KV[window.Windowed[int]]](filepath.Join(spec.Out, "windows"), 4))
	op.Output("late", out.Late, files.NewDirSink[weir.KV[window.Windowed[ev]]](filepath.Join(spec.Out, "late"), 4))
}

// join joins two keyed streams whose keys come from different partitions, in different
// orders; a key is on each side at most once, so that its row does not depend on which
// side comes first.
func join(flow *weir.Dataflow, spec childSpec) {
	left := op.KeyOn("key_left", op.Input("left", flow, newGen(spec, leftSide)), func(a kv) string { return a.K })
	right := op.KeyOn("key_right", op.Input("right", flow, newGen(spec, rightSide)), func(a kv) string { return a.K })
	rows := op.Join("join", []weir.KeyedStream[kv]{left, right})
	op.Output("joined", rows, files.NewDirSink[weir.KV[[]op.Opt[kv]]](filepath.Join(spec.Out, "join"), 4))
}

// stallFlow sends items of many keys through a stateful step, so that half of each
// process's items cross to the other process, into a sink that sleeps spec.Stall in its
// first write after spec.After on the process given a stall; with spec.Slow, it sleeps
// spec.Slow in every write for spec.Stall after spec.After instead: a sink stalled again
// and again, between whose writes the worker closes and commits epochs.
func stallFlow(spec childSpec) *weir.Dataflow {
	flow := weir.NewDataflow("systemtest_stall")
	items := op.Input("items", flow, newGen(spec, payload))
	keyed := op.KeyOn("key_items", items, func(a kv) string { return a.K })
	seen := op.StatefulMap("seen", keyed, func(st *op.State[int], a kv) kv {
		n, _ := st.Get()
		st.Set(n + 1)
		return a
	})
	var stalled atomic.Bool
	from := time.Now().Add(spec.After)
	op.Output("stalled", seen, sink.Func(func(items []weir.KV[kv]) error {
		if spec.Slow > 0 {
			if now := time.Now(); now.After(from) && now.Before(from.Add(spec.Stall)) {
				time.Sleep(spec.Slow)
			}
			return nil
		}
		if spec.Stall > 0 && time.Now().After(from) && stalled.CompareAndSwap(false, true) {
			time.Sleep(spec.Stall)
		}
		return nil
	}))
	return flow
}

// varint is a codec of ints, as a program registers one for its hot item type instead of
// CBOR.
type varint struct{}

func (varint) Encode(v int) ([]byte, error) { return binary.AppendVarint(nil, int64(v)), nil }

func (varint) Decode(b []byte) (int, error) {
	v, n := binary.Varint(b)
	if n <= 0 || n != len(b) {
		return 0, fmt.Errorf("systemtest: a varint of %d bytes", len(b))
	}
	return int(v), nil
}

// kv is a keyed amount, read by the running sum and the join.
type kv struct {
	K string
	V int
}

// ev is an event at T (ns since 1970) of key K.
type ev struct {
	K string
	T int64
}

// eventBase is the event time the windows align to; events start there.
var eventBase = time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC).UnixNano()

// mix is a stable hash of a partition, an index and a salt: the generated inputs' noise,
// the same in every process.
func mix(p, i, salt int) int {
	x := uint64(p)*0x9e3779b97f4a7c15 ^ uint64(i)*0xbf58476d1ce4e5b9 ^ uint64(salt)*0x94d049bb133111eb
	x ^= x >> 31
	x *= 0xd6e8feb96ff2b6a5
	x ^= x >> 29
	return int(x & (1<<62 - 1))
}

// line is line i of partition p: eight words of a vocabulary of 500.
func line(p, i, _ int) string {
	var b strings.Builder
	for j := range 8 {
		if j > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "w%03d", mix(p, i, j)%500)
	}
	return b.String()
}

// amount is item i of partition p of the running sums: 16 keys per partition.
func amount(p, i, _ int) kv {
	return kv{K: fmt.Sprintf("k%d-%02d", p, mix(p, i, 1)%16), V: 1 + mix(p, i, 2)%100}
}

// event is item i of partition p of the windowed count: 8 keys per partition, 10 ms
// apart give or take 25 ms, so that a few are late.
func event(p, i, _ int) ev {
	return ev{K: fmt.Sprintf("e%d-%d", p, mix(p, i, 3)%8),
		T: eventBase + int64(i)*int64(10*time.Millisecond) + int64(mix(p, i, 4)%50-25)*int64(time.Millisecond)}
}

// leftSide is the left side's item i of partition p: the ids p*n+i but every 7th.
func leftSide(p, i, n int) kv {
	id := p*n + i
	if id%7 == 0 {
		return kv{K: fmt.Sprintf("left-only-%d", id), V: id}
	}
	return kv{K: fmt.Sprintf("j%d", id), V: id}
}

// rightSide is the right side's item i of partition p: the ids of partition p+3 in
// reverse order, but every 5th.
func rightSide(p, i, n int) kv {
	id := (p+3)%partitions*n + (n - 1 - i)
	if id%5 == 0 {
		return kv{K: fmt.Sprintf("right-only-%d", id), V: -id}
	}
	return kv{K: fmt.Sprintf("j%d", id), V: -id}
}

// countKey is item i of partition p of the benchmark's keyed count: 10,000 keys.
func countKey(p, i, _ int) string { return "c" + strconv.Itoa(mix(p, i, 5)%10000) }

// payload is item i of partition p of the stalled flow: 1,024 keys, 100 bytes each.
func payload(p, i, _ int) kv {
	return kv{K: "s" + strconv.Itoa(mix(p, i, 6)%1024) + strings.Repeat(".", 96), V: i}
}

// gen is a partitioned source of generated items: partitions "p0".."p7" of spec.Size
// items each, item(p, i, size) being item i of partition p, in batches of spec.Batch,
// spec.Pace apart. Its position is the number of items read, so that it resumes.
type gen[T any] struct {
	size, batch int
	pace        time.Duration
	item        func(p, i, n int) T
}

func newGen[T any](spec childSpec, item func(p, i, n int) T) *gen[T] {
	return &gen[T]{size: spec.Size, batch: max(spec.Batch, 1), pace: spec.Pace, item: item}
}

// Partitions implements source.Partitioned: every process lists them alike.
func (g *gen[T]) Partitions(context.Context) ([]string, error) {
	names := make([]string, partitions)
	for p := range names {
		names[p] = "p" + strconv.Itoa(p)
	}
	return names, nil
}

// Build implements source.Source.
func (g *gen[T]) Build(_ context.Context, part source.Part, resume []byte) (source.Partition[T], error) {
	p, err := strconv.Atoi(strings.TrimPrefix(part.Partition, "p"))
	if err != nil {
		return nil, fmt.Errorf("systemtest: partition %q: %w", part.Partition, err)
	}
	g2 := &genPart[T]{gen: g, p: p}
	if resume != nil {
		if g2.pos, err = strconv.Atoi(string(resume)); err != nil {
			return nil, fmt.Errorf("systemtest: partition %q: position %q: %w", part.Partition, resume, err)
		}
	}
	return g2, nil
}

type genPart[T any] struct {
	*gen[T]
	p, pos int
	next   time.Time
	buf    []T
}

func (g *genPart[T]) Next(context.Context) ([]T, error) {
	if g.pace > 0 {
		now := time.Now()
		if now.Before(g.next) {
			return nil, nil
		}
		g.next = now.Add(g.pace)
	}
	k := min(g.batch, g.size-g.pos)
	g.buf = g.buf[:0]
	for range k {
		g.buf = append(g.buf, g.item(g.p, g.pos, g.size))
		g.pos++
	}
	if g.pos >= g.size {
		return g.buf, io.EOF
	}
	return g.buf, nil
}

// NextAwake implements source.Awaker: a paced partition sleeps until its next batch.
func (g *genPart[T]) NextAwake() time.Time { return g.next }

func (g *genPart[T]) Snapshot() []byte { return []byte(strconv.Itoa(g.pos)) }
func (g *genPart[T]) Close() error     { return nil }
