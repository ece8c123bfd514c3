package monitor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/weirflow/weir/internal/engine"
	"github.com/weirflow/weir/internal/plan"
)

// Config is what a Server serves.
type Config struct {
	// Stats is the run's figures; it must be given to the run (engine.WithStats).
	Stats *engine.Stats
	// Plan is the planned dataflow, for the handlers that describe it; it may be nil.
	Plan *plan.Plan
	// Process is this process's index in its cluster (0 alone), the label process of
	// every metric.
	Process int
	// Logger gets the line naming the address served, and the server's errors; nil
	// takes slog.Default().
	Logger *slog.Logger
}

// Server is an HTTP server of one process's figures. Its mux serves /metrics; other
// handlers are added with Handle before Start.
type Server struct {
	cfg  Config
	mux  *http.ServeMux
	srv  *http.Server
	ln   net.Listener
	done chan struct{}
	err  error // of Serve, once done is closed

	closers []func() // run by Close before the server shuts down
}

// New returns a server of cfg's figures, not yet listening.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Server{cfg: cfg, mux: http.NewServeMux()}
	s.mux.Handle("GET /metrics", metricsHandler(cfg.Stats, cfg.Process))
	return s
}

// metricsHandler serves Prometheus's text format: weir's metrics, read from stats at
// each scrape, and the Go runtime's and the process's, all labelled with the process.
func metricsHandler(stats *engine.Stats, process int) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(newCollector(stats, process))
	// The runtime's and the process's collectors take no constant labels: they get the
	// process's by wrapping, which describes each of their few metrics at every scrape.
	wrapped := prometheus.WrapRegistererWith(prometheus.Labels{"process": strconv.Itoa(process)}, reg)
	wrapped.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// Compressed by gzipped (gzip.go), not by promhttp, whose writers do not outlive a
	// garbage collection.
	return gzipped(promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError,
		DisableCompression: true}))
}

// Handle adds a handler to the server's mux (http.ServeMux's patterns: "GET /api/status").
// It must be called before Start.
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// OnClose registers fn to run when Close begins, before the server waits for the requests
// under way: a handler that streams (server-sent events) ends its streams there, or
// Close would wait for them.
func (s *Server) OnClose(fn func()) { s.closers = append(s.closers, fn) }

// Stats returns the figures the server serves.
func (s *Server) Stats() *engine.Stats { return s.cfg.Stats }

// Plan returns the planned dataflow, or nil.
func (s *Server) Plan() *plan.Plan { return s.cfg.Plan }

// Process returns this process's index in its cluster.
func (s *Server) Process() int { return s.cfg.Process }

// Handler returns the server's mux, for tests that serve it themselves.
func (s *Server) Handler() http.Handler { return s.mux }

// Start listens on addr (host:port; port 0 picks a free one) and serves in the
// background until Close. The address it serves is logged, and returned by Addr.
func (s *Server) Start(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("weir: monitor: %w", err)
	}
	s.ln, s.done = ln, make(chan struct{})
	s.srv = &http.Server{Handler: s.mux, ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(s.cfg.Logger.Handler(), slog.LevelWarn)}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			s.err = err
		}
	}()
	s.cfg.Logger.Info("weir: monitor serving", slog.String("url", "http://"+s.Addr()+"/"),
		slog.String("metrics", "http://"+s.Addr()+"/metrics"), slog.Int("process", s.cfg.Process))
	return nil
}

// Addr returns the address the server listens on, once started.
func (s *Server) Addr() string {
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Close stops the server: it waits, up to ctx, for the requests under way (a last
// scrape), then closes what is left.
func (s *Server) Close(ctx context.Context) error {
	if s.srv == nil {
		return nil
	}
	for _, fn := range s.closers {
		fn()
	}
	err := s.srv.Shutdown(ctx)
	if err != nil {
		err = errors.Join(err, s.srv.Close())
	}
	<-s.done
	if err == nil {
		err = s.err
	}
	if err != nil {
		return fmt.Errorf("weir: monitor: %w", err)
	}
	return nil
}
