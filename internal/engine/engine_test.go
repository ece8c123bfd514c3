package engine_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/internal/codec"
	"github.com/weirflow/weir/internal/engine"
	"github.com/weirflow/weir/internal/graph"
	"github.com/weirflow/weir/internal/plan"
	"github.com/weirflow/weir/internal/state"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/sink"
	"github.com/weirflow/weir/source"
	"github.com/weirflow/weir/weirtest"
)

// These tests use only the core primitives, so that they test the engine and nothing built
// on it.

func keyBy(id string, up weir.Stream[int], mod int) weir.KeyedStream[int] {
	return op.FlatMapBatch(id, up, func(xs []int) []weir.KV[int] {
		out := make([]weir.KV[int], len(xs))
		for i, x := range xs {
			out[i] = weir.KV[int]{Key: strconv.Itoa(x % mod), Value: x}
		}
		return out
	})
}

// sumLogic sums a key's values, emits the sum at end of stream and is discarded then.
type sumLogic struct{ Sum int }

func (l *sumLogic) OnBatch(vs []int) ([]int, bool) {
	for _, v := range vs {
		l.Sum += v
	}
	return nil, false
}
func (l *sumLogic) OnNotify() ([]int, bool)     { return nil, false }
func (l *sumLogic) OnEOF() ([]int, bool)        { return []int{l.Sum}, true }
func (l *sumLogic) NotifyAt() (time.Time, bool) { return time.Time{}, false }
func (l *sumLogic) Snapshot() int               { return l.Sum }

func newSum(s int, _ bool) op.Logic[int, int, int] { return &sumLogic{Sum: s} }

func runFlow(t *testing.T, flow *weir.Dataflow, cfg engine.Config) error {
	t.Helper()
	p, err := plan.New(graph.FlowOf(flow))
	if err != nil {
		return err
	}
	if cfg.EpochInterval == 0 {
		cfg.EpochInterval = 10 * time.Second
	}
	return engine.Run(context.Background(), p, cfg)
}

// The same input through different worker counts, batch sizes, exchange buffer sizes and
// epoch intervals gives the same result.
func TestMetamorphicSums(t *testing.T) {
	var items []int
	want := map[string]int{}
	for i := range 5000 {
		items = append(items, i)
		want[strconv.Itoa(i%37)] += i
	}
	for _, workers := range []int{1, 2, 4} {
		for _, batch := range []int{1, 7, 500} {
			for _, epoch := range []time.Duration{time.Microsecond, time.Hour} {
				name := fmt.Sprintf("w%d/b%d/e%v", workers, batch, epoch)
				t.Run(name, func(t *testing.T) {
					flow := weir.NewDataflow("sums")
					s := op.Input("inp", flow, weirtest.NewSource(items...).BatchSize(batch))
					sums := op.StatefulBatch("sum", keyBy("key", s, 37), newSum)
					out := weirtest.NewSink[weir.KV[int]]()
					op.Output("out", sums, out)
					if err := runFlow(t, flow, engine.Config{Workers: workers, EpochInterval: epoch, FlushItems: batch}); err != nil {
						t.Fatal(err)
					}
					got := map[string]int{}
					for _, kv := range out.Items() {
						if _, dup := got[kv.Key]; dup {
							t.Fatalf("key %s emitted twice", kv.Key)
						}
						got[kv.Key] = kv.Value
					}
					if diff := cmp.Diff(want, got); diff != "" {
						t.Errorf("sums (-want +got):\n%s", diff)
					}
				})
			}
		}
	}
}

// recorder logs every call the engine makes into a key's logic.
type recorder struct {
	log *[]string
	at  time.Time
}

func (r *recorder) OnBatch(vs []string) ([]string, bool) {
	*r.log = append(*r.log, fmt.Sprintf("batch %v", vs))
	for _, v := range vs {
		if v == "notify" {
			r.at = time.Now().Add(time.Minute)
		}
	}
	return vs, slices.Contains(vs, "discard")
}
func (r *recorder) OnNotify() ([]string, bool) {
	*r.log = append(*r.log, "notify")
	r.at = time.Time{}
	return []string{"notified"}, false
}
func (r *recorder) OnEOF() ([]string, bool) {
	*r.log = append(*r.log, "eof")
	return []string{"eof"}, false
}
func (r *recorder) NotifyAt() (time.Time, bool) { return r.at, !r.at.IsZero() }
func (r *recorder) Snapshot() string            { return "" }

