package monitor_test

import (
	"context"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/internal/engine"
	"github.com/weirflow/weir/internal/graph"
	"github.com/weirflow/weir/internal/monitor"
	"github.com/weirflow/weir/internal/plan"
	"github.com/weirflow/weir/internal/state"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/source"
	"github.com/weirflow/weir/weirtest"
)

// countSource is a partitioned source of the numbers below n in each of its partitions,
// ten at a time, that knows its lag: the numbers it has not read yet.
type countSource struct {
	parts []string
	n     int
}

func (s countSource) Partitions(context.Context) ([]string, error) { return s.parts, nil }

func (s countSource) Build(_ context.Context, _ source.Part, _ []byte) (source.Partition[int], error) {
	return &countPart{n: s.n}, nil
}

type countPart struct {
	n    int
	next atomic.Int64
}

func (p *countPart) Next(context.Context) ([]int, error) {
	i := int(p.next.Load())
	end := min(i+10, p.n)
	var items []int
	for x := i; x < end; x++ {
		items = append(items, x)
	}
	p.next.Store(int64(end))
	if end == p.n {
		return items, io.EOF
	}
	return items, nil
}

func (p *countPart) Lag() (int64, bool) { return int64(p.n) - p.next.Load(), true }
func (p *countPart) Snapshot() []byte   { return []byte(strconv.Itoa(int(p.next.Load()))) }
func (p *countPart) Close() error       { return nil }

type counter struct{ N int }

func (c *counter) OnBatch(vs []int) ([]int, bool) { c.N += len(vs); return nil, false }
func (c *counter) OnNotify() ([]int, bool)        { return nil, false }
func (c *counter) OnEOF() ([]int, bool)           { return []int{c.N}, true }
func (c *counter) NotifyAt() (time.Time, bool)    { return time.Time{}, false }
func (c *counter) Snapshot() int                  { return c.N }

// countFlow reads the numbers below n from two partitions, keys them by their rest
// modulo 5, counts each key and writes the counts.
func countFlow(n int) (*weir.Dataflow, *weirtest.Sink[weir.KV[int]]) {
	flow := weir.NewDataflow("count")
	in := op.Input("inp", flow, countSource{parts: []string{"p0", "p1"}, n: n})
	keyed := op.KeyOn("key", in, func(x int) string { return strconv.Itoa(x % 5) })
	counts := op.StatefulBatch("count", keyed, func(n int, _ bool) op.Logic[int, int, int] { return &counter{N: n} })
	out := weirtest.NewSink[weir.KV[int]]()
	op.Output("out", counts, out)
	return flow, out
}

func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return fams
}

func labelNames(m *dto.Metric) []string {
	var names []string
	for _, l := range m.GetLabel() {
		names = append(names, l.GetName())
	}
	slices.Sort(names)
	return names
}

// Every metric family of docs/METRICS.md that a run in one process has is served, of
// its type, with its labels (the process's among them).
func TestMetricFamilies(t *testing.T) {
	flow, _ := countFlow(1000)
	p, err := plan.New(graph.FlowOf(flow))
	if err != nil {
		t.Fatal(err)
	}
	stats := engine.NewStats()
	srv := monitor.New(monitor.Config{Stats: stats, Plan: p, Process: 0})
	if err := srv.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer srv.Close(context.Background())
	before := scrape(t, "http://"+srv.Addr()+"/metrics")
	if g := before["weir_running"].GetMetric()[0].GetGauge().GetValue(); g != 0 {
		t.Errorf("weir_running before the run: %v", g)
	}
	ctx := engine.WithStats(context.Background(), stats)
	if err := engine.Run(ctx, p, engine.Config{Workers: 2, EpochInterval: time.Millisecond, Store: state.NewMemory()}); err != nil {
		t.Fatal(err)
	}
	fams := scrape(t, "http://"+srv.Addr()+"/metrics")
	want := []struct {
		name   string
		typ    dto.MetricType
		labels []string
	}{
		{"weir_items_in_total", dto.MetricType_COUNTER, []string{"process", "step", "worker"}},
		{"weir_items_out_total", dto.MetricType_COUNTER, []string{"process", "step", "worker"}},
		{"weir_batches_total", dto.MetricType_COUNTER, []string{"process", "step", "worker"}},
		{"weir_batch_items", dto.MetricType_HISTOGRAM, []string{"process", "step"}},
		{"weir_step_busy_seconds_total", dto.MetricType_COUNTER, []string{"process", "step", "worker"}},
		{"weir_keys", dto.MetricType_GAUGE, []string{"process", "step", "worker"}},
		{"weir_timers", dto.MetricType_GAUGE, []string{"process", "step", "worker"}},
		{"weir_source_lag", dto.MetricType_GAUGE, []string{"partition", "process", "step", "worker"}},
		{"weir_epoch", dto.MetricType_GAUGE, []string{"process", "worker"}},
		{"weir_committed_epoch", dto.MetricType_GAUGE, []string{"process", "worker"}},
		{"weir_inflight_bytes", dto.MetricType_GAUGE, []string{"process", "worker"}},
		{"weir_parked_bytes", dto.MetricType_GAUGE, []string{"process", "worker"}},
		{"weir_inflight_limit_bytes", dto.MetricType_GAUGE, []string{"process", "worker"}},
		{"weir_backpressure_seconds_total", dto.MetricType_COUNTER, []string{"process", "worker"}},
		{"weir_backpressured", dto.MetricType_GAUGE, []string{"process", "worker"}},
		{"weir_snapshot_seconds", dto.MetricType_HISTOGRAM, []string{"process", "worker"}},
		{"weir_commit_seconds", dto.MetricType_HISTOGRAM, []string{"process", "worker"}},
		{"weir_commits_total", dto.MetricType_COUNTER, []string{"process", "worker"}},
		{"weir_commit_bytes_total", dto.MetricType_COUNTER, []string{"process", "worker"}},
		{"weir_running", dto.MetricType_GAUGE, []string{"process"}},
		{"weir_start_time_seconds", dto.MetricType_GAUGE, []string{"process"}},
		{"weir_workers", dto.MetricType_GAUGE, []string{"process"}},
		{"go_goroutines", dto.MetricType_GAUGE, []string{"process"}},
	}
	for _, w := range want {
		f := fams[w.name]
		if f == nil {
			t.Errorf("%s: missing", w.name)
			continue
		}
		if f.GetType() != w.typ {
			t.Errorf("%s: type %v, want %v", w.name, f.GetType(), w.typ)
		}
		for _, m := range f.GetMetric() {
			if got := labelNames(m); !slices.Equal(got, w.labels) {
				t.Errorf("%s: labels %v, want %v", w.name, got, w.labels)
				break
			}
			for _, l := range m.GetLabel() {
				if l.GetName() == "process" && l.GetValue() != "0" {
					t.Errorf("%s: process %q", w.name, l.GetValue())
				}
			}
		}
	}
	// Two partitions of 1000 numbers each, read to their end.
	var lags []string
	for _, m := range fams["weir_source_lag"].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "partition" {
				lags = append(lags, l.GetValue())
			}
		}
		if v := m.GetGauge().GetValue(); v != 0 {
			t.Errorf("lag %v at the end", v)
		}
	}
	slices.Sort(lags)
	if !slices.Equal(lags, []string{"p0", "p1"}) {
		t.Errorf("lag of partitions %v, want p0 and p1", lags)
	}
	var hist *dto.Histogram
	for _, m := range fams["weir_batch_items"].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "step" && l.GetValue() == "count.inp" {
				hist = m.GetHistogram()
			}
		}
	}
	if hist.GetSampleSum() != 2000 || hist.GetSampleCount() != 200 {
		t.Errorf("batch items of count.inp: %d batches, %v items, want 200 of 10", hist.GetSampleCount(), hist.GetSampleSum())
	}
}

