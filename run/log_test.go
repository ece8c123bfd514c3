package run_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/run"
	"github.com/weirflow/weir/sink"
	"github.com/weirflow/weir/weirtest"
)

// logs collects a run's log records as JSON, at debug level.
type logs struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logs) option() run.Option {
	return run.Logger(slog.New(slog.NewJSONHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug})))
}

// records returns the records logged so far.
func (l *logs) records(t *testing.T) []map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var recs []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(l.buf.String()), "\n") {
		if line == "" {
			continue
		}
		var r map[string]any
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		recs = append(recs, r)
	}
	return recs
}

// only returns the records with message msg.
func only(recs []map[string]any, msg string) []map[string]any {
	var out []map[string]any
	for _, r := range recs {
		if r["msg"] == msg {
			out = append(out, r)
		}
	}
	return out
}

// ends returns the end lines among recs.
func ends(recs []map[string]any) []map[string]any {
	var out []map[string]any
	for _, r := range recs {
		if m, _ := r["msg"].(string); strings.HasPrefix(m, "weir: run ") && m != "weir: run starting" {
			out = append(out, r)
		}
	}
	return out
}

// has checks that rec holds each field of want, numbers as float64 (as JSON decodes them).
func has(t *testing.T, what string, rec map[string]any, want map[string]any) {
	t.Helper()
	for k, v := range want {
		if rec[k] != v {
			t.Errorf("%s: %s = %v (%T), want %v; record %v", what, k, rec[k], rec[k], v, rec)
		}
	}
}

func passThrough(id string, src *weirtest.Source[int], out sink.Sink[int]) *weir.Dataflow {
	flow := weir.NewDataflow(id)
	op.Output("out", op.Input("in", flow, src), out)
	return flow
}

// A run without recovery logs its start and, last, one line saying it finished, with what
// went in and out.
func TestLogsFinished(t *testing.T) {
	var l logs
	out := weirtest.NewSink[int]()
	flow := passThrough("fine", weirtest.NewSource(1, 2, 3, 4, 5).BatchSize(2), out)
	if err := run.Run(context.Background(), flow, run.Workers(2), l.option()); err != nil {
		t.Fatal(err)
	}
	recs := l.records(t)
	if len(recs) < 2 || recs[0]["msg"] != "weir: run starting" || len(ends(recs)) != 1 || recs[len(recs)-1]["msg"] != "weir: run finished" {
		t.Fatalf("want the start first and one end line, finished, last; got %v", recs)
	}
	has(t, "start", recs[0], map[string]any{"level": "INFO", "flow": "fine", "workers": 2.0, "recovery": "none",
		"resume": 1.0, "from": "no recovery", "epoch_interval": float64(10 * time.Second)})
	end := recs[len(recs)-1]
	has(t, "end", end, map[string]any{"level": "INFO", "flow": "fine", "in": 5.0, "out": 5.0})
	if _, ok := end["duration"]; !ok {
		t.Errorf("end line without its duration: %v", end)
	}
	if _, ok := end["resume"]; ok {
		t.Errorf("a run without recovery names a resume epoch: %v", end)
	}
}

// A failing run ends with one line at error level with the error.
func TestLogsFailed(t *testing.T) {
	var l logs
	boom := errors.New("boom")
	flow := passThrough("bad", weirtest.NewSource(1, 2, 3), sink.Func(func([]int) error { return boom }))
	err := run.Run(context.Background(), flow, l.option())
	if !errors.Is(err, boom) {
		t.Fatalf("run: %v, want boom", err)
	}
	recs := l.records(t)
	if e := ends(recs); len(e) != 1 || e[0]["msg"] != "weir: run failed" {
		t.Fatalf("end lines %v, want one: failed", e)
	}
	end := recs[len(recs)-1]
	has(t, "end", end, map[string]any{"level": "ERROR", "flow": "bad", "error": err.Error(), "in": 1.0})
}

