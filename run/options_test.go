package run_test

import (
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/weirflow/weir/run"
	"github.com/weirflow/weir/sink"
	"github.com/weirflow/weir/weirtest"
)

// A run's settings are options over unexported defaults: the package exports no struct a
// caller could fill, so that no zero field can mean something other than its default (an
// exported Config{Workers: 1} ran with an epoch interval of 0, an epoch after every read,
// not the documented 10s).
func TestNoExportedSettingsStruct(t *testing.T) {
	pkgs, err := parser.ParseDir(token.NewFileSet(), ".", func(fi fs.FileInfo) bool {
		return !strings.HasSuffix(fi.Name(), "_test.go")
	}, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range pkgs["run"].Files {
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.GenDecl:
				for _, s := range d.Specs {
					if ts, ok := s.(*ast.TypeSpec); ok && ts.Name.IsExported() {
						if _, isStruct := ts.Type.(*ast.StructType); isStruct {
							t.Errorf("package run exports the struct %s: settings are options", ts.Name.Name)
						}
					}
				}
			case *ast.FuncDecl:
				if d.Recv == nil && d.Name.IsExported() && strings.Contains(d.Name.Name, "Config") {
					t.Errorf("package run exports %s: settings are options", d.Name.Name)
				}
			}
		}
	}
}

// The settings a run logs at its start: the defaults without options, and each option's
// value when given, an explicit EpochInterval(0) included.
func TestOptionDefaults(t *testing.T) {
	tests := []struct {
		name    string
		opts    []run.Option
		workers float64
		epoch   time.Duration
	}{
		{"defaults", nil, 1, 10 * time.Second},
		{"workers alone keeps the epoch interval", []run.Option{run.Workers(2)}, 2, 10 * time.Second},
		{"explicit every round", []run.Option{run.EpochInterval(0)}, 1, 0},
		{"later wins", []run.Option{run.EpochInterval(0), run.Workers(3), run.EpochInterval(time.Second)}, 3, time.Second},
		{"nil logger keeps the default", []run.Option{run.Logger(nil)}, 1, 10 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var l logs
			src := weirtest.NewSource(1, 2)
			flow := passThrough("f", src, sink.Func(func([]int) error { return nil }))
			// The log option goes first, so that a later Logger(nil) would drop it if nil
			// did not keep the default; then the run logs nowhere we read.
			opts := append([]run.Option{l.option()}, tt.opts...)
			if err := run.Run(context.Background(), flow, opts...); err != nil {
				t.Fatal(err)
			}
			recs := only(l.records(t), "weir: run starting")
			if tt.name == "nil logger keeps the default" {
				if len(recs) != 0 {
					t.Fatalf("Logger(nil) kept the earlier logger: %v", recs)
				}
				return
			}
			if len(recs) != 1 {
				t.Fatalf("%d start lines, want 1", len(recs))
			}
			has(t, "start", recs[0], map[string]any{"workers": tt.workers, "epoch_interval": float64(tt.epoch)})
		})
	}
}

// An invalid setting fails the run, before it starts, with an error naming the setting.
func TestInvalidOptions(t *testing.T) {
	tests := []struct {
		opt  run.Option
		want string
	}{
		{run.Workers(0), "weir: workers must be at least 1, not 0"},
		{run.EpochInterval(-time.Second), "weir: epoch interval must not be negative, not -1s"},
		{run.LogEvery(-time.Second), "weir: log interval must not be negative, not -1s"},
		{run.BackupInterval(-time.Second), "weir: backup interval must not be negative, not -1s"},
		{run.RecoveryPartitions(-1), "weir: recovery partitions must not be negative, not -1"},
		{run.HTTP("9090"), `weir: HTTP address "9090" (--http, run.HTTP) is not host:port (:9090 serves every interface)`},
		{run.HTTP(":http"), `weir: HTTP address ":http" (--http, run.HTTP): port "http" is not a number from 0 to 65535`},
		{run.LogFormat("xml"), `weir: log format "xml" (--log-format, run.LogFormat): want text or json`},
	}
	for _, tt := range tests {
		var l logs
		read := false
		src := weirtest.NewSource(1)
		flow := passThrough("f", src, sink.Func(func([]int) error { read = true; return nil }))
		err := run.Run(context.Background(), flow, l.option(), tt.opt)
		if err == nil || err.Error() != tt.want {
			t.Errorf("run: %v, want %q", err, tt.want)
		}
		if read || len(l.records(t)) > 0 {
			t.Errorf("%q: the run started", tt.want)
		}
	}
}
