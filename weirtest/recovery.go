package weirtest

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/recovery"
	"github.com/weirflow/weir/run"
)

// Recovery is a recovery directory made for one test, on which a flow is run again and
// again as a user's job is restarted: each run resumes from the snapshots of the runs
// before it. It is the real SQLite store that run.Recovery uses, so a test may also
// damage its files, inspect it with package recovery, or copy it.
type Recovery struct {
	dir string
}

// NewRecovery makes a recovery directory of the given number of partitions (as
// recovery.Init does) inside t.TempDir, so it is removed when the test ends. It fails the
// test if the directory cannot be made.
func NewRecovery(t testing.TB, partitions int) *Recovery {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "recovery")
	if err := recovery.Init(dir, partitions); err != nil {
		t.Fatal(err)
	}
	return &Recovery{dir: dir}
}

// Dir returns the recovery directory, for run.Recovery or the functions of package
// recovery.
func (r *Recovery) Dir() string { return r.dir }

// Options returns the run options that Run uses, followed by opts: workers workers, an
// epoch interval of 0 and recovery to Dir. Use them to call run.Run yourself, for example
// to check the error that a damaged directory gives:
//
//	err := run.Run(ctx, flow, rec.Options(1)...)
//
// An epoch interval of 0 closes, and snapshots, an epoch after every round of reads, so
// that where a run stops and resumes depends only on the script of its sources, not on
// timing. opts come last, so they override these settings; run.EpochInterval(time.Hour),
// for example, makes a run that takes no snapshot before it aborts.
func (r *Recovery) Options(workers int, opts ...run.Option) []run.Option {
	return append([]run.Option{run.Workers(workers), run.EpochInterval(0), run.Recovery(r.dir)}, opts...)
}

// Run runs flow with workers workers on the recovery directory, resuming from whatever
// earlier runs left there, and fails the test if the run returns an error. See Options for
// the settings it uses; opts override them. The run's logs (which say the epoch each run
// resumes from) go to t.Output, so they show with go test -v or when the test fails,
// overriding the default of slog.Default().
//
// A run stopped by a Source's Abort marker returns no error, so the next Run of the same
// flow is the restart after a crash. With one worker, every epoch a run closed before an
// Abort is in the directory, and the next run resumes right after it. With several, a
// worker may not have committed the last epochs when the abort stops it, and the next run
// replays them (outputs are at-least-once): put a Pause before the Abort and run the test
// inside testing/synctest, so that every worker is idle, with everything committed, when
// the Abort is reached.
func (r *Recovery) Run(t testing.TB, flow *weir.Dataflow, workers int, opts ...run.Option) {
	t.Helper()
	logs := run.Logger(slog.New(slog.NewTextHandler(t.Output(), nil)))
	if err := run.Run(context.Background(), flow, r.Options(workers, append([]run.Option{logs}, opts...)...)...); err != nil {
		t.Fatal(err)
	}
}