// SPEC.md 3: keys sorted per activation, values in arrival order, OnNotify once and only
// when re-armed, OnEOF for live keys in sorted order, discard starts a key fresh.
func TestStatefulOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var log []string
		src := weirtest.NewSource(
			kv("b", "1"), kv("a", "2"), kv("b", "3"), kv("c", "notify"),
		).BatchSize(4).Pause(2*time.Minute).Then(kv("c", "discard"), kv("a", "4")).BatchSize(4)
		flow := weir.NewDataflow("order")
		var built []string
		st := op.StatefulBatch("rec", op.Input("inp", flow, src), func(key string, ok bool) op.Logic[string, string, string] {
			built = append(built, "build")
			return &recorder{log: &log}
		})
		out := weirtest.NewSink[weir.KV[string]]()
		op.Output("out", st, out)
		if err := runFlow(t, flow, engine.Config{}); err != nil {
			t.Fatal(err)
		}
		want := []string{
			"batch [2]", "batch [1 3]", "batch [notify]", // keys a, b, c
			"notify",                       // c
			"batch [4]", "batch [discard]", // a, c; c is then dropped
			"eof", "eof", // a, b
		}
		if diff := cmp.Diff(want, log); diff != "" {
			t.Errorf("calls (-want +got):\n%s", diff)
		}
		wantOut := []weir.KV[string]{kv("a", "2"), kv("b", "1"), kv("b", "3"), kv("c", "notify"), kv("c", "notified"), kv("a", "4"), kv("c", "discard"), kv("a", "eof"), kv("b", "eof")}
		if diff := cmp.Diff(wantOut, out.Items()); diff != "" {
			t.Errorf("output (-want +got):\n%s", diff)
		}
		if len(built) != 3 {
			t.Errorf("built %d logics, want 3 (a, b, c)", len(built))
		}
	})
}

// Stateless steps keep a partition's order, and several inputs are polled in turn.
func TestOrdering(t *testing.T) {
	flow := weir.NewDataflow("ord")
	a := op.Input("a", flow, weirtest.NewSource(1, 2, 3, 4))
	b := op.Input("b", flow, weirtest.NewSource(10, 20, 30, 40))
	doubled := op.FlatMapBatch("double", a, func(xs []int) []int {
		out := make([]int, len(xs))
		for i, x := range xs {
			out[i] = 2 * x
		}
		return out
	})
	evens, odds := op.Branch("split", doubled, func(x int) bool { return x%4 == 0 })
	out := weirtest.NewSink[int]()
	op.Output("out", op.Merge("all", evens, odds, b), out)
	if err := runFlow(t, flow, engine.Config{}); err != nil {
		t.Fatal(err)
	}
	want := []int{2, 10, 4, 20, 6, 30, 8, 40}
	if diff := cmp.Diff(want, out.Items()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestAbortStopsWithoutEOF(t *testing.T) {
	for _, workers := range []int{1, 3} {
		t.Run(strconv.Itoa(workers), func(t *testing.T) {
			src := weirtest.NewSource(1, 2, 3).Abort().Then(4, 5)
			flow := weir.NewDataflow("abort")
			sums := op.StatefulBatch("sum", keyBy("key", op.Input("inp", flow, src), 1), newSum)
			out := weirtest.NewSink[weir.KV[int]]()
			op.Output("out", sums, out)
			if err := runFlow(t, flow, engine.Config{Workers: workers}); err != nil {
				t.Fatalf("aborted run: %v", err)
			}
			if got := out.Items(); len(got) != 0 {
				t.Errorf("aborted run emitted %v: OnEOF must not run", got)
			}
			if err := runFlow(t, flow, engine.Config{Workers: workers}); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]weir.KV[int]{{Key: "0", Value: 15}}, out.Items()); diff != "" {
				t.Errorf("second run (-want +got):\n%s", diff)
			}
		})
	}
}

