package web

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/weirflow/weir/internal/engine"
	"github.com/weirflow/weir/internal/flowview"
)

func testGraph() *flowview.Graph {
	return &flowview.Graph{Version: flowview.Version, Flow: "f", Scopes: []flowview.Scope{},
		Steps: []flowview.Step{{ID: "f.in", Name: "in", Scope: "f", Kind: "input", Outputs: 1},
			{ID: "f.out", Name: "out", Scope: "f", Kind: "output", Inputs: 1}},
		Edges: []flowview.Edge{{From: "f.in", To: "f.out", Exchange: flowview.ByPartition}}}
}

func newServer(t *testing.T, stats Stats, opts ...Option) (*Handler, *httptest.Server) {
	t.Helper()
	h, err := New(testGraph(), stats, opts...)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(func() { h.Close(); srv.Close() })
	return h, srv
}

func get(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// TestPage checks that the page and its files come from the binary, and that the page
// loads nothing from anywhere else.
func TestPage(t *testing.T) {
	_, srv := newServer(t, &fakeStats{})
	for _, c := range []struct{ path, ctype, has string }{
		{"/", "text/html", `<script src="app.js">`},
		{"/app.js", "text/javascript", "api/events"},
		{"/style.css", "text/css", "--bp100"},
	} {
		resp, body := get(t, srv.URL+c.path)
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), c.ctype) || !strings.Contains(body, c.has) {
			t.Errorf("GET %s: %s, %s, %d bytes", c.path, resp.Status, resp.Header.Get("Content-Type"), len(body))
		}
		for _, far := range []string{"http://", "https://", "//cdn"} {
			if i := strings.Index(body, far); i >= 0 && !strings.HasPrefix(body[i:], "http://www.w3.org/2000/svg") {
				t.Errorf("GET %s: refers to another host: %q", c.path, body[i:min(len(body), i+40)])
			}
		}
	}
	if resp, _ := get(t, srv.URL+"/api/nothing"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /api/nothing: %s", resp.Status)
	}
}

func TestDataflow(t *testing.T) {
	_, srv := newServer(t, &fakeStats{})
	resp, body := get(t, srv.URL+"/api/dataflow")
	var g flowview.Graph
	if err := json.Unmarshal([]byte(body), &g); err != nil || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET /api/dataflow: %s, %v: %s", resp.Header.Get("Content-Type"), err, body)
	}
	if g.Flow != "f" || len(g.Steps) != 2 || g.Edges[0].Exchange != flowview.ByPartition {
		t.Errorf("GET /api/dataflow: %+v", g)
	}
}

func TestStatusEndpoint(t *testing.T) {
	stats := &fakeStats{st: twoSteps()}
	stats.set(func(st *engine.Status) { st.Steps[0].Workers[0].Out = 7 })
	h, srv := newServer(t, stats)
	clock := &fakeClock{t: t0.Add(time.Second)}
	h.now = clock.now
	resp, body := get(t, srv.URL+"/api/status")
	var st Status
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatalf("GET /api/status: %v: %s", err, body)
	}
	if resp.Header.Get("Cache-Control") != "no-store" || st.Version != Version || st.Flow != "f" || st.State != Running ||
		st.Steps[0].Out != 7 || st.Steps[0].OutPerSec != 7 || !st.Time.Equal(t0.Add(time.Second)) {
		t.Errorf("GET /api/status: %s", body)
	}
}

// TestEvents checks that /api/events streams a status every interval, each with the
// figures of its moment, and that Close ends the stream.
func TestEvents(t *testing.T) {
	stats := &fakeStats{st: twoSteps()}
	h, srv := newServer(t, stats, Interval(20*time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/api/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	events := readEvents(resp.Body)
	var last int64 = -1
	for i := range 3 {
		stats.set(func(st *engine.Status) { st.Steps[0].Workers[0].Out = int64(10 * (i + 1)) })
		// Events already on their way carry the figures before the change: wait for it.
		for {
			ev, ok := <-events
			if !ok {
				t.Fatal("stream ended")
			}
			var st Status
			if err := json.Unmarshal([]byte(ev), &st); err != nil {
				t.Fatalf("event %q: %v", ev, err)
			}
			if n := st.Steps[0].Out; n < last {
				t.Fatalf("event %d: %d items after %d", i, n, last)
			} else if last = n; n == int64(10*(i+1)) {
				break
			}
		}
	}
	h.Close()
	for range events {
	}
	if err := ctx.Err(); err != nil {
		t.Fatalf("the stream did not end at Close: %v", err)
	}
}

// readEvents sends the data of each "status" event of an event stream, until it ends.
func readEvents(r io.Reader) <-chan string {
	ch := make(chan string, 100)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(r)
		sc.Buffer(nil, 1<<20)
		name, data := "", ""
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if name == "status" {
					ch <- data
				}
				name, data = "", ""
			case strings.HasPrefix(line, "event: "):
				name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				data += strings.TrimPrefix(line, "data: ")
			}
		}
	}()
	return ch
}

// TestEventsWriteTimeout checks that a stream outlives the server's write timeout.
func TestEventsWriteTimeout(t *testing.T) {
	h, err := New(testGraph(), &fakeStats{st: twoSteps()}, Interval(10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Config.WriteTimeout = 100 * time.Millisecond
	srv.Start()
	defer srv.Close()
	defer h.Close()
	resp, err := http.Get(srv.URL + "/api/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	events := readEvents(resp.Body)
	deadline := time.After(400 * time.Millisecond)
	n := 0
	for {
		select {
		case _, ok := <-events:
			if !ok {
				t.Fatalf("the stream ended after %d events", n)
			}
			n++
			continue
		case <-deadline:
		}
		break
	}
	if n < 10 {
		t.Errorf("%d events in 400 ms at one per 10 ms", n)
	}
}

// TestPrefix checks that the view served under a prefix finds its files and its API
// there: the page's links are relative.
func TestPrefix(t *testing.T) {
	h, err := New(testGraph(), &fakeStats{st: twoSteps()})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	mux := http.NewServeMux()
	mux.Handle("/weir/", http.StripPrefix("/weir", h))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	_, page := get(t, srv.URL+"/weir/")
	for _, ref := range []string{`href="style.css"`, `src="app.js"`} {
		if !strings.Contains(page, ref) {
			t.Errorf("the page does not refer to %s relatively", ref)
		}
	}
	_, js := get(t, srv.URL+"/weir/app.js")
	for _, ref := range []string{`'api/dataflow'`, `'api/events'`, `'api/status'`} {
		if !strings.Contains(js, ref) {
			t.Errorf("the script does not ask for %s relatively", ref)
		}
	}
	for _, path := range []string{"/weir/api/dataflow", "/weir/api/status"} {
		if resp, body := get(t, srv.URL+path); resp.StatusCode != http.StatusOK || !strings.HasPrefix(body, "{") {
			t.Errorf("GET %s: %s: %.40s", path, resp.Status, body)
		}
	}
}
