package web_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/connectors/demo"
	"github.com/weirflow/weir/internal/engine"
	"github.com/weirflow/weir/internal/flowview"
	"github.com/weirflow/weir/internal/graph"
	"github.com/weirflow/weir/internal/monitor/web"
	"github.com/weirflow/weir/op"
	_ "github.com/weirflow/weir/recovery" // the recovery directory's store: snapshots to show
	"github.com/weirflow/weir/run"
	"github.com/weirflow/weir/weirtest"
)

// chromium returns the path of a Chromium to drive: $WEIR_CHROMIUM, or the first of the
// usual names on $PATH. Without one the test skips, unless WEIR_BROWSER_TEST=1 (as CI
// sets it) makes that a failure.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("WEIR_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless_shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "no Chromium found (on $PATH as chromium, chromium-browser or google-chrome, or in $WEIR_CHROMIUM): " +
		"install Debian's chromium (apt-get install chromium) to run the browser test"
	if os.Getenv("WEIR_BROWSER_TEST") == "1" {
		t.Fatal(msg + "; WEIR_BROWSER_TEST=1 asks for it")
	}
	t.Skip(msg + "; WEIR_BROWSER_TEST=1 makes this a failure")
	return ""
}

// The browser the tests share: one Chromium for the package (a start costs seconds),
// each test in tabs of its own.
var shared struct {
	once   sync.Once
	ctx    context.Context // the browser's first tab, which keeps it alive
	err    error
	cancel func()
}

// TestMain stops the shared browser once the tests are done.
func TestMain(m *testing.M) {
	code := m.Run()
	if shared.cancel != nil {
		shared.cancel()
	}
	os.Exit(code)
}

// browser returns a new tab of the shared headless Chromium, started at the first call
// with the flags a closed network needs (no background connections, no component
// updates, no QUIC) and a fresh profile.
func browser(t *testing.T, path string) context.Context {
	t.Helper()
	shared.once.Do(func() {
		dir, err := os.MkdirTemp("", "weir-chromium-")
		if err != nil {
			shared.err = err
			return
		}
		opts := append(chromedp.DefaultExecAllocatorOptions[:],
			chromedp.ExecPath(path),
			chromedp.NoSandbox, // CI runs as root, where Chromium's sandbox cannot start
			chromedp.DisableGPU,
			chromedp.Flag("disable-quic", true),
			chromedp.Flag("disable-component-update", true),
			chromedp.Flag("disable-background-networking", true),
			chromedp.Flag("disable-sync", true),
			chromedp.NoFirstRun,
			chromedp.UserDataDir(dir),
			chromedp.WindowSize(1400, 900),
		)
		actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
		ctx, cancel := chromedp.NewContext(actx)
		shared.ctx, shared.cancel = ctx, func() { cancel(); cancelAlloc(); os.RemoveAll(dir) }
		// The first Run starts the browser, and lives as long as ctx: no timeout on it.
		if err := chromedp.Do(ctx); err != nil {
			shared.err = fmt.Errorf("starting %s: %w", path, err)
		}
	})
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	tab, cancel := chromedp.NewContext(shared.ctx)
	t.Cleanup(cancel)
	return tab
}

// meteredFlow is a flow that runs until stopped: readings of four metrics, scaled and
// filtered, keyed by metric (crossing between workers) into a running maximum, formatted
// and written, and counted by metric. It has composite steps, one of several steps, and
// a step fused into the one before.
func meteredFlow() *weir.Dataflow {
	flow := weir.NewDataflow("metered")
	readings := op.Input("readings", flow, demo.Metrics("cpu", "mem", "disk", "net").Interval(2*time.Millisecond))
	scaled := op.Map("scale", readings, func(m demo.Metric) demo.Metric { m.Value /= 100; return m })
	rounded := op.Map("round", scaled, func(m demo.Metric) demo.Metric { m.Value = math.Round(m.Value*100) / 100; return m })
	busy := op.Filter("busy", rounded, func(m demo.Metric) bool { return m.Value > 0.2 })
	byName := op.KeyOn("by_name", busy, func(m demo.Metric) string { return m.Name })
	peaks := op.StatefulMap("peak", byName, func(st *op.State[float64], m demo.Metric) float64 {
		v, _ := st.Get()
		v = max(v, m.Value)
		st.Set(v)
		return v
	})
	lines := op.Map("format", peaks, func(kv weir.KV[float64]) string { return fmt.Sprintf("%s %.2f", kv.Key, kv.Value) })
	op.Output("sink", lines, weirtest.NewSink[string]())
	// A composite of composites, drawn as a group: counts at the end of the stream.
	op.Output("tally_sink", op.CountFinal("tally", busy, func(m demo.Metric) string { return m.Name }), weirtest.NewSink[weir.KV[int]]())
	return flow
}