var errBoom = errors.New("boom")

func TestErrorsNameTheStep(t *testing.T) {
	type flowFn func(flow *weir.Dataflow)
	src := func() *weirtest.Source[int] { return weirtest.NewSource(1, 2, 3) }
	tests := []struct {
		name      string
		build     flowFn
		step, key string
		partition string
	}{
		{"flat map panic", func(f *weir.Dataflow) {
			s := op.FlatMapBatch("boom", op.Input("inp", f, src()), func(xs []int) []int { panic(errBoom) })
			op.Output("out", s, weirtest.NewSink[int]())
		}, "t.boom", "", ""},
		{"stateful panic", func(f *weir.Dataflow) {
			s := op.StatefulBatch("st", keyBy("key", op.Input("inp", f, src()), 2), func(int, bool) op.Logic[int, int, int] {
				return &panicky{}
			})
			op.Output("out", s, weirtest.NewSink[weir.KV[int]]())
		}, "t.st", "1", ""},
		{"source error", func(f *weir.Dataflow) {
			op.Output("out", op.Input("inp", f, failing{}), weirtest.NewSink[int]())
		}, "t.inp", "", "p0"},
		{"sink error", func(f *weir.Dataflow) {
			op.Output("out", op.Input("inp", f, src()), sinkFunc(func([]int) error { return errBoom }))
		}, "t.out", "", ""},
	}
	for _, tt := range tests {
		for _, workers := range []int{1, 2} {
			t.Run(fmt.Sprintf("%s/%d", tt.name, workers), func(t *testing.T) {
				flow := weir.NewDataflow("t")
				tt.build(flow)
				err := runFlow(t, flow, engine.Config{Workers: workers})
				var se *graph.StepError
				if !errors.As(err, &se) {
					t.Fatalf("error %v is not a *graph.StepError (the engine's; run converts it)", err)
				}
				if se.Step != tt.step || se.Key != tt.key || se.Partition != tt.partition {
					t.Errorf("step %q key %q partition %q, want %q %q %q", se.Step, se.Key, se.Partition, tt.step, tt.key, tt.partition)
				}
				if !errors.Is(err, errBoom) {
					t.Errorf("errors.Is(%v, errBoom) is false", err)
				}
				if !strings.Contains(err.Error(), tt.step) {
					t.Errorf("message %q does not name %s", err, tt.step)
				}
			})
		}
	}
}

type panicky struct{ sumLogic }

func (*panicky) OnBatch([]int) ([]int, bool) { panic(fmt.Errorf("wrapped: %w", errBoom)) }

type failing struct{}

func (failing) Partitions(context.Context) ([]string, error) { return []string{"p0"}, nil }
func (failing) Build(context.Context, source.Part, []byte) (source.Partition[int], error) {
	return failing{}, nil
}
func (failing) Next(context.Context) ([]int, error) { return nil, errBoom }
func (failing) Snapshot() []byte                    { return nil }
func (failing) Close() error                        { return nil }

type sinkFunc func([]int) error

func (f sinkFunc) Build(context.Context, sink.Part, []byte) (sink.Partition[int], error) {
	return f, nil
}
func (f sinkFunc) Write(items []int) error { return f(items) }
func (f sinkFunc) Snapshot() []byte        { return nil }
func (f sinkFunc) Close() error            { return nil }

