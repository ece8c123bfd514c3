package run_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/connectors/files"
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
	if n := strings.Count(logs.String(), "execution starting"); n != 2 || !strings.Contains(logs.String(), "recovery=true") {
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
