package web

import (
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"sync"
	"time"

	"github.com/weirflow/weir/internal/engine"
	"github.com/weirflow/weir/internal/flowview"
)

//go:embed static
var static embed.FS

// Stats is what the view reads a run's figures from: *engine.Stats, or a test's own.
type Stats interface {
	Read() engine.Status
}

// Handler serves the web view and its API for one run. It is safe for concurrent use.
type Handler struct {
	mux      *http.ServeMux
	graph    []byte // /api/dataflow's JSON, made once: the plan does not change
	stats    Stats
	rates    rater
	interval time.Duration
	now      func() time.Time
	done     chan struct{} // closed by Close: the event streams end
	closing  sync.Once
}

// Option sets one of New's settings.
type Option func(*Handler)

// Interval sets how often /api/events sends a status, overriding the default of one
// second.
func Interval(d time.Duration) Option {
	return func(h *Handler) {
		if d > 0 {
			h.interval = d
		}
	}
}

// RateWindow sets the window over which rates and shares of time are computed,
// overriding the default of five seconds: long enough to smooth a flow's epochs and
// bursts, short enough that a stall shows within it.
func RateWindow(d time.Duration) Option {
	return func(h *Handler) {
		if d > 0 {
			h.rates.window = d
		}
	}
}

// New returns the handler of the view of the run that graph describes and stats reads.
// It serves these paths (under a prefix, through http.StripPrefix: the page's own links
// are relative):
//
//	/               the web view (its files are embedded: nothing else is needed)
//	/api/dataflow   the planned graph, flowview's JSON
//	/api/status     the run's figures now (Status)
//	/api/events     the same figures as server-sent events, one "status" event a second
func New(graph *flowview.Graph, stats Stats, opts ...Option) (*Handler, error) {
	g, err := json.Marshal(graph)
	if err != nil {
		return nil, fmt.Errorf("weir: monitor: dataflow: %w", err)
	}
	h := &Handler{mux: http.NewServeMux(), graph: g, stats: stats, interval: time.Second, now: time.Now,
		done: make(chan struct{})}
	h.rates.window = 5 * time.Second
	for _, o := range opts {
		o(h)
	}
	files, err := fs.Sub(static, "static")
	if err != nil {
		return nil, err
	}
	h.mux.Handle("GET /", http.FileServerFS(files))
	h.mux.HandleFunc("GET /api/dataflow", h.dataflow)
	h.mux.HandleFunc("GET /api/status", h.status)
	h.mux.HandleFunc("GET /api/events", h.events)
	return h, nil
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// Close ends the event streams, each after one last status, so that a server shutting
// down (http.Server.Shutdown waits for its requests) need not wait for the viewers to go.
// Requests after Close still get an answer; an event stream gets one event.
func (h *Handler) Close() { h.closing.Do(func() { close(h.done) }) }

// Status returns the run's figures now, as /api/status serves them.
func (h *Handler) Status() Status {
	return h.rates.status(h.stats.Read(), h.now())
}

func (h *Handler) dataflow(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Write(h.graph)
}

func (h *Handler) status(w http.ResponseWriter, r *http.Request) {
	b, err := json.Marshal(h.Status())
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(b)
}

// events streams a status every interval until the client goes. Server-sent events
// rather than polling: one request per viewer instead of one a second, and the browser's
// EventSource reconnects by itself when the connection drops. A client that cannot keep
// a connection open polls /api/status, which is the same document.
func (h *Handler) events(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	// The stream outlives any write timeout the server sets for ordinary requests.
	if err := rc.SetWriteDeadline(time.Time{}); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no") // a proxy in front must not hold events back
	if _, err := fmt.Fprintf(w, "retry: %d\n\n", (2 * h.interval).Milliseconds()); err != nil {
		return
	}
	t := time.NewTicker(h.interval)
	defer t.Stop()
	for {
		b, err := json.Marshal(h.Status())
		if err != nil {
			return
		}
		if _, err := fmt.Fprintf(w, "event: status\ndata: %s\n\n", b); err != nil {
			return
		}
		if err := rc.Flush(); err != nil {
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-h.done:
			return
		case <-t.C:
		}
	}
}
