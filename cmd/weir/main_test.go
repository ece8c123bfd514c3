package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "rec")
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
	}
	for _, tt := range tests {
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
