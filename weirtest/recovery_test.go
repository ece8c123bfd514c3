package weirtest_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/weirflow/weir"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/recovery"
	"github.com/weirflow/weir/run"
	"github.com/weirflow/weir/weirtest"
	"github.com/weirflow/weir/window"
)

func kv(key string, v int) weir.KV[int] { return weir.KV[int]{Key: key, Value: v} }

func show[T any](x T) string { return fmt.Sprint(x) }

// sums is a flow of running sums per key. A value of 0 discards the key's state, so its
// next value starts a new sum.
func sums(src *weirtest.Source[weir.KV[int]]) (*weir.Dataflow, *weirtest.Sink[string]) {
	flow := weir.NewDataflow("sums")
	summed := op.StatefulMap("sum", op.Input("inp", flow, src), func(st *op.State[int], v int) int {
		if v == 0 {
			st.Discard()
			return 0
		}
		s, _ := st.Get()
		st.Set(s + v)
		return s + v
	})
	out := weirtest.NewSink[string]()
	op.Output("out", op.Map("show", summed, show), out)
	return flow, out
}

// click is a page visit at an event time.
type click struct {
	Page string
	At   time.Duration // after noon
}

var noon = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

// hits counts clicks per page in tumbling 10-second windows of event time. The clock's
// system time stands still, so only event times and the end of the stream move the
// watermark.
func hits(src *weirtest.Source[click]) (*weir.Dataflow, *weirtest.Sink[string]) {
	flow := weir.NewDataflow("hits")
	clock := window.EventClock(func(c click) time.Time { return noon.Add(c.At) }, 0).
		WithNow(func() time.Time { return noon })
	counts := window.Count("count", op.Input("inp", flow, src), clock, window.Tumbling(10*time.Second, noon),
		func(c click) string { return c.Page })
	out := weirtest.NewSink[string]()
	op.Output("out", op.Map("show", counts.Down, show), out)
	return flow, out
}

// attempt is one run of a flow on the recovery directory, and what it must emit.
type attempt struct {
	workers int // 0 means 1
	opts    []run.Option
	want    []string // sorted when workers > 1
}

