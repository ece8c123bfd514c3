package run_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/connectors/files"
	"github.com/weirflow/weir/internal/state/sqlitestore"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/recovery"
	"github.com/weirflow/weir/run"
	"github.com/weirflow/weir/weirtest"
)

// A run aborted midway resumes from the recovery directory: state continues where the last
// committed epoch left it, and the file sink, truncated to its snapshot, holds every
// result exactly once.
func TestRecoveryResumesExactlyOnce(t *testing.T) {
	dir := t.TempDir()
	store := filepath.Join(dir, "recovery")
	if err := recovery.Init(store, 3); err != nil {
		t.Fatal(err)
	}
	outPath := filepath.Join(dir, "sums.txt")
	src := weirtest.NewSource(1, 2, 3).Abort().Then(4, 5, 6)
	flow := weir.NewDataflow("sums")
	keyed := op.KeyOn("key", op.Input("inp", flow, src), func(int) string { return "k" })
	sums := op.StatefulMap("sum", keyed, func(st *op.State[int], v int) int {
		s, _ := st.Get()
		st.Set(s + v)
		return s + v
	})
	op.Output("file", sums, files.NewFileSink[weir.KV[int]](outPath))
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	for _, workers := range []int{2, 1} {
		if err := run.Run(context.Background(), flow, run.Workers(workers), run.EpochInterval(0), run.Recovery(store), run.Logger(logger)); err != nil {
			t.Fatal(err)
		}
	}
	if n := strings.Count(logs.String(), "weir: run starting"); n != 2 || !strings.Contains(logs.String(), "recovery="+store) {
		t.Errorf("logs of two runs with recovery:\n%s", logs.String())
	}
	got, err := os.ReadFile(outPath)
	if err != nil {
		t.Fatal(err)
	}
	want := "(k, 1)\n(k, 3)\n(k, 6)\n(k, 10)\n(k, 15)\n(k, 21)\n"
	if string(got) != want {
		t.Errorf("file holds %q, want %q", got, want)
	}
}

// A recovery directory that is missing or damaged is an error, never a fresh start.
func TestRecoveryErrors(t *testing.T) {
	dir := t.TempDir()
	flow := weir.NewDataflow("f")
	op.Output("out", op.Input("inp", flow, weirtest.NewSource(1)), weirtest.NewSink[int]())
	err := run.Run(context.Background(), flow, run.Recovery(filepath.Join(dir, "none")))
	if !errors.Is(err, recovery.ErrNoPartitions) {
		t.Errorf("no partitions: %v", err)
	}
	if err := recovery.Init(filepath.Join(dir, "r"), 2); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "r", "part-1.sqlite3"), []byte("not sqlite"), 0o644); err != nil {
		t.Fatal(err)
	}
	err = run.Run(context.Background(), flow, run.Recovery(filepath.Join(dir, "r")))
	var corrupt *recovery.CorruptError
	if !errors.As(err, &corrupt) || !strings.Contains(err.Error(), "r") {
		t.Errorf("corrupt partition: %v", err)
	}
}

// rowCounts counts the snapshot rows of every partition of dir, and the distinct (step,
// key) they hold: equal counts mean that no superseded row is left.
func rowCounts(t *testing.T, dir string) (rows, keys int) {
	t.Helper()
	parts, _ := filepath.Glob(filepath.Join(dir, "part-*.sqlite3"))
	for _, p := range parts {
		db, err := sql.Open("sqlite", "file:"+p)
		if err != nil {
			t.Fatal(err)
		}
		var r, k int
		err = db.QueryRow(`SELECT count(*), count(DISTINCT step || '/' || key)
			FROM (SELECT step, key FROM snapshots UNION ALL SELECT step, key FROM compacted)`).Scan(&r, &k)
		db.Close()
		if err != nil {
			t.Fatal(err)
		}
		rows, keys = rows+r, keys+k
	}
	return rows, keys
}

// A run stopped by its context, as run.Main stops one on Ctrl-C or SIGTERM, collects
// after its last commit like a run that ends: the next start does not read every
// superseded row (tens of thousands of them made it seconds slower).
func TestStopCollects(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "rec")
	if err := recovery.Init(dir, 2); err != nil {
		t.Fatal(err)
	}
	var items []int
	for i := range 400 {
		items = append(items, i)
	}
	src := weirtest.NewSource(items...).BatchSize(20).Pause(time.Hour)
	flow := weir.NewDataflow("stop")
	keyed := op.KeyOn("key", op.Input("inp", flow, src), func(v int) string { return strconv.Itoa(v % 10) })
	sink := weirtest.NewSink[weir.KV[int]]()
	op.Output("out", op.StatefulMap("sum", keyed, func(st *op.State[int], v int) int {
		s, _ := st.Get()
		st.Set(s + v)
		return s + v
	}), sink)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run.Run(ctx, flow, run.EpochInterval(0), run.Recovery(dir)) }()
	for deadline := time.Now().Add(30 * time.Second); len(sink.Items()) < len(items); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d items out of %d", len(sink.Items()), len(items))
		}
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("run = %v, want context.Canceled", err)
	}
	rows, keys := rowCounts(t, dir)
	if rows != keys || keys < 10 {
		t.Errorf("%d snapshot rows of %d keys after the stop: superseded rows were not collected", rows, keys)
	}
}

