package run

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/recovery"
	"github.com/weirflow/weir/sink"
	"github.com/weirflow/weir/source"
)

func discard[T any]() sink.Sink[T] { return sink.Func(func([]T) error { return nil }) }

// withLog returns c with the given log settings.
func withLog(c config, level slog.Leveler, format string, quiet bool) config {
	c.logLevel, c.logFormat, c.quiet = level, format, quiet
	return c
}

func TestFlags(t *testing.T) {
	def := defaults()
	st, ht := def.startupTimeout, def.heartbeatTimeout // every config has the cluster timeouts
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		opts    []Option
		want    config
		rest    []string
		level   slog.Level // of Main's own logger
		wantErr string
	}{
		{name: "defaults", want: def},
		{name: "short", args: []string{"-w", "3", "-s", "2"}, want: config{startupTimeout: st, heartbeatTimeout: ht, workers: 3, epochInterval: 2 * time.Second, logEvery: def.logEvery}},
		{name: "long", args: []string{"--workers-per-process=4", "--snapshot-interval=250ms"}, want: config{startupTimeout: st, heartbeatTimeout: ht, workers: 4, epochInterval: 250 * time.Millisecond, logEvery: def.logEvery}},
		{name: "env", env: map[string]string{"WEIR_WORKERS_PER_PROCESS": "2", "WEIR_SNAPSHOT_INTERVAL": "1.5"}, want: config{startupTimeout: st, heartbeatTimeout: ht, workers: 2, epochInterval: 1500 * time.Millisecond, logEvery: def.logEvery}},
		{name: "flag beats env", env: map[string]string{"WEIR_WORKERS_PER_PROCESS": "2"}, args: []string{"-w", "5"}, want: config{startupTimeout: st, heartbeatTimeout: ht, workers: 5, epochInterval: 10 * time.Second, logEvery: def.logEvery}},
		{name: "env beats option", env: map[string]string{"WEIR_WORKERS_PER_PROCESS": "2"}, opts: []Option{Workers(7), EpochInterval(time.Second)},
			want: config{startupTimeout: st, heartbeatTimeout: ht, workers: 2, epochInterval: time.Second, logEvery: def.logEvery}},
		{name: "option kept when no flag", opts: []Option{Workers(7)}, args: []string{"-s", "3"}, want: config{startupTimeout: st, heartbeatTimeout: ht, workers: 7, epochInterval: 3 * time.Second, logEvery: def.logEvery}},
		{name: "recovery", args: []string{"-r", "/tmp/rec", "-b", "1m"}, want: config{startupTimeout: st, heartbeatTimeout: ht, workers: 1, epochInterval: 10 * time.Second, recoveryDir: "/tmp/rec", backupInterval: time.Minute, logEvery: def.logEvery}},
		{name: "recovery env", env: map[string]string{"WEIR_RECOVERY_DIRECTORY": "/d", "WEIR_BACKUP_INTERVAL": "30"}, args: []string{"--backup-interval=5s"},
			want: config{startupTimeout: st, heartbeatTimeout: ht, workers: 1, epochInterval: 10 * time.Second, recoveryDir: "/d", backupInterval: 5 * time.Second, logEvery: def.logEvery}},
		{name: "positional", args: []string{"-w", "2", "a.txt", "-x"}, want: config{startupTimeout: st, heartbeatTimeout: ht, workers: 2, epochInterval: 10 * time.Second, logEvery: def.logEvery}, rest: []string{"a.txt", "-x"}},
		{name: "logs", args: []string{"--log-interval", "5s", "--log-level=debug"}, want: config{startupTimeout: st, heartbeatTimeout: ht, workers: 1, epochInterval: 10 * time.Second, logEvery: 5 * time.Second, logLevel: slog.LevelDebug}, level: slog.LevelDebug},
		{name: "logs env", env: map[string]string{"WEIR_LOG_INTERVAL": "0", "WEIR_LOG_LEVEL": "WARN"}, want: config{startupTimeout: st, heartbeatTimeout: ht, workers: 1, epochInterval: 10 * time.Second, logLevel: slog.LevelWarn}, level: slog.LevelWarn},
		{name: "log level flag beats env", env: map[string]string{"WEIR_LOG_LEVEL": "error"}, args: []string{"--log-level", "info"}, want: withLog(def, slog.LevelInfo, "", false)},
		{name: "log level flag beats option", opts: []Option{LogLevel(slog.LevelError)}, args: []string{"--log-level", "debug"}, want: withLog(def, slog.LevelDebug, "", false), level: slog.LevelDebug},
		{name: "log format and quiet", args: []string{"--log-format", "JSON", "-q"}, want: withLog(def, nil, "json", true)},
		{name: "log format and quiet env", env: map[string]string{"WEIR_LOG_FORMAT": "json", "WEIR_QUIET": "1"}, want: withLog(def, nil, "json", true)},
		{name: "log format and quiet options", opts: []Option{LogFormat("json"), Quiet()}, want: withLog(def, nil, "json", true)},
		{name: "log format flag beats env", env: map[string]string{"WEIR_LOG_FORMAT": "json", "WEIR_QUIET": "true"}, args: []string{"--log-format=text", "--quiet=false"}, want: withLog(def, nil, "text", false)},
		{name: "bad log format", args: []string{"--log-format", "xml"}, wantErr: `prog: invalid value "xml" for flag -log-format: not a log format: text or json (see prog --help)`},
		{name: "recovery partitions and drop", args: []string{"-r", "d", "--recovery-partitions", "4", "--drop-removed-steps"},
			want: config{startupTimeout: st, heartbeatTimeout: ht, workers: 1, epochInterval: 10 * time.Second, logEvery: 30 * time.Second, recoveryDir: "d", recoveryPartitions: 4, dropRemovedSteps: true}},
		{name: "recovery partitions and drop env", env: map[string]string{"WEIR_RECOVERY_PARTITIONS": "2", "WEIR_DROP_REMOVED_STEPS": "1"},
			want: config{startupTimeout: st, heartbeatTimeout: ht, workers: 1, epochInterval: 10 * time.Second, logEvery: 30 * time.Second, recoveryPartitions: 2, dropRemovedSteps: true}},
		{name: "http", args: []string{"--http", ":9090"}, want: config{startupTimeout: st, heartbeatTimeout: ht, workers: 1, epochInterval: 10 * time.Second, logEvery: 30 * time.Second, httpAddr: ":9090"}},
		{name: "http env", env: map[string]string{"WEIR_HTTP": "127.0.0.1:0"}, want: config{startupTimeout: st, heartbeatTimeout: ht, workers: 1, epochInterval: 10 * time.Second, logEvery: 30 * time.Second, httpAddr: "127.0.0.1:0"}},
		{name: "http flag beats env and option", env: map[string]string{"WEIR_HTTP": ":1"}, opts: []Option{HTTP(":2")}, args: []string{"--http=:3"},
			want: config{startupTimeout: st, heartbeatTimeout: ht, workers: 1, epochInterval: 10 * time.Second, logEvery: 30 * time.Second, httpAddr: ":3"}},
		{name: "drop flag beats env", env: map[string]string{"WEIR_DROP_REMOVED_STEPS": "true"}, args: []string{"--drop-removed-steps=false"}, want: def},
		{name: "bad drop env", env: map[string]string{"WEIR_DROP_REMOVED_STEPS": "yes"}, wantErr: `prog: WEIR_DROP_REMOVED_STEPS="yes": not true or false (see prog --help)`},
		{name: "bad partitions", args: []string{"--recovery-partitions", "few"}, wantErr: `prog: invalid value "few" for flag -recovery-partitions: not a whole number (see prog --help)`},
		{name: "bad log level", args: []string{"--log-level", "loud"}, wantErr: `prog: invalid value "loud" for flag -log-level: not a log level: debug, info, warn or error (see prog --help)`},
		{name: "bad env", env: map[string]string{"WEIR_WORKERS_PER_PROCESS": "many"}, wantErr: `prog: WEIR_WORKERS_PER_PROCESS="many": not a whole number (see prog --help)`},
		{name: "bad number", args: []string{"-w", "two"}, wantErr: `prog: invalid value "two" for flag -w: not a whole number (see prog --help)`},
		{name: "bad interval", args: []string{"-s", "soon"}, wantErr: `prog: invalid value "soon" for flag -s: not a duration or a number of seconds (see prog --help)`},
		{name: "unknown flag", args: []string{"--worker", "2"}, wantErr: "prog: flag provided but not defined: -worker (see prog --help)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			cl := newCommandLine("prog")
			var stdout, stderr bytes.Buffer
			code, exit := cl.parse(tt.args, &stdout, &stderr)
			if tt.wantErr != "" {
				if !exit || code != 2 || stderr.String() != tt.wantErr+"\n" || stdout.Len() != 0 {
					t.Fatalf("exit %v %d, stderr %q, stdout %q; want status 2 and the one line %q", exit, code, stderr.String(), stdout.String(), tt.wantErr)
				}
				return
			}
			if exit {
				t.Fatalf("parse exits with %d: %s", code, stderr.String())
			}
			got, err := cl.config(tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("config = %+v, want %+v", got, tt.want)
			}
			if cl.level != tt.level {
				t.Errorf("log level = %v, want %v", cl.level, tt.level)
			}
			if rest := cl.fs.Args(); strings.Join(rest, " ") != strings.Join(tt.rest, " ") {
				t.Errorf("arguments = %q, want %q", rest, tt.rest)
			}
		})
	}
}

