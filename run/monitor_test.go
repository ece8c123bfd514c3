package run_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/run"
	"github.com/weirflow/weir/sink"
	"github.com/weirflow/weir/weirtest"
)

// addrLogger is a slog handler that hands on the URL of the monitor's metrics when the
// run logs it.
type addrLogger struct {
	slog.Handler
	metrics chan string
}

func (addrLogger) Enabled(context.Context, slog.Level) bool { return true }

func (h addrLogger) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == "weir: monitor serving" {
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "metrics" {
				h.metrics <- a.Value.String()
			}
			return true
		})
	}
	return nil
}

// passLogic passes every value on, as many as it gets.
type passLogic struct{}

func (passLogic) OnBatch(vs []int) ([]int, bool) { return slices.Clone(vs), false }
func (passLogic) OnNotify() ([]int, bool)        { return nil, false }
func (passLogic) OnEOF() ([]int, bool)           { return nil, true }
func (passLogic) NotifyAt() (time.Time, bool)    { return time.Time{}, false }
func (passLogic) Snapshot() int                  { return 0 }

// scrapeItems scrapes url and sums weir_items_in_total and weir_items_out_total over the
// workers, by step.
func scrapeItems(t *testing.T, url string) (in, out map[string]float64, err error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, nil, errors.New(resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, nil, err
	}
	sum := func(name string) map[string]float64 {
		by := map[string]float64{}
		for _, m := range fams[name].GetMetric() {
			by[label(m, "step")] += m.GetCounter().GetValue()
		}
		return by
	}
	return sum("weir_items_in_total"), sum("weir_items_out_total"), nil
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// A run given an HTTP address serves /metrics while it runs: scraped over HTTP while the
// source pauses, every step's item counts are the items that went through it. The server
// is gone once the run has returned.
func TestHTTPMetricsCountItems(t *testing.T) {
	const n = 1000
	var items []int
	for i := range n {
		items = append(items, i)
	}
	flow := weir.NewDataflow("scrape")
	in := op.Input("inp", flow, weirtest.NewSource(items...).BatchSize(50).Pause(time.Hour).Then(n))
	doubled := op.Map("double", in, func(x int) int { return 2 * x })
	fours := op.Filter("fours", doubled, func(x int) bool { return x%4 == 0 })
	keyed := op.KeyOn("key", fours, func(x int) string { return strconv.Itoa(x % 7) })
	passed := op.StatefulBatch("pass", keyed, func(int, bool) op.Logic[int, int, int] { return passLogic{} })
	out := weirtest.NewSink[weir.KV[int]]()
	op.Output("out", passed, out)

	metrics := make(chan string, 1)
	logger := slog.New(addrLogger{Handler: slog.DiscardHandler, metrics: metrics})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- run.Run(ctx, flow, run.Workers(2), run.EpochInterval(10*time.Millisecond), run.Logger(logger),
			run.HTTP("127.0.0.1:0"))
	}()
	var url string
	select {
	case url = <-metrics:
	case err := <-done:
		t.Fatalf("the run ended before it served: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("no monitor address logged")
	}
	if !strings.HasSuffix(url, "/metrics") {
		t.Fatalf("metrics at %q", url)
	}
	// in, out by the start of the step's id
	want := map[string][2]float64{
		"scrape.inp":    {n, n},
		"scrape.double": {n, n},
		"scrape.fours":  {n, n / 2},
		"scrape.key":    {n / 2, n / 2},
		"scrape.pass":   {n / 2, n / 2},
		"scrape.out":    {n / 2, 0},
	}
	var got map[string][2]float64
	deadline := time.Now().Add(10 * time.Second)
	for {
		in, out, err := scrapeItems(t, url)
		if err != nil {
			t.Fatal(err)
		}
		got = map[string][2]float64{}
		for step := range in {
			prefix, _, _ := strings.Cut(strings.TrimPrefix(step, "scrape."), ".")
			got["scrape."+prefix] = [2]float64{in[step], out[step]}
		}
		if len(got) == len(want) && got["scrape.out"][0] == n/2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	for step, w := range want {
		if got[step] != w {
			t.Errorf("%s: items in, out %v, want %v", step, got[step], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("steps %v, want %v", got, want)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("run: %v", err)
	}
	if _, _, err := scrapeItems(t, url); err == nil {
		t.Errorf("the server still answers after the run")
	}
}

// An HTTP address the run cannot listen on fails the run before it starts, naming the
// setting.
func TestHTTPAddressInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	read := false
	flow := passThrough("f", weirtest.NewSource(1), sink.Func(func([]int) error { read = true; return nil }))
	err = run.Run(context.Background(), flow, run.HTTP(ln.Addr().String()), run.Logger(slog.New(slog.DiscardHandler)))
	if err == nil || !strings.Contains(err.Error(), "weir: monitor: ") || !strings.Contains(err.Error(), "(--http, run.HTTP)") {
		t.Fatalf("run: %v, want the monitor's error naming --http", err)
	}
	if read {
		t.Error("the run started")
	}
}