// partFiles reads every partition file of dir.
func partFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	parts, _ := filepath.Glob(filepath.Join(dir, "part-*"))
	files := map[string][]byte{}
	for _, p := range parts {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		files[filepath.Base(p)] = b
	}
	return files
}

// A run refused (the store is held by another run, is missing partitions or has an old
// one, or holds what this dataflow cannot resume) leaves every partition file as it found
// it, byte for byte: it used to record an execution, and to collect, before it loaded.
func TestRefusedRunChangesNothing(t *testing.T) {
	sums := func(name string, in string) *weir.Dataflow {
		flow := weir.NewDataflow(name)
		keyed := op.KeyOn("key", op.Input("inp", flow, files.NewLineSource(in)), func(s string) string { return s })
		op.Output("out", op.StatefulMap("count", keyed, func(st *op.State[int], _ string) int {
			n, _ := st.Get()
			st.Set(n + 1)
			return n + 1
		}), weirtest.NewSink[weir.KV[int]]())
		return flow
	}
	tests := []struct {
		name string
		// refuse prepares dir, where flow "sums" read in, and returns the refused run's flow.
		refuse func(t *testing.T, dir, in string) *weir.Dataflow
		check  func(err error) bool
	}{
		{"another dataflow", func(t *testing.T, dir, in string) *weir.Dataflow { return sums("other", in) },
			func(err error) bool {
				var e *recovery.RemovedStepError
				return errors.As(err, &e) && e.Foreign
			}},
		{"removed step", func(t *testing.T, dir, in string) *weir.Dataflow {
			flow := weir.NewDataflow("sums")
			op.Output("out", op.Input("inp", flow, files.NewLineSource(in)), weirtest.NewSink[string]())
			return flow
		}, func(err error) bool {
			var e *recovery.RemovedStepError
			return errors.As(err, &e) && !e.Foreign && len(e.Steps) == 1
		}},
		{"partition count", func(t *testing.T, dir, in string) *weir.Dataflow { return sums("sums", in) },
			func(err error) bool {
				return err != nil && strings.Contains(err.Error(), "has 3 partitions, not the 2")
			}},
		{"moved input", func(t *testing.T, dir, in string) *weir.Dataflow {
			moved := in + ".moved"
			if err := os.Rename(in, moved); err != nil {
				t.Fatal(err)
			}
			return sums("sums", moved)
		}, func(err error) bool {
			var e *recovery.PartitionsChangedError
			return errors.As(err, &e)
		}},
		{"locked", func(t *testing.T, dir, in string) *weir.Dataflow {
			s, err := sqlitestore.Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return sums("sums", in)
		}, func(err error) bool { return errors.Is(err, recovery.ErrLocked) }},
		{"missing partition", func(t *testing.T, dir, in string) *weir.Dataflow {
			if err := os.Remove(filepath.Join(dir, "part-2.sqlite3")); err != nil {
				t.Fatal(err)
			}
			return sums("sums", in)
		}, func(err error) bool {
			var e *recovery.MissingPartitionsError
			return errors.As(err, &e)
		}},
		{"older partition", func(t *testing.T, dir, in string) *weir.Dataflow {
			old := partFiles(t, dir)["part-1.sqlite3"]
			for range 2 {
				f, err := os.OpenFile(in, os.O_APPEND|os.O_WRONLY, 0)
				if err != nil {
					t.Fatal(err)
				}
				f.WriteString("c\nd\n")
				f.Close()
				if err := run.Run(context.Background(), sums("sums", in), run.EpochInterval(0), run.Recovery(dir)); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.WriteFile(filepath.Join(dir, "part-1.sqlite3"), old, 0o644); err != nil {
				t.Fatal(err)
			}
			return sums("sums", in)
		}, func(err error) bool {
			var e *recovery.InconsistentError
			return errors.As(err, &e)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmp := t.TempDir()
			dir, in := filepath.Join(tmp, "rec"), filepath.Join(tmp, "in.txt")
			if err := os.WriteFile(in, []byte("a\nb\na\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := recovery.Init(dir, 3); err != nil {
				t.Fatal(err)
			}
			if err := run.Run(context.Background(), sums("sums", in), run.EpochInterval(0), run.Recovery(dir)); err != nil {
				t.Fatal(err)
			}
			flow := tt.refuse(t, dir, in)
			before := partFiles(t, dir)
			opts := []run.Option{run.EpochInterval(0), run.Recovery(dir)}
			if tt.name == "partition count" {
				opts = append(opts, run.RecoveryPartitions(2))
			}
			err := run.Run(context.Background(), flow, opts...)
			if !tt.check(err) {
				t.Fatalf("run = %v", err)
			}
			after := partFiles(t, dir)
			for name, b := range before {
				if !bytes.Equal(b, after[name]) {
					t.Errorf("%s changed", name)
				}
			}
			if len(after) != len(before) {
				t.Errorf("files %d, then %d", len(before), len(after))
			}
		})
	}
}

// A moved or renamed input is refused with a *recovery.PartitionsChangedError that says
// what changed and what to do (it was an untyped "has no partition ... any more").
func TestMovedInput(t *testing.T) {
	tmp := t.TempDir()
	dir, in, moved := filepath.Join(tmp, "rec"), filepath.Join(tmp, "in.txt"), filepath.Join(tmp, "new.txt")
	if err := os.WriteFile(in, []byte("1\n2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := recovery.Init(dir, 2); err != nil {
		t.Fatal(err)
	}
	flow := func(path string) *weir.Dataflow {
		flow := weir.NewDataflow("f")
		op.Output("out", op.Input("inp", flow, files.NewLineSource(path)), weirtest.NewSink[string]())
		return flow
	}
	if err := run.Run(context.Background(), flow(in), run.Recovery(dir)); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(in, moved); err != nil {
		t.Fatal(err)
	}
	err := run.Run(context.Background(), flow(moved), run.Recovery(dir))
	var e *recovery.PartitionsChangedError
	if !errors.As(err, &e) || e.Step != "f.inp" || !slices.Equal(e.Missing, []string{in}) || !slices.Equal(e.New, []string{moved}) {
		t.Fatalf("run = %#v, want a *recovery.PartitionsChangedError of f.inp", err)
	}
	want := fmt.Sprintf(`weir: recovery directory %s: step f.inp no longer lists partitions [%q] that the store holds positions of (it lists [%q] instead): restore the moved or renamed path, or start afresh with a new recovery directory`, dir, in, moved)
	if err.Error() != want {
		t.Errorf("message\n%s\nwant\n%s", err, want)
	}
}

// A directory without partitions is refused with the command that makes them and the
// option that lets the run make them.
func TestNoPartitionsSaysHow(t *testing.T) {
	tmp := t.TempDir()
	flow := weir.NewDataflow("f")
	op.Output("out", op.Input("inp", flow, weirtest.NewSource(1)), weirtest.NewSink[int]())
	empty := filepath.Join(tmp, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	for dir, why := range map[string]string{filepath.Join(tmp, "none"): "it does not exist", empty: "it holds no partition files"} {
		err := run.Run(context.Background(), flow, run.Recovery(dir))
		want := fmt.Sprintf("weir: no recovery partitions found in %s (%s): create them with  weir recovery init %s N  (N partitions, fixed for the directory's life), or have this run create them with --recovery-partitions N (run.RecoveryPartitions)", dir, why, dir)
		if !errors.Is(err, recovery.ErrNoPartitions) || err.Error() != want {
			t.Errorf("run = %v\nwant %s", err, want)
		}
	}
	if _, err := os.Stat(filepath.Join(tmp, "none")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the refused run made the directory: %v", err)
	}
}

// With RecoveryPartitions, a run makes its missing directory and resumes from it the next
// time; a directory of another partition count is refused.
func TestRecoveryPartitionsCreates(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new", "rec")
	src := weirtest.NewSource(1, 2).Abort().Then(3)
	flow := weir.NewDataflow("sums")
	keyed := op.KeyOn("key", op.Input("inp", flow, src), func(int) string { return "k" })
	sink := weirtest.NewSink[weir.KV[int]]()
	op.Output("out", op.StatefulMap("sum", keyed, func(st *op.State[int], v int) int {
		s, _ := st.Get()
		st.Set(s + v)
		return s + v
	}), sink)
	for range 2 {
		if err := run.Run(context.Background(), flow, run.EpochInterval(0), run.Recovery(dir), run.RecoveryPartitions(3)); err != nil {
			t.Fatal(err)
		}
	}
	if got := fmt.Sprint(sink.Items()); got != "[(k, 1) (k, 3) (k, 6)]" {
		t.Errorf("items %s: the second run did not resume the first's state", got)
	}
	if info, err := recovery.Inspect(dir); err != nil || info.Partitions != 3 || len(info.Executions) != 2 {
		t.Errorf("inspect = %+v, %v; want 3 partitions and 2 executions", info, err)
	}
	err := run.Run(context.Background(), flow, run.Recovery(dir), run.RecoveryPartitions(4))
	want := fmt.Sprintf("weir: recovery directory %s has 3 partitions, not the 4 that --recovery-partitions (run.RecoveryPartitions) asks for: the count is fixed when the directory is created; ask for 3, or leave the option out", dir)
	if err == nil || err.Error() != want {
		t.Errorf("run = %v\nwant %s", err, want)
	}
}

// A dataflow that dropped a step is refused, naming the step and the option; with
// DropRemovedSteps it runs, logs the steps whose state it deleted, and the next run needs
// no option.
func TestDropRemovedSteps(t *testing.T) {
	tmp := t.TempDir()
	dir, in := filepath.Join(tmp, "rec"), filepath.Join(tmp, "in.txt")
	if err := os.WriteFile(in, []byte("a\nb\na\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	build := func(withCount bool) (*weir.Dataflow, *weirtest.Sink[weir.KV[int]]) {
		flow := weir.NewDataflow("f")
		keyed := op.KeyOn("key", op.Input("inp", flow, files.NewLineSource(in)), func(s string) string { return s })
		sink := weirtest.NewSink[weir.KV[int]]()
		count := func(st *op.State[int], _ string) int {
			n, _ := st.Get()
			st.Set(n + 1)
			return n + 1
		}
		op.Output("out", op.StatefulMap("first", keyed, count), sink)
		if withCount {
			op.Output("out2", op.StatefulMap("second", keyed, count), weirtest.NewSink[weir.KV[int]]())
		}
		return flow, sink
	}
	both, _ := build(true)
	if err := run.Run(context.Background(), both, run.EpochInterval(0), run.Recovery(dir), run.RecoveryPartitions(2)); err != nil {
		t.Fatal(err)
	}
	info, err := recovery.Inspect(dir)
	if err != nil {
		t.Fatal(err)
	}
	var removed string
	for _, st := range info.Steps {
		if strings.HasPrefix(st.Step, "f.second.") {
			removed = st.Step
		}
	}
	if removed == "" {
		t.Fatalf("no state of f.second in %+v", info.Steps)
	}
	f := func(s string) error {
		return os.WriteFile(in, []byte(s), 0o644)
	}
	if err := f("a\nb\na\nb\n"); err != nil {
		t.Fatal(err)
	}
	one, sink := build(false)
	err = run.Run(context.Background(), one, run.EpochInterval(0), run.Recovery(dir))
	var re *recovery.RemovedStepError
	want := fmt.Sprintf("weir: recovery directory %s: the store has state for step %s, which this dataflow does not have: restore the steps, or run with --drop-removed-steps (run.DropRemovedSteps) to delete their state and go on", dir, removed)
	if !errors.As(err, &re) || re.Dir != dir || !slices.Equal(re.Steps, []string{removed}) || err.Error() != want {
		t.Fatalf("run = %v\nwant %s", err, want)
	}
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	if err := run.Run(context.Background(), one, run.EpochInterval(0), run.Recovery(dir), run.DropRemovedSteps(), run.Logger(logger)); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(sink.Items()); got != "[(b, 2)]" {
		t.Errorf("items %s, want the kept step's state resumed: [(b, 2)]", got)
	}
	wantLog := fmt.Sprintf(`level=WARN msg="weir: recovery: dropped the state of steps this dataflow no longer has (--drop-removed-steps)" dir=%s steps=[%s]`, dir, removed)
	if !strings.Contains(logs.String(), wantLog) {
		t.Errorf("logs lack %s:\n%s", wantLog, logs.String())
	}
	if info, err := recovery.Inspect(dir); err != nil || slices.ContainsFunc(info.Steps, func(s recovery.StepInfo) bool { return s.Step == removed }) {
		t.Errorf("inspect = %+v, %v: the dropped step's state is still there", info.Steps, err)
	}
	if _, err := recovery.State(dir, removed, "a"); !errors.Is(err, recovery.ErrNoState) {
		t.Errorf("state of the dropped step: %v", err)
	}
	// The state is gone: the next run needs no option.
	if err := run.Run(context.Background(), one, run.EpochInterval(0), run.Recovery(dir)); err != nil {
		t.Fatal(err)
	}
}