// --help prints one usage, each flag once with its environment variable and default, and
// the program's own flags after weir's.
func TestUsage(t *testing.T) {
	cl := newCommandLine("prog")
	limit := cl.fs.Int("limit", 10, "stop after `N` lines")
	var stdout, stderr bytes.Buffer
	code, exit := cl.parse([]string{"--help"}, &stdout, &stderr)
	if !exit || code != 0 || stderr.Len() != 0 {
		t.Fatalf("exit %v %d, stderr %q; want status 0 and nothing on stderr", exit, code, stderr.String())
	}
	u := stdout.String()
	for _, want := range []string{"-w, --workers-per-process N", "WEIR_WORKERS_PER_PROCESS, default 1",
		"-s, --snapshot-interval D", "WEIR_SNAPSHOT_INTERVAL, default 10s", "-r, --recovery-directory DIR", "weir recovery init DIR N",
		"-b, --backup-interval D", "    --recovery-partitions N     create the recovery directory with N partitions",
		"WEIR_RECOVERY_PARTITIONS)", "    --drop-removed-steps        resume even though", "WEIR_DROP_REMOVED_STEPS)", "    --log-level LEVEL", "WEIR_LOG_LEVEL, default info", "    --log-interval D",
		"WEIR_LOG_INTERVAL, default 30s", "prog flags:", "--limit N", "stop after N lines (default 10)"} {
		if strings.Count(u, want) != 1 {
			t.Errorf("usage has %q %d times, want once:\n%s", want, strings.Count(u, want), u)
		}
	}
	// Args and Main share the parse: a second call gives the same outcome without printing.
	if code, exit := cl.parse(nil, &stdout, &stderr); !exit || code != 0 || stdout.String() != u {
		t.Errorf("second parse: %v %d", exit, code)
	}
	cl = newCommandLine("prog")
	limit = cl.fs.Int("limit", 10, "")
	if _, exit := cl.parse([]string{"--limit", "3", "-w", "2", "in.csv"}, &stdout, &stderr); exit || *limit != 3 || cl.fs.Arg(0) != "in.csv" {
		t.Errorf("program flag: exit %v, limit %d, args %q", exit, *limit, cl.fs.Args())
	}
}