// Resuming, run after run on one recovery directory, as a user restarts a job.
func TestRecoveryResume(t *testing.T) {
	// keys spreads eight keys over the workers, each with the value v.
	keys := func(v int) []weir.KV[int] {
		var kvs []weir.KV[int]
		for i := range 8 {
			kvs = append(kvs, kv(fmt.Sprint("k", i), v))
		}
		return kvs
	}
	shown := func(v int) []string {
		var s []string
		for _, x := range keys(v) {
			s = append(s, show(x))
		}
		return s
	}
	noSnapshot := run.EpochInterval(time.Hour) // no epoch closes before the abort

	tests := []struct {
		name string
		flow func() (*weir.Dataflow, *weirtest.Sink[string])
		runs []attempt
	}{
		{
			// Bytewax's issue #181: a crash before the first snapshot must not skip data.
			name: "no snapshot before the abort: the resume replays everything",
			flow: func() (*weir.Dataflow, *weirtest.Sink[string]) {
				return sums(weirtest.NewSource(kv("a", 1), kv("b", 2), kv("a", 3)).Abort().Then(kv("b", 4)))
			},
			runs: []attempt{
				{opts: []run.Option{noSnapshot}, want: []string{"(a, 1)", "(b, 2)", "(a, 4)"}},
				{want: []string{"(a, 1)", "(b, 2)", "(a, 4)", "(b, 6)"}},
			},
		},
		{
			name: "a snapshot every epoch: the resume continues right after the abort",
			flow: func() (*weir.Dataflow, *weirtest.Sink[string]) {
				return sums(weirtest.NewSource(kv("a", 1), kv("b", 2), kv("a", 3)).Abort().Then(kv("b", 4), kv("a", 5)))
			},
			runs: []attempt{
				{want: []string{"(a, 1)", "(b, 2)", "(a, 4)"}},
				{want: []string{"(b, 6)", "(a, 9)"}},
			},
		},
		{
			name: "abort in the middle of a batch",
			flow: func() (*weir.Dataflow, *weirtest.Sink[string]) {
				return sums(weirtest.NewSource(kv("a", 1), kv("a", 2), kv("a", 3)).Abort().Then(kv("a", 4), kv("a", 5)).BatchSize(2))
			},
			runs: []attempt{
				{want: []string{"(a, 1)", "(a, 3)", "(a, 6)"}},
				{want: []string{"(a, 10)", "(a, 15)"}},
			},
		},
		{
			name: "several aborts, each run resumes after the last",
			flow: func() (*weir.Dataflow, *weirtest.Sink[string]) {
				return sums(weirtest.NewSource(kv("a", 1)).Abort().Then(kv("a", 2)).Abort().Abort().Then(kv("a", 3)))
			},
			runs: []attempt{
				{want: []string{"(a, 1)"}},
				{want: []string{"(a, 3)"}},
				{want: nil},
				{want: []string{"(a, 6)"}},
			},
		},
		{
			name: "continuation after end of stream",
			flow: func() (*weir.Dataflow, *weirtest.Sink[string]) {
				return sums(weirtest.NewSource(kv("a", 1), kv("b", 2)).EOF().Then(kv("a", 3)).EOF().EOF().Then(kv("b", 4)))
			},
			runs: []attempt{
				{want: []string{"(a, 1)", "(b, 2)"}},
				{want: []string{"(a, 4)"}},
				{want: nil},
				{want: []string{"(b, 6)"}},
				{want: nil}, // past the end of the script
			},
		},
		{
			// The end of the stream takes a final snapshot even when no epoch closed.
			name: "continuation after end of stream without an epoch close",
			flow: func() (*weir.Dataflow, *weirtest.Sink[string]) {
				return sums(weirtest.NewSource(kv("a", 1), kv("b", 2)).EOF().Then(kv("a", 3), kv("b", 4)))
			},
			runs: []attempt{
				{opts: []run.Option{noSnapshot}, want: []string{"(a, 1)", "(b, 2)"}},
				{opts: []run.Option{noSnapshot}, want: []string{"(a, 4)", "(b, 6)"}},
			},
		},
		{
			name: "a discarded key stays discarded",
			flow: func() (*weir.Dataflow, *weirtest.Sink[string]) {
				return sums(weirtest.NewSource(kv("a", 1), kv("b", 2), kv("a", 0), kv("b", 3)).Abort().Then(kv("a", 5), kv("b", 1)))
			},
			runs: []attempt{
				{want: []string{"(a, 1)", "(b, 2)", "(a, 0)", "(b, 5)"}},
				{want: []string{"(a, 5)", "(b, 6)"}},
			},
		},
		{
			name: "a key discarded at the end of stream stays discarded",
			flow: func() (*weir.Dataflow, *weirtest.Sink[string]) {
				return sums(weirtest.NewSource(kv("a", 1), kv("a", 2), kv("a", 0)).EOF().Then(kv("a", 5)))
			},
			runs: []attempt{
				{opts: []run.Option{noSnapshot}, want: []string{"(a, 1)", "(a, 3)", "(a, 0)"}},
				{want: []string{"(a, 5)"}},
			},
		},
		{
			// A Pause before each Abort lets every worker commit what it has seen.
			name: "rescale from 3 to 5 to 1 workers",
			flow: func() (*weir.Dataflow, *weirtest.Sink[string]) {
				return sums(weirtest.NewSource(keys(1)...).Pause(time.Second).Abort().
					Then(keys(2)...).Pause(time.Second).Abort().
					Then(keys(3)...).BatchSize(3))
			},
			runs: []attempt{
				{workers: 3, want: shown(1)},
				{workers: 5, want: shown(3)},
				{workers: 1, want: shown(6)},
			},
		},
		{
			name: "continuation after end of stream on two workers",
			flow: func() (*weir.Dataflow, *weirtest.Sink[string]) {
				return sums(weirtest.NewSource(kv("a", 1), kv("b", 1)).EOF().Then(kv("a", 2)))
			},
			runs: []attempt{
				{workers: 2, want: []string{"(a, 1)", "(b, 1)"}},
				{workers: 2, want: []string{"(a, 3)"}},
			},
		},
		{
			name: "rescale at the end of stream",
			flow: func() (*weir.Dataflow, *weirtest.Sink[string]) {
				return sums(weirtest.NewSource(keys(1)...).EOF().Then(keys(2)...).EOF().Then(keys(3)...).BatchSize(5))
			},
			runs: []attempt{
				{workers: 4, want: shown(1)},
				{workers: 1, want: shown(3)},
				{workers: 2, want: shown(6)},
			},
		},
		{
			// Window 0 of /home closes in the first run; window 1 of /home and window 0
			// of /cart are open at the abort and must count on from their snapshots.
			name: "a window step resumes its open windows",
			flow: func() (*weir.Dataflow, *weirtest.Sink[string]) {
				return hits(weirtest.NewSource(
					click{"/home", 1 * time.Second},
					click{"/cart", 2 * time.Second},
					click{"/home", 3 * time.Second},
					click{"/home", 12 * time.Second},
				).Abort().Then(
					click{"/cart", 5 * time.Second},
					click{"/home", 14 * time.Second},
					click{"/home", 4 * time.Second}, // late: window 0 closed in the first run
				))
			},
			runs: []attempt{
				{want: []string{"(/home, (0, 2))"}},
				{want: []string{"(/cart, (0, 2))", "(/home, (1, 2))"}},
			},
		},
		{
			name: "a window step resumes its open windows on more workers",
			flow: func() (*weir.Dataflow, *weirtest.Sink[string]) {
				return hits(weirtest.NewSource(
					click{"/home", 1 * time.Second},
					click{"/cart", 2 * time.Second},
					click{"/help", 3 * time.Second},
				).Abort().Then(
					click{"/home", 4 * time.Second},
					click{"/cart", 15 * time.Second},
				))
			},
			runs: []attempt{
				{want: nil},
				{workers: 3, want: []string{"(/cart, (0, 1))", "(/cart, (1, 1))", "(/help, (0, 1))", "(/home, (0, 2))"}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The bubble makes Pause markers cost no time and end only when every worker
			// is idle.
			synctest.Test(t, func(t *testing.T) {
				rec := weirtest.NewRecovery(t, 3)
				flow, out := tt.flow()
				for i, a := range tt.runs {
					out.Clear()
					rec.Run(t, flow, max(a.workers, 1), a.opts...)
					got := out.Items()
					if a.workers > 1 {
						slices.Sort(got)
					}
					if diff := cmp.Diff(a.want, got); diff != "" {
						t.Fatalf("run %d on %d workers (-want +got):\n%s", i+1, max(a.workers, 1), diff)
					}
				}
			})
		})
	}
}

// partitionFile is the file of partition i in a recovery directory.
func partitionFile(rec *weirtest.Recovery, i int) string {
	return filepath.Join(rec.Dir(), fmt.Sprintf("part-%d.sqlite3", i))
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// A damaged recovery directory is refused with its typed error: never a fresh start,
// never silent loss.
func TestRecoveryDamaged(t *testing.T) {
	tests := []struct {
		name string
		// damage runs the flow (with again) as often as it needs and damages the directory.
		damage func(t *testing.T, rec *weirtest.Recovery, again func())
		check  func(err error) bool
	}{
		{
			name: "no partitions",
			damage: func(t *testing.T, rec *weirtest.Recovery, again func()) {
				again()
				if err := os.RemoveAll(rec.Dir()); err != nil {
					t.Fatal(err)
				}
			},
			check: func(err error) bool { return errors.Is(err, recovery.ErrNoPartitions) },
		},
		{
			name: "a missing partition",
			damage: func(t *testing.T, rec *weirtest.Recovery, again func()) {
				again()
				if err := os.Remove(partitionFile(rec, 1)); err != nil {
					t.Fatal(err)
				}
			},
			check: func(err error) bool {
				var e *recovery.MissingPartitionsError
				return errors.As(err, &e) && slices.Equal(e.Missing, []int{1}) && e.Count == 3
			},
		},
		{
			name: "a partition replaced by an older copy of itself",
			damage: func(t *testing.T, rec *weirtest.Recovery, again func()) {
				again()
				old := filepath.Join(t.TempDir(), "old")
				copyFile(t, partitionFile(rec, 2), old)
				again()
				again()
				copyFile(t, old, partitionFile(rec, 2))
			},
			check: func(err error) bool {
				var e *recovery.InconsistentError
				return errors.As(err, &e) && e.Partition == 2 && e.Has < e.Need
			},
		},
		{
			name: "a truncated partition",
			damage: func(t *testing.T, rec *weirtest.Recovery, again func()) {
				again()
				info, err := os.Stat(partitionFile(rec, 0))
				if err != nil {
					t.Fatal(err)
				}
				if err := os.Truncate(partitionFile(rec, 0), info.Size()/2); err != nil {
					t.Fatal(err)
				}
			},
			check: func(err error) bool {
				var e *recovery.CorruptError
				return errors.As(err, &e) && e.Partition == 0
			},
		},
		{
			name: "a partition that is not a database",
			damage: func(t *testing.T, rec *weirtest.Recovery, again func()) {
				again()
				if err := os.WriteFile(partitionFile(rec, 1), []byte("not a database, not at all"), 0o644); err != nil {
					t.Fatal(err)
				}
			},
			check: func(err error) bool {
				var e *recovery.CorruptError
				return errors.As(err, &e) && e.Partition == 1
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := weirtest.NewRecovery(t, 3)
			keyed := []weir.KV[int]{kv("a", 1), kv("b", 2), kv("c", 3), kv("d", 4)}
			flow, out := sums(weirtest.NewSource(keyed...).EOF().Then(keyed...).EOF().Then(keyed...).EOF().Then(keyed...))
			tt.damage(t, rec, func() { rec.Run(t, flow, 1) })
			out.Clear()
			err := run.Run(t.Context(), flow, rec.Options(1)...)
			if !tt.check(err) {
				t.Fatalf("run on the damaged directory: %v", err)
			}
			if got := out.Items(); len(got) > 0 {
				t.Fatalf("run on the damaged directory emitted %v", got)
			}
			if _, verr := recovery.Verify(rec.Dir()); !tt.check(verr) {
				t.Fatalf("recovery.Verify: %v, want the run's error %v", verr, err)
			}
		})
	}
}

// Options gives workers, an epoch interval of 0 and the directory, and the options after
// them override those: the run's start line says which settings it ran with.
func TestRecoveryOptions(t *testing.T) {
	tests := []struct {
		workers int
		opts    []run.Option
		want    map[string]any
	}{
		{3, nil, map[string]any{"workers": 3.0, "epoch_interval": 0.0}},
		{1, []run.Option{run.EpochInterval(time.Second), run.Workers(2)}, map[string]any{"workers": 2.0, "epoch_interval": float64(time.Second)}},
	}
	for _, tt := range tests {
		rec := weirtest.NewRecovery(t, 1)
		var logs bytes.Buffer
		flow := weir.NewDataflow("opts")
		op.Output("out", op.Input("in", flow, weirtest.NewSource(1, 2)), weirtest.NewSink[int]())
		logger := run.Logger(slog.New(slog.NewJSONHandler(&logs, nil)))
		if err := run.Run(t.Context(), flow, rec.Options(tt.workers, append([]run.Option{logger}, tt.opts...)...)...); err != nil {
			t.Fatal(err)
		}
		var start map[string]any
		if err := json.NewDecoder(&logs).Decode(&start); err != nil || start["msg"] != "weir: run starting" {
			t.Fatalf("first log line %v (%v), want the start", start, err)
		}
		tt.want["recovery"] = rec.Dir()
		for k, v := range tt.want {
			if start[k] != v {
				t.Errorf("Options(%d, %d more): %s = %v, want %v", tt.workers, len(tt.opts), k, start[k], v)
			}
		}
	}
}

func TestNewRecoveryFails(t *testing.T) {
	tb := &failTB{TB: t}
	weirtest.NewRecovery(tb, 0)
	if len(tb.failed) != 1 {
		t.Fatalf("Fatal called with %v, want the error of 0 partitions", tb.failed)
	}
}

func TestRecoveryRunFailsTheTestOnError(t *testing.T) {
	rec := weirtest.NewRecovery(t, 1)
	if err := os.Remove(partitionFile(rec, 0)); err != nil {
		t.Fatal(err)
	}
	flow, _ := sums(weirtest.NewSource(kv("a", 1)))
	tb := &failTB{TB: t}
	rec.Run(tb, flow, 1)
	if len(tb.failed) != 1 {
		t.Fatalf("Fatal called with %v, want the run's error", tb.failed)
	}
	if err, _ := tb.failed[0].(error); !errors.Is(err, recovery.ErrNoPartitions) {
		t.Fatalf("Fatal called with %v, want ErrNoPartitions", tb.failed[0])
	}
}