func TestBuildErrors(t *testing.T) {
	tests := []struct {
		name  string
		build func() *weir.Dataflow
		want  string
	}{
		{"no input", func() *weir.Dataflow { return weir.NewDataflow("f") }, "at least one input"},
		{"no output", func() *weir.Dataflow {
			f := weir.NewDataflow("f")
			op.Input("inp", f, weirtest.NewSource(1))
			return f
		}, "at least one output"},
		{"duplicate", func() *weir.Dataflow {
			f := weir.NewDataflow("f")
			s := op.Input("inp", f, weirtest.NewSource(1))
			op.Output("inp", s, weirtest.NewSink[int]())
			return f
		}, `duplicate step id "f.inp"`},
		{"dot in step", func() *weir.Dataflow {
			f := weir.NewDataflow("f")
			op.Input("a.b", f, weirtest.NewSource(1))
			return f
		}, `"a.b"`},
		{"empty step", func() *weir.Dataflow {
			f := weir.NewDataflow("f")
			op.Input("", f, weirtest.NewSource(1))
			return f
		}, "empty id"},
		{"dot in flow", func() *weir.Dataflow { return weir.NewDataflow("a.b") }, `dataflow id "a.b"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := runFlow(t, tt.build(), engine.Config{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// Epochs start at 1 and advance every interval; snapshots at each epoch close hold only
// the keys touched in it (a deletion for a discarded key) and the source position.
func TestEpochsAndSnapshots(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := weirtest.NewSource(1, 2).Pause(15*time.Second).Then(12, 4).Pause(10 * time.Second).Then(100)
		flow := weir.NewDataflow("snap")
		var epochs []string
		s := op.InspectDebug("seen", op.Input("inp", flow, src), func(step string, x int, epoch uint64, worker int) {
			epochs = append(epochs, fmt.Sprintf("%s %d@%d", step, x, epoch))
		})
		st := op.StatefulBatch("sum", keyBy("key", s, 10), func(sum int, _ bool) op.Logic[int, int, int] {
			return &discardAt{sumLogic{Sum: sum}}
		})
		op.Output("out", st, weirtest.NewSink[weir.KV[int]]())
		store := state.NewMemory()
		if err := runFlow(t, flow, engine.Config{Store: store, EpochInterval: 10 * time.Second}); err != nil {
			t.Fatal(err)
		}
		wantEpochs := []string{"snap.seen 1@1", "snap.seen 2@1", "snap.seen 12@2", "snap.seen 4@2", "snap.seen 100@3"}
		if diff := cmp.Diff(wantEpochs, epochs); diff != "" {
			t.Errorf("epochs (-want +got):\n%s", diff)
		}
		var got []string
		for _, w := range store.Writes() {
			for _, s := range w.Snaps {
				for _, c := range s.Changes {
					got = append(got, fmt.Sprintf("e%d %s %s=%s", w.Epoch, s.Step, c.Key, describe(c)))
				}
			}
		}
		want := []string{
			"e1 snap.inp weirtest=pos", "e1 snap.sum 1=1", "e1 snap.sum 2=2",
			"e2 snap.inp weirtest=pos", "e2 snap.sum 2=deleted", "e2 snap.sum 4=4", // 2+12 > 10: discarded
			"e3 snap.inp weirtest=pos", "e3 snap.sum 0=deleted", "e3 snap.sum 1=deleted", "e3 snap.sum 4=deleted", // EOF discards
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("snapshots (-want +got):\n%s", diff)
		}
		if f := store.Frontier(0); f != 4 {
			t.Errorf("frontier = %d, want 4", f)
		}
	})
}

// discardAt drops a key whose sum passes 10.
type discardAt struct{ sumLogic }

func (d *discardAt) OnBatch(vs []int) ([]int, bool) {
	d.sumLogic.OnBatch(vs)
	return nil, d.Sum > 10
}

func describe(c state.Change) string {
	if c.Deleted {
		return "deleted"
	}
	var n int
	if err := codec.Unmarshal(c.State, &n); err != nil {
		return "pos"
	}
	return strconv.Itoa(n)
}

// An idle flow does not poll: a source asking to be woken in an hour is called once, with
// epochs on a timer or after every read (where an idle loop must not spin through epochs).
func TestIdleDoesNotPoll(t *testing.T) {
	for _, interval := range []time.Duration{24 * time.Hour, 0} {
		synctest.Test(t, func(t *testing.T) {
			src := &sleepy{}
			flow := weir.NewDataflow("idle")
			op.Output("out", op.Input("inp", flow, src), weirtest.NewSink[int]())
			p, err := plan.New(graph.FlowOf(flow))
			if err != nil {
				t.Fatal(err)
			}
			if err := engine.Run(context.Background(), p, engine.Config{EpochInterval: interval}); err != nil {
				t.Fatal(err)
			}
			if n := src.calls.Load(); n != 2 {
				t.Errorf("interval %v: Next called %d times over an idle hour, want 2", interval, n)
			}
		})
	}
}

type sleepy struct {
	calls atomic.Int32
	wake  time.Time
}

func (s *sleepy) Build(context.Context, source.Part, []byte) (source.Partition[int], error) {
	return s, nil
}
func (s *sleepy) Next(context.Context) ([]int, error) {
	if s.calls.Add(1) == 2 {
		return nil, errEOF
	}
	s.wake = time.Now().Add(time.Hour)
	return nil, nil
}
func (s *sleepy) NextAwake() time.Time { return s.wake }
func (s *sleepy) Snapshot() []byte     { return nil }
func (s *sleepy) Close() error         { return nil }

// Redistribute spreads one partition's items over every worker.
func TestRedistribute(t *testing.T) {
	var mu sync.Mutex
	seen := map[int]int{}
	flow := weir.NewDataflow("r")
	items := make([]int, 100)
	s := op.Redistribute("spread", op.Input("inp", flow, weirtest.NewSource(items...).BatchSize(10)))
	s = op.InspectDebug("where", s, func(_ string, _ int, _ uint64, worker int) {
		mu.Lock()
		seen[worker]++
		mu.Unlock()
	})
	op.Output("out", s, weirtest.NewSink[int]())
	if err := runFlow(t, flow, engine.Config{Workers: 4}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[int]int{0: 25, 1: 25, 2: 25, 3: 25}, seen); diff != "" {
		t.Errorf("items per worker (-want +got):\n%s", diff)
	}
}

// A tiny in-flight limit pauses sources but cannot deadlock the cluster.
func TestBackpressureNoDeadlock(t *testing.T) {
	var items []int
	for i := range 20000 {
		items = append(items, i)
	}
	flow := weir.NewDataflow("bp")
	sums := op.StatefulBatch("sum", keyBy("key", op.Input("inp", flow, weirtest.NewSource(items...).BatchSize(100)), 5), newSum)
	out := weirtest.NewSink[weir.KV[int]]()
	op.Output("out", sums, out)
	if err := runFlow(t, flow, engine.Config{Workers: 3, InFlightBytes: 1, FlushItems: 3}); err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, kv := range out.Items() {
		total += kv.Value
	}
	if want := 20000 * 19999 / 2; total != want {
		t.Errorf("total %d, want %d", total, want)
	}
}

func TestCancelStopsRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		flow := weir.NewDataflow("c")
		op.Output("out", op.Input("inp", flow, &sleepy{}), weirtest.NewSink[int]())
		p, err := plan.New(graph.FlowOf(flow))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := engine.Run(ctx, p, engine.Config{EpochInterval: time.Second}); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("error = %v, want the context's", err)
		}
	})
}

var errEOF = io.EOF

func kv(k, v string) weir.KV[string] { return weir.KV[string]{Key: k, Value: v} }

// cancelLogic arms a notification on "arm" and withdraws it on anything else.
type cancelLogic struct{ at time.Time }

func (l *cancelLogic) OnBatch(vs []string) ([]string, bool) {
	if vs[len(vs)-1] == "arm" {
		l.at = time.Now().Add(time.Second)
	} else {
		l.at = time.Time{}
	}
	return nil, false
}
func (l *cancelLogic) OnNotify() ([]string, bool)  { return []string{"notify"}, false }
func (l *cancelLogic) OnEOF() ([]string, bool)     { return nil, false }
func (l *cancelLogic) NotifyAt() (time.Time, bool) { return l.at, !l.at.IsZero() }
func (l *cancelLogic) Snapshot() int               { return 0 }

// A notification the logic no longer asks for does not fire.
func TestWithdrawnNotification(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		flow := weir.NewDataflow("f")
		out := weirtest.NewSink[weir.KV[string]]()
		in := op.Input("in", flow, weirtest.NewSource(kv("k", "arm"), kv("k", "cancel")).Pause(5*time.Second))
		op.Output("out", op.StatefulBatch("st", in, func(int, bool) op.Logic[string, string, int] { return &cancelLogic{} }), out)
		if err := runFlow(t, flow, engine.Config{}); err != nil {
			t.Fatal(err)
		}
		if got := out.Items(); len(got) != 0 {
			t.Errorf("got %v after NotifyAt withdrew the notification", got)
		}
	})
}

// With an epoch interval of 0 every round of reads is an epoch of its own, starting at 1.
func TestZeroEpochInterval(t *testing.T) {
	var got []string
	flow := weir.NewDataflow("z")
	s := op.InspectDebug("seen", op.Input("inp", flow, weirtest.NewSource("a", "b", "c")), func(step, x string, epoch uint64, worker int) {
		got = append(got, fmt.Sprintf("%s %s %d %d", step, x, epoch, worker))
	})
	op.Output("out", s, weirtest.NewSink[string]())
	p, err := plan.New(graph.FlowOf(flow))
	if err != nil {
		t.Fatal(err)
	}
	if err := engine.Run(context.Background(), p, engine.Config{}); err != nil {
		t.Fatal(err)
	}
	want := []string{"z.seen a 1 0", "z.seen b 2 0", "z.seen c 3 0"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// nowLogic asks to be notified at the system time of each item it sees.
type nowLogic struct {
	log *[]string
	at  time.Time
}

func (l *nowLogic) OnBatch(vs []string) ([]string, bool) {
	*l.log = append(*l.log, "batch "+strings.Join(vs, " "))
	l.at = time.Now()
	return nil, false
}
func (l *nowLogic) OnNotify() ([]string, bool) {
	*l.log = append(*l.log, "notify")
	l.at = time.Time{}
	return nil, false
}
func (l *nowLogic) OnEOF() ([]string, bool)     { return nil, false }
func (l *nowLogic) NotifyAt() (time.Time, bool) { return l.at, !l.at.IsZero() }
func (l *nowLogic) Snapshot() int               { return 0 }

// A due notification runs before the worker reads more input, even from a source that
// always has data ready.
func TestDueNotificationBeforeMoreInput(t *testing.T) {
	var log []string
	flow := weir.NewDataflow("due")
	in := op.Input("in", flow, weirtest.NewSource(kv("k", "a"), kv("k", "b"), kv("k", "c")).BatchSize(1))
	st := op.StatefulBatch("st", in, func(int, bool) op.Logic[string, string, int] { return &nowLogic{log: &log} })
	op.Output("out", st, weirtest.NewSink[weir.KV[string]]())
	if err := runFlow(t, flow, engine.Config{}); err != nil {
		t.Fatal(err)
	}
	want := []string{"batch a", "notify", "batch b", "notify", "batch c", "notify"}
	if diff := cmp.Diff(want, log); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
}

// flushSink logs its writes and flushes.
type flushSink struct{ log *[]string }

func (s flushSink) Build(context.Context, sink.Part, []byte) (sink.Partition[string], error) {
	return s, nil
}
func (s flushSink) Write(items []string) error {
	*s.log = append(*s.log, "write "+strings.Join(items, " "))
	return nil
}
func (s flushSink) Flush() error     { *s.log = append(*s.log, "flush"); return nil }
func (s flushSink) Snapshot() []byte { return nil }
func (s flushSink) Close() error     { *s.log = append(*s.log, "close"); return nil }

// Without a store, a sink that buffers is flushed at every epoch close, not only when the
// run ends.
func TestSinkFlushedAtEpochClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var log []string
		flow := weir.NewDataflow("fl")
		in := op.Input("in", flow, weirtest.NewSource("a").Pause(3*time.Second).Then("b"))
		op.Output("out", in, flushSink{log: &log})
		if err := runFlow(t, flow, engine.Config{EpochInterval: time.Second}); err != nil {
			t.Fatal(err)
		}
		// a's epoch closes during the pause, so it is flushed before b is written.
		if i, j := slices.Index(log, "flush"), slices.Index(log, "write b"); i < 0 || j < 0 || i > j {
			t.Errorf("calls %v: want a flush between the writes", log)
		}
		if log[len(log)-1] != "close" || log[len(log)-2] != "flush" {
			t.Errorf("calls %v: want the last epoch flushed, then close", log)
		}
	})
}