func TestMainExitCodes(t *testing.T) {
	var stdout, stderr bytes.Buffer
	run := func(flow *weir.Dataflow, args ...string) int {
		stdout.Reset()
		stderr.Reset()
		return main(context.Background(), newCommandLine("prog"), flow, args, &stdout, &stderr, nil)
	}
	if code := run(weir.NewDataflow("bad.id")); code != 1 || !strings.Contains(stderr.String(), "bad.id") {
		t.Errorf("build error: status %d, stderr %q; want 1 and the error naming the id", code, stderr.String())
	}
	if code := run(weir.NewDataflow("ok"), "-w", "0"); code != 2 || strings.Count(stderr.String(), "\n") != 1 {
		t.Errorf("-w 0: status %d, stderr %q; want 2 and one line", code, stderr.String())
	}
	if code := run(weir.NewDataflow("ok"), "-nope"); code != 2 || strings.Count(stderr.String(), "\n") != 1 {
		t.Errorf("unknown flag: status %d, stderr %q; want 2 and one line", code, stderr.String())
	}
}

// A panic in user code prints the error, then the stack with the program's frames first.
func TestMainPrintsPanicStack(t *testing.T) {
	flow := weir.NewDataflow("p")
	var m map[string]int
	bad := op.Map("bad", op.Input("in", flow, source.FromSlice(1)), func(x int) int {
		m["x"] = x // assignment to entry in nil map
		return x
	})
	op.Output("out", bad, discard[int]())
	var stdout, stderr bytes.Buffer
	if code := main(context.Background(), newCommandLine("prog"), flow, nil, &stdout, &stderr, nil); code != 1 {
		t.Fatalf("status %d, want 1", code)
	}
	// The run's logs come first (the start, then the failure): the error is the line after.
	logs, out, _ := strings.Cut(stderr.String(), "level=ERROR msg=\"weir: run failed\"")
	if !strings.Contains(logs, "weir: run starting") {
		t.Errorf("stderr lacks the logs of the run:\n%s", stderr.String())
	}
	_, out, _ = strings.Cut(out, "\n")
	first, _, _ := strings.Cut(out, "\n")
	if !strings.Contains(first, "step p.bad") || !strings.Contains(first, "assignment to entry in nil map") {
		t.Errorf("first line %q, want the step and the panic", first)
	}
	own, whole, ok := strings.Cut(out, "the whole stack:")
	if !ok || !strings.Contains(own, "the program's own code") || !strings.Contains(own, "run.TestMainPrintsPanicStack.func1") ||
		!strings.Contains(own, "main_test.go:") || strings.Contains(own, "weir/op.") {
		t.Errorf("stderr does not lead with the test's own frame:\n%s", out)
	}
	if !strings.Contains(whole, "weir/op.") {
		t.Errorf("the whole stack lacks weir's frames:\n%s", whole)
	}
}

