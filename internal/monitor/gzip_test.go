package monitor

import (
	"bytes"
	"compress/gzip"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	"github.com/weirflow/weir/internal/engine"
)

// get serves a GET of /metrics with the given Accept-Encoding (none when empty) and
// returns the response and its body, decompressed when it says gzip.
func get(t *testing.T, h http.Handler, accept string) (*http.Response, string) {
	t.Helper()
	req := httptest.NewRequest("GET", "/metrics", nil)
	if accept != "" {
		req.Header.Set("Accept-Encoding", accept)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	resp := rec.Result()
	var body io.Reader = resp.Body
	if resp.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			t.Fatalf("Accept-Encoding %q: %v", accept, err)
		}
		body = zr
	}
	b, err := io.ReadAll(body)
	if err != nil {
		t.Fatalf("Accept-Encoding %q: %v", accept, err)
	}
	return resp, string(b)
}

// /metrics is compressed when the request prefers gzip, as promhttp chose, and is the
// same page either way.
func TestMetricsGzip(t *testing.T) {
	h := New(Config{Stats: engine.NewStats()}).Handler()
	for _, tc := range []struct {
		accept string
		gzip   bool
	}{
		{"", false},
		{"gzip", true},
		{"deflate, gzip;q=0.8", true},
		{"gzip;q=0", false},
		{"gzip, identity", false}, // a tie goes to identity
		{"identity;q=0.5, gzip", true},
		{"*", false},
		{"gzip;q=oops", false},
		{"br", false},
	} {
		resp, body := get(t, h, tc.accept)
		if got := resp.Header.Get("Content-Encoding") == "gzip"; got != tc.gzip {
			t.Errorf("Accept-Encoding %q: compressed %v, want %v", tc.accept, got, tc.gzip)
		}
		if !strings.Contains(body, "weir_workers") || !strings.Contains(body, "go_goroutines") {
			t.Errorf("Accept-Encoding %q: the page lacks weir's or Go's metrics:\n%.300s", tc.accept, body)
		}
		if vary := resp.Header.Values("Vary"); !strings.Contains(strings.Join(vary, ","), "Accept-Encoding") {
			t.Errorf("Accept-Encoding %q: Vary %q does not name Accept-Encoding", tc.accept, vary)
		}
	}
}

// A handler that takes the encoding back before it writes (promhttp does for an error)
// is served as it wrote, and one that writes nothing still sends a valid gzip stream.
func TestGzippedPlainError(t *testing.T) {
	h := gzipped(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Del("Content-Encoding")
		http.Error(w, "gathering failed", http.StatusInternalServerError)
	}))
	resp, body := get(t, h, "gzip")
	if resp.StatusCode != http.StatusInternalServerError || resp.Header.Get("Content-Encoding") != "" ||
		!strings.Contains(body, "gathering failed") {
		t.Errorf("got %d, encoding %q, body %q; want 500, plain, the error",
			resp.StatusCode, resp.Header.Get("Content-Encoding"), body)
	}
	empty := gzipped(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	if _, body := get(t, empty, "gzip"); body != "" {
		t.Errorf("an empty response decompressed to %q", body)
	}
}

// TestScrapeKeepsGzipWriter guards the reuse of gzip writers: a compressed scrape after
// garbage collections (which empty promhttp's pool) allocates far less than a new
// writer's tables (about 1.2 MB at BestSpeed). The process's allocations are counted, so
// it takes the least of five scrapes: one scrape counted 531 KB in a CI run of every
// package at once, against 216-219 KB in 33 runs alone, something else of the process
// allocating meanwhile; a writer made anew would put every one of them above 1.2 MB.
func TestScrapeKeepsGzipWriter(t *testing.T) {
	h := New(Config{Stats: engine.NewStats()}).Handler()
	get(t, h, "gzip") // the first scrape makes the writer
	least := uint64(math.MaxUint64)
	for range 5 {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.GC()
		runtime.ReadMemStats(&before)
		req := httptest.NewRequest("GET", "/metrics", nil)
		req.Header.Set("Accept-Encoding", "gzip")
		h.ServeHTTP(httptest.NewRecorder(), req)
		runtime.ReadMemStats(&after)
		least = min(least, after.TotalAlloc-before.TotalAlloc)
	}
	if least > 500<<10 {
		t.Errorf("a compressed scrape allocated at least %d KB, want under 500 (a new gzip writer is about 1200)", least>>10)
	}
}

// TestGzipBestSpeed guards the level scrapes are compressed at (gzip.go): the body served
// is what gzip.BestSpeed makes of its text, byte for byte, not the default level's.
func TestGzipBestSpeed(t *testing.T) {
	h := New(Config{Stats: engine.NewStats()}).Handler()
	req := httptest.NewRequest("GET", "/metrics", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	served := rec.Body.Bytes()
	zr, err := gzip.NewReader(bytes.NewReader(served))
	if err != nil {
		t.Fatal(err)
	}
	text, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	for _, level := range []int{gzip.BestSpeed, gzip.DefaultCompression} {
		var b bytes.Buffer
		gz, _ := gzip.NewWriterLevel(&b, level)
		gz.Write(text)
		gz.Close()
		if same := bytes.Equal(b.Bytes(), served); same != (level == gzip.BestSpeed) {
			t.Errorf("%d bytes served for %d of text; the same as level %d compresses them: %v", len(served), len(text), level, same)
		}
	}
}
