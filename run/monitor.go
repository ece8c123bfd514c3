package run

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/weirflow/weir/internal/engine"
	"github.com/weirflow/weir/internal/flowview"
	"github.com/weirflow/weir/internal/monitor"
	"github.com/weirflow/weir/internal/monitor/web"
	"github.com/weirflow/weir/internal/plan"
)

// monitorGrace is how long a run's end waits for the monitor's requests under way (a
// last scrape) before it closes their connections.
const monitorGrace = 2 * time.Second

// startMonitor starts the HTTP server of cfg.httpAddr for the run of p (metrics, and the
// web view with its API at /), and returns the
// context that makes the engine publish its figures to it and the function that stops it.
// Without an address it does nothing.
func startMonitor(ctx context.Context, cfg config, p *plan.Plan) (context.Context, func(), error) {
	if cfg.httpAddr == "" {
		return ctx, func() {}, nil
	}
	logger := cfg.logger
	if logger == nil {
		logger = slog.Default()
	}
	stats := engine.NewStats()
	srv := monitor.New(monitor.Config{Stats: stats, Plan: p, Process: cfg.processID, Logger: logger})
	view, err := web.New(flowview.Describe(p), stats)
	if err != nil {
		return ctx, nil, err
	}
	srv.Handle("/", view)
	srv.OnClose(view.Close)
	if err := srv.Start(monitorAddr(cfg)); err != nil {
		return ctx, nil, fmt.Errorf("%w (--http, run.HTTP)", err)
	}
	stop := func() {
		sctx, cancel := context.WithTimeout(context.Background(), monitorGrace)
		defer cancel()
		if err := srv.Close(sctx); err != nil {
			logger.Warn("weir: monitor: stopping", slog.String("error", err.Error()))
		}
	}
	return engine.WithStats(ctx, stats), stop, nil
}

// monitorAddr is the address this process serves: the one given, except that the
// processes of a local cluster (-p N), which share the flag, each serve the next port:
// process i its port + i.
func monitorAddr(cfg config) string {
	if os.Getenv(launchedEnv) == "" {
		return cfg.httpAddr
	}
	host, port, err := net.SplitHostPort(cfg.httpAddr)
	if err != nil {
		return cfg.httpAddr // validated already: it cannot fail
	}
	if n, err := strconv.Atoi(port); err == nil && n > 0 {
		return net.JoinHostPort(host, strconv.Itoa(n+cfg.processID))
	}
	return cfg.httpAddr
}