// Ctrl-C stops the run with status 130 and a line saying so, not as a finish.
func TestMainInterrupted(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			flow := weir.NewDataflow("long")
			started := make(chan struct{})
			in := op.Input("in", flow, source.Poll(time.Hour, func(context.Context) (int, bool, error) { return 1, true, nil }))
			seen := op.InspectWith("seen", in, func(string, int) { close(started) })
			op.Output("out", seen, discard[int]())
			var stdout, stderr bytes.Buffer
			done := make(chan int)
			go func() { done <- main(context.Background(), newCommandLine("prog"), flow, nil, &stdout, &stderr, nil) }()
			<-started
			if err := syscall.Kill(syscall.Getpid(), sig); err != nil {
				t.Fatal(err)
			}
			select {
			case code := <-done:
				if code != 128+int(sig) || !strings.Contains(stderr.String(), "flow long interrupted by "+map[syscall.Signal]string{syscall.SIGINT: "SIGINT", syscall.SIGTERM: "SIGTERM"}[sig]) {
					t.Errorf("status %d, stderr %q", code, stderr.String())
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the run did not stop")
			}
		})
	}
}

// syncBuffer is a bytes.Buffer that a run writes to while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// With a recovery directory, the line after Ctrl-C names the epoch the next run resumes
// from, the one the run's last log line gives; --log-level debug shows the snapshots.
func TestMainInterruptedNamesEpoch(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "rec")
	if err := recovery.Init(dir, 1); err != nil {
		t.Fatal(err)
	}
	flow := weir.NewDataflow("long")
	in := op.Input("in", flow, source.Poll(time.Hour, func(context.Context) (int, bool, error) { return 1, true, nil }))
	op.Output("out", in, discard[int]())
	var stdout bytes.Buffer
	var stderr syncBuffer
	done := make(chan int)
	go func() {
		done <- main(context.Background(), newCommandLine("prog"), flow, []string{"-r", dir, "-s", "0", "--log-level", "debug"}, &stdout, &stderr, nil)
	}()
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(stderr.String(), `msg="weir: epoch written"`); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no snapshot written:\n%s", stderr.String())
		}
	}
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	var code int
	select {
	case code = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the run did not stop")
	}
	out := stderr.String()
	m := regexp.MustCompile(`level=WARN msg="weir: run interrupted" .* resume=(\d+) committed=\d+`).FindStringSubmatch(out)
	if code != 130 || m == nil || m[1] == "1" {
		t.Fatalf("status %d, stderr:\n%s\nwant 130 and a log line naming an epoch past 1", code, out)
	}
	if want := "the next run on " + dir + " resumes from epoch " + m[1] + "\n"; !strings.HasSuffix(out, want) {
		t.Errorf("stderr ends %q, want %q", out[strings.LastIndex(strings.TrimSuffix(out, "\n"), "\n")+1:], want)
	}
}
