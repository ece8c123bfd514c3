package run

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/source"
)

func smallFlow() *weir.Dataflow {
	flow := weir.NewDataflow("f")
	op.Output("out", op.Input("in", flow, source.FromSlice(1, 2, 3)), discard[int]())
	return flow
}

// jsonRecords returns the messages of the JSON records in out, failing on a line that is
// not one.
func jsonRecords(t *testing.T, out string) []string {
	t.Helper()
	var msgs []string
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("not a JSON record: %q", sc.Text())
		}
		msgs = append(msgs, rec["msg"].(string)+" "+rec["level"].(string))
	}
	return msgs
}

// Main logs JSON with --log-format json (or WEIR_LOG_FORMAT, or the option), at
// --log-level.
func TestMainLogFormat(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		opts []Option
		want string // the messages and levels, in order
	}{
		{"flag", nil, []string{"--log-format", "json"}, nil, "weir: run starting INFO|weir: run finished INFO"},
		{"env", map[string]string{"WEIR_LOG_FORMAT": "json"}, nil, nil, "weir: run starting INFO|weir: run finished INFO"},
		{"option", nil, nil, []Option{LogFormat(LogJSON), LogLevel(slog.LevelWarn)}, ""},
		{"level flag beats option", nil, []string{"--log-level", "info"}, []Option{LogFormat(LogJSON), LogLevel(slog.LevelWarn)},
			"weir: run starting INFO|weir: run finished INFO"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			var stderr bytes.Buffer
			if code := main(context.Background(), newCommandLine("prog"), smallFlow(), tc.args, io.Discard, &stderr, tc.opts); code != 0 {
				t.Fatalf("status %d: %s", code, stderr.String())
			}
			if got := strings.Join(jsonRecords(t, stderr.String()), "|"); got != tc.want {
				t.Errorf("records %q, want %q", got, tc.want)
			}
		})
	}
}

// Run, given LogFormat or LogLevel without a Logger, logs to stderr in that format.
func TestRunLogOptions(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := os.Stderr
	os.Stderr = w
	err = Run(context.Background(), smallFlow(), LogFormat(LogJSON), LogLevel(slog.LevelDebug))
	os.Stderr = stderr
	w.Close()
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(r)
	if got := strings.Join(jsonRecords(t, string(out)), "|"); got != "weir: run starting INFO|weir: run finished INFO" {
		t.Errorf("records %q", got)
	}
}

// TestNoStrayLogging checks that weir's library code logs only through log/slog: no
// package imports "log", and only run.Main and Run's logger reach os.Stderr. Programs
// (examples, commands, benchmarks, system tests) and test helpers may print.
func TestNoStrayLogging(t *testing.T) {
	programs := []string{"examples/", "cmd/", "bench/", "deploy/", "systemtest/", "internal/bench/", "internal/kafkatest/"}
	allowed := map[string]bool{"run/main.go": true, "run/logging.go": true}
	checked := 0
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := filepath.ToSlash(strings.TrimPrefix(path, ".."+string(filepath.Separator)))
		if d.IsDir() {
			if path != ".." && strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "node_modules" || slices.ContainsFunc(programs, func(p string) bool { return rel+"/" == p }) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(rel, ".go") || strings.HasSuffix(rel, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, src, parser.ImportsOnly)
		if err != nil {
			return err
		}
		checked++
		for _, imp := range f.Imports {
			if imp.Path.Value == `"log"` {
				t.Errorf("%s imports log: log through log/slog", rel)
			}
		}
		if strings.Contains(string(src), "os.Stderr") && !allowed[rel] {
			t.Errorf("%s writes to os.Stderr: log through log/slog", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 100 {
		t.Errorf("only %d files checked", checked)
	}
}
