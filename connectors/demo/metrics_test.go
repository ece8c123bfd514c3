package demo_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/connectors/demo"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/run"
	"github.com/weirflow/weir/sink"
	"github.com/weirflow/weir/source"
	"github.com/weirflow/weir/weirtest"
)

// read runs src to its end with the given workers and returns each metric's values.
func read(t *testing.T, src *demo.MetricSource, workers int) map[string][]float64 {
	t.Helper()
	flow := weir.NewDataflow("flow")
	out := weirtest.NewSink[demo.Metric]()
	op.Output("out", op.Input("in", flow, src), out)
	weirtest.Run(t, flow, workers)
	return values(out.Items())
}

func values(ms []demo.Metric) map[string][]float64 {
	got := map[string][]float64{}
	for _, m := range ms {
		got[m.Name] = append(got[m.Name], m.Value)
	}
	return got
}

func TestMetricsReproducible(t *testing.T) {
	a := read(t, demo.Metrics("cpu", "mem").Interval(0).Count(500).BatchSize(7), 1)
	b := read(t, demo.Metrics("mem", "cpu").Interval(0).Count(500), 2)
	c := read(t, demo.Metrics("cpu", "mem").Interval(0).Count(500).Seed(7), 1)
	for _, name := range []string{"cpu", "mem"} {
		if len(a[name]) != 500 || !slices.Equal(a[name], b[name]) {
			t.Fatalf("%s: %d values, not the same in two runs", name, len(a[name]))
		}
		if slices.Equal(a[name], c[name]) {
			t.Fatalf("%s: the same values with another seed", name)
		}
		lo, hi := slices.Min(a[name]), slices.Max(a[name])
		if lo < 0 || hi > 100 || hi-lo < 30 {
			t.Fatalf("%s: values from %v to %v, want a spread within 0 and 100", name, lo, hi)
		}
	}
	if slices.Equal(a["cpu"], a["mem"]) {
		t.Fatal("cpu and mem have the same values")
	}
}

// TestMetricsResume aborts a run after each number of rounds in turn and resumes it: the
// readings are those of an uninterrupted run.
func TestMetricsResume(t *testing.T) {
	want := read(t, demo.Metrics("cpu", "mem").Interval(0).Count(20), 1)
	for stop := range 6 {
		t.Run(fmt.Sprint("abort after ", stop), func(t *testing.T) {
			rec := weirtest.NewRecovery(t, 1)
			out := weirtest.NewSink[demo.Metric]()
			crash := weirtest.NewSource(make([]int, stop)...).BatchSize(1).Abort()
			for range 2 {
				flow := weir.NewDataflow("flow")
				op.Output("ticks", op.Input("crash", flow, crash), sink.Func(func([]int) error { return nil }))
				op.Output("out", op.Input("in", flow, demo.Metrics("cpu", "mem").Interval(0).Count(20).BatchSize(3)), out)
				rec.Run(t, flow, 1)
			}
			got := values(out.Items())
			for name, w := range want {
				if !slices.Equal(got[name], w) {
					t.Fatalf("%s: %v, want %v", name, got[name], w)
				}
			}
		})
	}
}

// TestMetricsInterval runs on a fake clock: readings come one an interval apart, the
// first at once, and are stamped with the time they were due.
func TestMetricsInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		var at []time.Duration
		var stamps []time.Duration
		flow := weir.NewDataflow("flow")
		op.Output("out", op.Input("in", flow, demo.Metrics().Interval(time.Second).Count(4)), sink.Func(func(ms []demo.Metric) error {
			for _, m := range ms {
				at = append(at, time.Since(start))
				stamps = append(stamps, m.Time.Sub(start))
			}
			return nil
		}))
		if err := run.Run(context.Background(), flow); err != nil {
			t.Fatal(err)
		}
		want := []time.Duration{0, time.Second, 2 * time.Second, 3 * time.Second}
		if !slices.Equal(at, want) || !slices.Equal(stamps, want) {
			t.Fatalf("readings at %v, stamped %v; want %v", at, stamps, want)
		}
	})
}

func TestMetricsErrors(t *testing.T) {
	ctx := context.Background()
	for _, names := range [][]string{{"a", "a"}, {""}} {
		if _, err := demo.Metrics(names...).Partitions(ctx); err == nil || !strings.HasPrefix(err.Error(), "weir: demo: ") {
			t.Errorf("%q: %v", names, err)
		}
	}
	src := demo.Metrics("cpu").Count(3)
	for _, tt := range []struct {
		part   string
		resume []byte
		want   string
	}{
		{"mem", nil, `unknown metric "mem"`},
		{"cpu", []byte{0x80}, "corrupt resume position"},
		{"cpu", []byte{4}, "corrupt resume position"}, // past Count
	} {
		if _, err := src.Build(ctx, source.Part{Partition: tt.part}, tt.resume); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Build(%q, %x): %v, want %q", tt.part, tt.resume, err, tt.want)
		}
	}
}

func ExampleMetrics() {
	flow := weir.NewDataflow("flow")
	// Five readings of each of two metrics, as fast as they are taken, from seed 42.
	readings := op.Input("metrics", flow, demo.Metrics("cpu", "mem").Interval(0).Count(5).Seed(42))
	op.Output("print", readings, sink.Func(func(ms []demo.Metric) error {
		for _, m := range ms {
			fmt.Println(m)
		}
		return nil
	}))
	keyed := op.KeyOn("by_name", readings, func(m demo.Metric) string { return m.Name })
	peaks := op.MaxFinal("peak", keyed, func(m demo.Metric) float64 { return m.Value })
	op.Output("out", peaks, sink.Func(func(kvs []weir.KV[demo.Metric]) error {
		for _, kv := range kvs {
			fmt.Println("peak:", kv.Value)
		}
		return nil
	}))
	if err := run.Run(context.Background(), flow); err != nil {
		fmt.Println(err)
	}
	// Unordered output:
	// cpu=61.06
	// cpu=80.85
	// cpu=73.49
	// cpu=77.15
	// cpu=68.57
	// mem=56.83
	// mem=72.63
	// mem=58.54
	// mem=55.37
	// mem=69.46
	// peak: cpu=80.85
	// peak: mem=72.63
}
