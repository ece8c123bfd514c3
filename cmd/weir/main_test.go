package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/connectors/files"
	"github.com/weirflow/weir/op"
	weirrun "github.com/weirflow/weir/run"
	"github.com/weirflow/weir/weirtest"
)

func TestRun(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "rec")
	sums := func() {
		flow := weir.NewDataflow("sums")
		keyed := op.KeyOn("key", op.Input("inp", flow, weirtest.NewSource(1, 2, 3)), func(v int) string { return "k" + strconv.Itoa(v%2) })
		op.Output("out", op.StatefulMap("sum", keyed, func(st *op.State[[]int], v int) int {
			s, _ := st.Get()
			st.Set(append(s, v))
			return v
		}), weirtest.NewSink[weir.KV[int]]())
		weirtest.Run(t, flow, 2, weirrun.Recovery(dir))
	}
	tests := []struct {
		args   []string
		status int
		out    string // substring of stdout, or of stderr when status != 0
	}{
		{[]string{}, 2, "usage"},
		{[]string{"recovery", "init", dir}, 2, "usage"},
		{[]string{"recovery", "init", dir, "zero"}, 2, "positive integer"},
		{[]string{"recovery", "verify", dir}, 1, "no recovery partitions found in " + dir},
		{[]string{"recovery", "init", dir, "3"}, 0, "created " + dir + " with 3 partitions"},
		{[]string{"recovery", "init", dir, "3"}, 1, "already initialized"},
		{[]string{"recovery", "verify", dir}, 0, "resumes from epoch 1"},
		{[]string{"recovery", "inspect", dir}, 0, "3 partitions"},
		{[]string{"recovery", "inspect", dir + "x"}, 1, "no recovery partitions found"},
		{[]string{"recovery", "inspect", dir, "sums.sum", "k1"}, 1, "no state stored: no step sums.sum"},
		{nil, 0, ""}, // runs sums
		{[]string{"recovery", "inspect", dir, "sums.sum", "k1"}, 0, "as of epoch 1:\n[\n  1,\n  3\n]\n"},
		{[]string{"recovery", "inspect", dir, "sums.sum", "k0"}, 0, "[\n  2\n]"},
		{[]string{"recovery", "inspect", dir, "sums.sum", "k2"}, 1, `no state stored for step sums.sum.`},
		{[]string{"recovery", "inspect", dir, "sums.su", "k1"}, 1, "no step sums.su"},
		{[]string{"recovery", "inspect", dir, "sums", "k1"}, 1, "ambiguous"},
	}
	for _, tt := range tests {
		if tt.args == nil {
			sums()
			continue
		}
		var stdout, stderr bytes.Buffer
		status := run(tt.args, &stdout, &stderr)
		out := stdout.String()
		if status != 0 {
			out = stderr.String()
		}
		if status != tt.status || !strings.Contains(out, tt.out) {
			t.Errorf("weir %s = %d %q, want %d and %q", strings.Join(tt.args, " "), status, out, tt.status, tt.out)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "part-2.sqlite3")); err != nil {
		t.Error(err)
	}
}

// An input's and a sink's stored values are positions in their connectors' encodings,
// not codec-encoded states: inspect shows their bytes and, for the files connectors,
// the byte offsets they encode (it failed with "codec: unknown format version").
func TestInspectPositions(t *testing.T) {
	tmp := t.TempDir()
	dir, in, out := filepath.Join(tmp, "rec"), filepath.Join(tmp, "in.txt"), filepath.Join(tmp, "out.txt")
	if err := os.WriteFile(in, []byte(strings.Repeat("line\n", 100)), 0o644); err != nil {
		t.Fatal(err)
	}
	if status := run([]string{"recovery", "init", dir, "2"}, io.Discard, io.Discard); status != 0 {
		t.Fatal(status)
	}
	flow := weir.NewDataflow("f")
	op.Output("out", op.Input("inp", flow, files.NewLineSource(in)), files.NewFileSink[string](out))
	weirtest.Run(t, flow, 1, weirrun.Recovery(dir))
	tests := []struct {
		step, key string
		want      string
	}{
		{"f.inp", in, fmt.Sprintf("step f.inp, partition %q, as of epoch 1: a position, in the connector's encoding\n  bytes:    f403 (2)\n  uvarints: [500] ", in)},
		{"f.out", "out.txt", "step f.out, partition \"out.txt\", as of epoch 1: a position, in the connector's encoding\n  bytes:    f403 (2)\n  uvarints: [500] "},
	}
	for _, tt := range tests {
		var stdout, stderr bytes.Buffer
		if status := run([]string{"recovery", "inspect", dir, tt.step, tt.key}, &stdout, &stderr); status != 0 {
			t.Fatalf("inspect %s %s = %d: %s", tt.step, tt.key, status, stderr.String())
		}
		if !strings.HasPrefix(stdout.String(), tt.want) {
			t.Errorf("inspect %s %s:\n%s\nwant\n%s...", tt.step, tt.key, stdout.String(), tt.want)
		}
	}
	// Errors say "weir:" once.
	var stderr bytes.Buffer
	run([]string{"recovery", "inspect", dir, "f.none", "k"}, io.Discard, &stderr)
	want := "weir: recovery directory " + dir + ": no state stored: no step f.none (the directory has f.inp, f.out)\n"
	if stderr.String() != want {
		t.Errorf("stderr %q, want %q", stderr.String(), want)
	}
}
