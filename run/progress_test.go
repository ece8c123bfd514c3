package run

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/weirflow/weir/internal/engine"
)

// status is a running Status with one input of the given partitions (behind, size; a
// size of -1 for a partition that does not know it) that read items.
func status(items int64, parts ...[2]int64) engine.Status {
	w := engine.StepWorker{Out: items}
	for _, p := range parts {
		if p[1] < 0 {
			w.Unsized++
			continue
		}
		w.Lag = append(w.Lag, engine.PartitionLag{Partition: "p", Behind: p[0], Size: p[1]})
	}
	return engine.Status{Running: true, Steps: []engine.StepStatus{
		{ID: "f.in", Kind: "input", Workers: []engine.StepWorker{w}},
		{ID: "f.out", Kind: "output", Workers: []engine.StepWorker{{In: items}}},
	}}
}

func TestInputProgress(t *testing.T) {
	for _, tc := range []struct {
		name               string
		st                 engine.Status
		items, read, total int64
		sized, ok          bool
	}{
		{"sized", status(7, [2]int64{30, 100}, [2]int64{0, 50}), 7, 120, 150, true, true},
		{"unsized partition", status(7, [2]int64{30, 100}, [2]int64{0, -1}), 7, 70, 100, false, true},
		{"no partition yet", status(0), 0, 0, 0, true, false},
		{"empty files", status(0, [2]int64{0, 0}), 0, 0, 0, true, false},
		{"grown file", status(1, [2]int64{0, 10}), 1, 10, 10, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			items, read, total, sized, ok := inputProgress(tc.st)
			if items != tc.items || read != tc.read || total != tc.total || sized != tc.sized || ok != tc.ok {
				t.Errorf("got %d %d %d %v %v, want %d %d %d %v %v", items, read, total, sized, ok, tc.items, tc.read, tc.total, tc.sized, tc.ok)
			}
		})
	}
}

// TestProgressLine draws a run's progress into a buffer: the share read, the items and
// their rate, a log record written above the line, and the line cleared at the end.
func TestProgressLine(t *testing.T) {
	var out bytes.Buffer
	p := newProgressLine(&out)
	t0 := time.Now()
	if !p.update(engine.Status{}, t0) || out.Len() > 0 {
		t.Fatalf("before the start: %q", out.String())
	}
	p.update(status(0, [2]int64{1000, 1000}), t0)
	p.update(status(50000, [2]int64{500, 1000}), t0.Add(2*time.Second))
	line := out.String()[strings.LastIndexByte(out.String(), '\r')+1:]
	for _, want := range []string{" 50% |", "50.0k items, 25.0k items/s"} {
		if !strings.Contains(line, want) {
			t.Errorf("no %q in the line %q", want, line)
		}
	}
	out.Reset()
	logger := slog.New(slog.NewTextHandler(p, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}}))
	logger.Info("weir: progress", "in", 50000)
	got := out.String()
	record := "level=INFO msg=\"weir: progress\" in=50000\n"
	i := strings.Index(got, record)
	if i < 0 || !strings.HasSuffix(strings.TrimRight(got[:i], " "), "\r") || !strings.Contains(got[i+len(record):], " 50% |") {
		t.Errorf("the record is not written on a cleared line and the line drawn again after it: %q", got)
	}
	// An unbounded partition turns the line off and clears it.
	out.Reset()
	if p.update(status(60000, [2]int64{400, 1000}, [2]int64{0, -1}), t0.Add(3*time.Second)) {
		t.Error("the line stays on with an unsized partition")
	}
	if got := out.String(); strings.TrimSpace(strings.ReplaceAll(got, "\r", "")) != "" {
		t.Errorf("the line is not cleared: %q", got)
	}
	out.Reset()
	logger.Info("after")
	if got := out.String(); got != "level=INFO msg=after\n" {
		t.Errorf("a record after the line went off: %q", got)
	}
}

// TestProgressStop checks that stopping the line clears it and returns after the loop.
func TestProgressStop(t *testing.T) {
	var out syncBuffer
	p := newProgressLine(&out)
	p.every = time.Millisecond
	stats := engine.NewStats()
	ctx, stop := p.start(engine.WithStats(context.Background(), stats))
	if engine.StatsFrom(ctx) != stats {
		t.Error("the line does not read the run's Stats")
	}
	time.Sleep(10 * time.Millisecond)
	stop()
	stop() // twice is fine
	if out.String() != "" {
		t.Errorf("drawn before the run started: %q", out.String())
	}
	ctx, stop = newProgressLine(&out).start(context.Background())
	if engine.StatsFrom(ctx) == nil {
		t.Error("the line without Stats in its context makes none")
	}
	stop()
	var nilLine *progressLine
	if ctx, stop := nilLine.start(context.Background()); engine.StatsFrom(ctx) != nil {
		t.Error("no line makes Stats")
	} else {
		stop()
	}
}

func TestCount(t *testing.T) {
	for n, want := range map[float64]string{0: "0", 9999: "9999", 12345: "12.3k", 2.5e6: "2.5M", 3e9: "3.0G"} {
		if got := count(n); got != want {
			t.Errorf("count(%v) = %q, want %q", n, got, want)
		}
	}
}
