package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/weirflow/weir"
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