// urlLogger is a slog handler that hands on the URL of the monitor's web view when the
// run logs it, and drops everything else.
type urlLogger struct {
	slog.Handler
	url chan<- string
}

func (urlLogger) Enabled(context.Context, slog.Level) bool { return true }

func (h urlLogger) Handle(_ context.Context, r slog.Record) error {
	if r.Message == "weir: monitor serving" {
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "url" {
				h.url <- a.Value.String()
			}
			return true
		})
	}
	return nil
}

// freePorts returns n loopback addresses whose ports were free a moment ago.
func freePorts(t *testing.T, n int) []string {
	t.Helper()
	addrs := make([]string, n)
	for i := range addrs {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		addrs[i] = l.Addr().String()
	}
	return addrs
}

// TestBrowser drives the web view in headless Chromium against a running flow: a cluster
// of two processes of two workers each, run in goroutines of the test, each serving its
// own view (run.HTTP, as --http does). In each, the graph shows every step of the plan,
// the input's counter moves, the workers are this process's, and the page says that
// there are two processes. It saves a screenshot of each process's view (screenshot).
func TestBrowser(t *testing.T) {
	path := chromium(t)
	bctx := browser(t, path)
	// A run that stops early ends the browser's waits at once, and the test says why.
	tctx, cancel := context.WithTimeout(bctx, 60*time.Second)
	defer cancel()

	const procs, workers = 2, 2
	ctx, stop := context.WithCancel(context.Background())
	addrs, dir := freePorts(t, procs), t.TempDir()
	urls := make([]string, procs)
	ran := make(chan error, procs)
	var g *flowview.Graph
	for i := range procs {
		flow := meteredFlow()
		if i == 0 {
			var err error
			if g, err = flowview.DescribeFlow(graph.FlowOf(flow)); err != nil {
				t.Fatal(err)
			}
		}
		url := make(chan string, 1)
		go func() {
			err := run.Run(ctx, flow, run.Workers(workers), run.ProcessID(i), run.Addresses(addrs...),
				run.HTTP("127.0.0.1:0"), run.EpochInterval(100*time.Millisecond), run.Recovery(dir),
				run.RecoveryPartitions(2), run.Logger(slog.New(urlLogger{url: url})))
			if err != nil && !errors.Is(err, context.Canceled) {
				err = fmt.Errorf("process %d: %w", i, err)
			} else {
				err = nil
			}
			ran <- err
			cancel()
		}()
		select {
		case urls[i] = <-url:
		case <-tctx.Done():
			t.Fatalf("process %d did not start its monitor", i)
		}
	}
	defer func() {
		stop()
		for range procs {
			if err := <-ran; err != nil {
				t.Errorf("run: %v", err)
			}
		}
	}()

	var ids []string
	for _, s := range g.Steps {
		ids = append(ids, s.ID)
	}
	idsJSON, _ := json.Marshal(ids)
	for i, url := range urls {
		if err := chromedp.Do(tctx, chromedp.Navigate(url), chromedp.WaitVisible("#dag g.node")); err != nil {
			t.Fatalf("process %d: loading the view at %s: %v", i, url, err)
		}

		// Every step of the plan is drawn: as a node of its own, or in the node of the
		// composite step that holds it.
		missing, err := chromedp.Run(tctx, chromedp.Evaluate[[]string](fmt.Sprintf(
			`%s.filter(id => !document.querySelector('#dag g.node[data-step~="' + id + '"]'))`, idsJSON)))
		if err != nil || len(missing) > 0 {
			t.Errorf("process %d: steps not drawn: %v (%v)", i, missing, err)
		}
		// And the user's names for them are what the graph says.
		text, err := chromedp.Run(tctx, chromedp.TextContent("#dag"))
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"readings", "scale", "round", "busy", "by_name", "peak", "format", "sink",
			"tally", "init_count", "pre_reduce", "fold_final", "tally_sink", "by key"} {
			if !strings.Contains(text, name) {
				t.Errorf("process %d: the graph does not show %q: %q", i, name, text)
			}
		}

		// The input's counter moves as the flow runs.
		counter := `document.querySelector('#dag g.node[data-step~="metered.readings"] .total').textContent`
		first, err := chromedp.Run(tctx, chromedp.Poll[string](counter+` !== "0 items" && `+counter,
			chromedp.WithPollingInterval(50*time.Millisecond)))
		if err != nil {
			t.Fatalf("process %d: the input's counter never left 0: %v", i, err)
		}
		moved, err := chromedp.Run(tctx, chromedp.Poll[string](fmt.Sprintf(`%s !== %q && %s`, counter, first, counter),
			chromedp.WithPollingInterval(50*time.Millisecond)))
		if err != nil {
			t.Fatalf("process %d: the input's counter stayed at %q: %v", i, first, err)
		}
		t.Logf("process %d: the input's counter went from %q to %q", i, first, moved)

		// The workers listed are this process's, each with its epochs committed, the
		// history of its writes to the store, the bytes it sent to the other process and
		// its lowest credit, and the page says whose they are.
		rows := fmt.Sprintf(`["w%d","w%d"]`, i*workers, i*workers+1)
		if _, err := chromedp.Run(tctx, chromedp.Poll[bool](
			`JSON.stringify([...document.querySelectorAll('#workers tbody tr')].map(tr => tr.cells[0].textContent)) === '`+rows+`' && `+
				`[...document.querySelectorAll('#workers tbody tr')].every(tr => Number(tr.cells[2].textContent.replace(/,/g, '')) > 0 && `+
				`tr.querySelector('td.snap').textContent.startsWith('epoch ') && tr.querySelectorAll('svg.bars rect').length >= 3 && `+
				`/^[\d.]+ (B|KiB|MiB|GiB)\/s · [\d.]+ (B|KiB|MiB|GiB)$/.test(tr.querySelector('td.peers').textContent) && `+
				`/^[\d.]+ (B|KiB|MiB|GiB)$/.test(tr.querySelector('td.credit').textContent))`,
			chromedp.WithPollingInterval(100*time.Millisecond))); err != nil {
			t.Errorf("process %d: the workers %s with their committed epochs and snapshots are not shown: %v", i, rows, err)
		}
		where, err := chromedp.Run(tctx, chromedp.TextContent("#where"))
		if want := fmt.Sprintf("process %d of 2 · workers %d, %d of 4", i, i*workers, i*workers+1); err != nil || where != want {
			t.Errorf("process %d: the header says %q (%v), want %q", i, where, err, want)
		}
		note, err := chromedp.Run(tctx, chromedp.TextContent("#processes"))
		if err != nil || !strings.Contains(note, "2 processes run this flow") {
			t.Errorf("process %d: the note on processes says %q (%v)", i, note, err)
		}

		if i == 0 {
			// A click on a group's title folds it into one node that stands for all its
			// steps; a click on that node unfolds it.
			const group = `#dag g.group[data-scope="metered.tally"]`
			const folded = `#dag g.node[data-step~="metered.tally.init_count.flat_map_batch"][data-step~="metered.tally.sum.pre_reduce"]`
			err := chromedp.Do(tctx, chromedp.Click(group+" > text"), chromedp.WaitVisible(folded))
			label := ""
			if err == nil {
				label, err = chromedp.Run(tctx, chromedp.TextContent(folded+" .kind"))
			}
			if err != nil || label != "3 steps (folded)" {
				t.Errorf("folding the group tally: %q, %v", label, err)
			}
			if err := chromedp.Do(tctx, chromedp.Click(folded), chromedp.WaitVisible(group)); err != nil {
				t.Errorf("unfolding the group tally: %v", err)
			}

		}
		screenshot(t, tctx, i)
	}
}