// With recovery, each worker's snapshot writes are logged at debug level; an interrupted
// run names the epoch the next run resumes from, and the next run's start line says it
// resumes there.
func TestLogsInterruptedResumes(t *testing.T) {
	rec := weirtest.NewRecovery(t, 2)
	var l logs
	out := weirtest.NewSink[int]()
	src := weirtest.NewSource(1, 2, 3, 4).Pause(time.Hour).Then(5)
	flow := passThrough("stops", src, out)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- run.Run(ctx, flow, rec.Options(1, l.option())...) }()
	for deadline := time.Now().Add(10 * time.Second); len(out.Items()) < 4; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the run wrote no items")
		}
	}
	// Each item closes an epoch (interval 0): wait until epoch 4 is written, then stop.
	written := func() (last float64) {
		for _, w := range only(l.records(t), "weir: epoch written") {
			last = max(last, w["epoch"].(float64))
		}
		return last
	}
	for deadline := time.Now().Add(10 * time.Second); written() < 4; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("4 epochs not written: %v", l.records(t))
		}
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("run: %v, want context.Canceled", err)
	}
	recs := l.records(t)
	has(t, "start", recs[0], map[string]any{"msg": "weir: run starting", "recovery": rec.Dir(), "resume": 1.0,
		"from": "nothing committed"})
	for _, w := range only(recs, "weir: epoch written") {
		has(t, "write", w, map[string]any{"level": "DEBUG", "worker": 0.0})
		for _, k := range []string{"epoch", "epochs", "rows", "bytes", "duration", "final"} {
			if _, ok := w[k]; !ok {
				t.Errorf("write line without %s: %v", k, w)
			}
		}
	}
	e := ends(recs)
	if len(e) != 1 || e[0]["msg"] != "weir: run interrupted" {
		t.Fatalf("end lines %v, want one: interrupted", e)
	}
	resume, _ := e[0]["resume"].(float64)
	has(t, "end", e[0], map[string]any{"level": "WARN", "in": 4.0, "out": 4.0, "cause": "context canceled", "committed": resume - 1})
	if resume < 5 { // epochs 1 to 4 each held an item, and all were written
		t.Errorf("interrupted at resume epoch %v, want at least 5", resume)
	}

	// The next run starts where the interrupted one said it would.
	var next logs
	stopped, stop := context.WithCancel(context.Background())
	stop()
	if err := run.Run(stopped, flow, rec.Options(1, next.option())...); !errors.Is(err, context.Canceled) {
		t.Fatalf("second run: %v", err)
	}
	start := next.records(t)[0]
	has(t, "next start", start, map[string]any{"msg": "weir: run starting", "resume": resume})
	if from, _ := start["from"].(string); !strings.HasPrefix(from, "epoch ") {
		t.Errorf("next start from %q, want the epoch committed before", from)
	}
}

// Every LogEvery the run logs its progress: items in and out since the start, their rates
// over the interval and the epoch; none after the end line.
func TestLogsProgress(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var l logs
		out := weirtest.NewSink[int]()
		src := weirtest.NewSource(1, 2, 3).Pause(25*time.Second).Then(4, 5)
		flow := passThrough("slow", src, out)
		if err := run.Run(context.Background(), flow, l.option(), run.LogEvery(10*time.Second), run.EpochInterval(time.Second)); err != nil {
			t.Fatal(err)
		}
		recs := l.records(t)
		p := only(recs, "weir: progress")
		if len(p) != 2 {
			t.Fatalf("%d progress lines in 25s at one per 10s, want 2: %v", len(p), recs)
		}
		has(t, "first", p[0], map[string]any{"level": "INFO", "flow": "slow", "in": 3.0, "out": 3.0, "in_per_sec": 0.3, "out_per_sec": 0.3})
		has(t, "second", p[1], map[string]any{"in": 3.0, "out": 3.0, "in_per_sec": 0.0})
		if _, ok := p[0]["epoch"]; !ok {
			t.Errorf("progress without the epoch: %v", p[0])
		}
		if recs[len(recs)-1]["msg"] != "weir: run finished" {
			t.Errorf("last line %v, want the end", recs[len(recs)-1])
		}
		has(t, "end", recs[len(recs)-1], map[string]any{"in": 5.0, "out": 5.0, "duration": float64(25 * time.Second)})
	})
}

// LogEvery(0) logs no progress; a negative interval is refused.
func TestLogEveryZero(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var l logs
		flow := passThrough("quiet", weirtest.NewSource(1).Pause(time.Hour).Then(2), weirtest.NewSink[int]())
		if err := run.Run(context.Background(), flow, l.option(), run.LogEvery(0)); err != nil {
			t.Fatal(err)
		}
		if p := only(l.records(t), "weir: progress"); len(p) != 0 {
			t.Errorf("progress lines with LogEvery(0): %v", p)
		}
	})
	if err := run.Run(context.Background(), weir.NewDataflow("x"), run.LogEvery(-time.Second)); err == nil {
		t.Error("a negative log interval is accepted")
	}
}

// With two workers, one of which reads nothing, the epoch a finished run names as the
// next run's start is the one the store resumes from.
func TestLogsResumeMatchesStore(t *testing.T) {
	rec := weirtest.NewRecovery(t, 2)
	src := weirtest.NewSource(1, 2, 3).EOF().Then(4, 5)
	flow := passThrough("twice", src, weirtest.NewSink[int]())
	var first logs
	if err := run.Run(context.Background(), flow, rec.Options(2, first.option())...); err != nil {
		t.Fatal(err)
	}
	end := ends(first.records(t))
	if len(end) != 1 || end[0]["msg"] != "weir: run finished" {
		t.Fatalf("end lines %v, want one: finished", end)
	}
	has(t, "end", end[0], map[string]any{"in": 3.0, "out": 3.0})
	var next logs
	if err := run.Run(context.Background(), flow, rec.Options(2, next.option())...); err != nil {
		t.Fatal(err)
	}
	recs := next.records(t)
	has(t, "next start", recs[0], map[string]any{"msg": "weir: run starting", "resume": end[0]["resume"]})
	has(t, "next end", recs[len(recs)-1], map[string]any{"msg": "weir: run finished", "in": 2.0, "out": 2.0})
	if r, _ := end[0]["resume"].(float64); r < 4 {
		t.Errorf("first run resumes at %v, want past the 3 epochs of its items", r)
	}
}
