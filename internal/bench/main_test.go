package bench_test

import (
	"log/slog"
	"os"
	"testing"
)

// TestMain keeps the runs' info lines (a start and an end per run, so per benchmark
// iteration) out of the tests' and benchmarks' output: only warnings and errors matter
// here, as in the report (bench/cmd/report).
func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	os.Exit(m.Run())
}