// screenshot saves the page of process i as a PNG: process 0's at $WEIR_SCREENSHOT, or
// web.png in the test's artifact directory, and the others' beside it, named
// web-process1.png and so on.
func screenshot(t *testing.T, ctx context.Context, i int) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	out := os.Getenv("WEIR_SCREENSHOT")
	if out == "" {
		out = filepath.Join(t.ArtifactDir(), "web.png")
	}
	if i > 0 {
		ext := filepath.Ext(out)
		out = fmt.Sprintf("%s-process%d%s", strings.TrimSuffix(out, ext), i, ext)
	}
	if err := os.WriteFile(out, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", out)
}

// failedRun is the figures of a run that failed after 10 s, its one input held back by
// backpressure for 8 of them and still 4096 bytes from the end of its file.
type failedRun struct{ started time.Time }

func (f failedRun) Read() engine.Status {
	return engine.Status{Flow: "f", Processes: 1, Workers: []int{0}, Started: f.started, Ended: f.started.Add(10 * time.Second),
		Err: "weir: step f.out: disk full", Errors: []engine.ErrorRecord{{Step: "f.out", Error: "weir: step f.out: disk full", At: f.started.Add(10 * time.Second)}},
		Steps: []engine.StepStatus{
			{ID: "f.in", Kind: "input", Workers: []engine.StepWorker{{Worker: 0, Out: 5000, Lag: []engine.PartitionLag{{Partition: "in.txt", Behind: 4096}}}}},
			{ID: "f.out", Kind: "output", Workers: []engine.StepWorker{{Worker: 0, In: 5000}}},
		},
		WorkerStatus: []engine.WorkerStatus{{Worker: 0, Epoch: 3, Committed: 2, Backpressure: 8 * time.Second}},
	}
}