// In a cluster each process serves its own workers, labelled with its process, with its
// credit toward and bytes sent to each other process; the item counts of the processes
// add up to the items that went through each step.
func TestClusterMetrics(t *testing.T) {
	const n = 2000
	flow, _ := countFlow(n)
	p, err := plan.New(graph.FlowOf(flow))
	if err != nil {
		t.Fatal(err)
	}
	var addrs []string
	for range 2 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addrs = append(addrs, l.Addr().String())
		l.Close()
	}
	servers := make([]*httptest.Server, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range 2 {
		stats := engine.NewStats()
		servers[i] = httptest.NewServer(monitor.New(monitor.Config{Stats: stats, Plan: p, Process: i}).Handler())
		defer servers[i].Close()
		wg.Go(func() {
			errs[i] = engine.Run(engine.WithStats(context.Background(), stats), p, engine.Config{Workers: 1, EpochInterval: 5 * time.Millisecond,
				Cluster: &engine.Cluster{Process: i, Addresses: addrs, HeartbeatTimeout: 5 * time.Second}})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("process %d: %v", i, err)
		}
	}
	in := map[string]float64{} // by step, over both processes
	for i, srv := range servers {
		fams := scrape(t, srv.URL+"/metrics")
		me, peer := strconv.Itoa(i), strconv.Itoa(1-i)
		// The credit toward every process, its own included; the bytes sent to the other.
		for _, name := range []string{"weir_credit_bytes", "weir_sent_bytes_total"} {
			peers := []string{"0", "1"}
			if name == "weir_sent_bytes_total" {
				peers = []string{peer}
			}
			ms := fams[name].GetMetric()
			if len(ms) != len(peers) {
				t.Fatalf("process %d: %d series of %s, want %d", i, len(ms), name, len(peers))
			}
			for j, m := range ms {
				labels := map[string]string{}
				for _, l := range m.GetLabel() {
					labels[l.GetName()] = l.GetValue()
				}
				if want := map[string]string{"process": me, "worker": me, "peer": peers[j]}; !maps.Equal(labels, want) {
					t.Errorf("process %d: %s labels %v, want %v", i, name, labels, want)
				}
				if name == "weir_sent_bytes_total" && m.GetCounter().GetValue() <= 0 {
					t.Errorf("process %d sent no bytes to the other", i)
				}
			}
		}
		for _, m := range fams["weir_items_in_total"].GetMetric() {
			var step string
			for _, l := range m.GetLabel() {
				switch {
				case l.GetName() == "step":
					step = l.GetValue()
				case l.GetName() == "worker" && l.GetValue() != me, l.GetName() == "process" && l.GetValue() != me:
					t.Errorf("process %d serves %s=%s", i, l.GetName(), l.GetValue())
				}
			}
			in[step] += m.GetCounter().GetValue()
		}
	}
	want := map[string]float64{"count.inp": 2 * n, "count.key.flat_map_batch": 2 * n, "count.count": 2 * n, "count.out": 5}
	for step, w := range want {
		if in[step] != w {
			t.Errorf("%s: %v items in over the processes, want %v (all: %v)", step, in[step], w, in)
		}
	}
}