// TestBrowserFigures checks the figures a healthy run does not show: an input held back
// by backpressure, in colour; a source's lag; a failed run's error.
func TestBrowserFigures(t *testing.T) {
	path := chromium(t)
	g := &flowview.Graph{Version: flowview.Version, Flow: "f", Scopes: []flowview.Scope{},
		Steps: []flowview.Step{{ID: "f.in", Name: "in", Scope: "f", Kind: "input", Outputs: 1},
			{ID: "f.out", Name: "out", Scope: "f", Kind: "output", Inputs: 1}},
		Edges: []flowview.Edge{{From: "f.in", To: "f.out", Exchange: flowview.Forward}}}
	h, err := web.New(g, failedRun{started: time.Now().Add(-time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	defer h.Close()
	ctx, cancel := context.WithTimeout(browser(t, path), 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL), chromedp.WaitVisible("#dag g.node"),
		chromedp.Poll[chromedp.Void](`document.getElementById('state').textContent === 'failed'`)); err != nil {
		t.Fatalf("loading the view: %v", err)
	}
	type figures struct {
		Held, Fill, Quiet, Lag, Error, Worker, Uptime string
	}
	got, err := chromedp.Run(ctx, chromedp.Evaluate[figures](`({
		held: document.querySelector('#dag g.node[data-step~="f.in"] .share').textContent,
		fill: document.querySelector('#dag g.node[data-step~="f.in"] rect').getAttribute('fill'),
		quiet: document.querySelector('#dag g.node[data-step~="f.out"] rect').getAttribute('fill'),
		lag: [...document.querySelectorAll('#lag tbody td')].map(td => td.textContent).join(' | '),
		error: document.getElementById('errors').textContent,
		worker: [...document.querySelectorAll('#workers tbody td')].map(td => td.textContent).slice(0, 6).join(' | '),
		uptime: document.getElementById('uptime').textContent,
	})`))
	if err != nil {
		t.Fatal(err)
	}
	want := figures{
		Held:   "held back 80%",
		Fill:   "rgb(237,124,89)", // 0.8: three fifths of the way from amber to red
		Quiet:  "rgb(232,245,236)",
		Lag:    "f.in | in.txt | w0 | 4,096",
		Worker: "w0 | 3 | 2 | 5,000 | 5,000 | 80%",
		Uptime: "ran for 10 s",
	}
	if !strings.Contains(got.Error, "weir: step f.out: disk full") {
		t.Errorf("errors: %q", got.Error)
	}
	got.Error = ""
	if got != want {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

// countingRun is a running flow whose input has read one more item at each Read.
type countingRun struct {
	started time.Time
	reads   atomic.Int64
}

func (c *countingRun) Read() engine.Status {
	n := c.reads.Add(1)
	return engine.Status{Flow: "f", Processes: 1, Workers: []int{0}, Running: true, Started: c.started,
		Steps: []engine.StepStatus{
			{ID: "f.in", Kind: "input", Workers: []engine.StepWorker{{Worker: 0, Out: n}}},
			{ID: "f.out", Kind: "output", Workers: []engine.StepWorker{{Worker: 0, In: n}}},
		},
		WorkerStatus: []engine.WorkerStatus{{Worker: 0, Epoch: 1}},
	}
}

// TestBrowserPolling checks that a browser without EventSource polls /api/status and
// still sees the figures move.
func TestBrowserPolling(t *testing.T) {
	path := chromium(t)
	g := &flowview.Graph{Version: flowview.Version, Flow: "f", Scopes: []flowview.Scope{},
		Steps: []flowview.Step{{ID: "f.in", Name: "in", Scope: "f", Kind: "input", Outputs: 1},
			{ID: "f.out", Name: "out", Scope: "f", Kind: "output", Inputs: 1}},
		Edges: []flowview.Edge{{From: "f.in", To: "f.out", Exchange: flowview.Forward}}}
	h, err := web.New(g, &countingRun{started: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	asked := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		asked[r.URL.Path]++
		mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	defer srv.Close()
	defer h.Close()
	ctx, cancel := context.WithTimeout(browser(t, path), 30*time.Second)
	defer cancel()
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument,
		page.AddScriptToEvaluateOnNewDocumentParams{Source: "delete window.EventSource;"}); err != nil {
		t.Fatal(err)
	}
	counter := `document.querySelector('#dag g.node[data-step~="f.in"] .total').textContent`
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL), chromedp.WaitVisible("#dag g.node"),
		chromedp.Poll[chromedp.Void](counter+` === "3 items"`, chromedp.WithPollingInterval(50*time.Millisecond))); err != nil {
		t.Fatalf("the counter did not reach 3 by polling: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if asked["/api/events"] != 0 || asked["/api/status"] < 3 {
		t.Errorf("asked %v: want /api/status polled and no /api/events", asked)
	}
}
