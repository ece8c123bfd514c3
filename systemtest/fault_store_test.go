package systemtest

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/internal/engine"
	"github.com/weirflow/weir/internal/graph"
	"github.com/weirflow/weir/internal/plan"
	"github.com/weirflow/weir/internal/state"
)

// slowStore is a recovery directory on a slow disk: every Write (one transaction, made
// durable) takes delay more than the directory's own.
type slowStore struct {
	state.Dir
	delay time.Duration

	mu      sync.Mutex
	writes  int // Writes
	epochs  int // epochs written
	most    int // the most epochs in one Write
	last    []uint64
	written map[int]uint64 // per worker, the frontier after its last Write
}

func (s *slowStore) Write(worker int, epochs []state.Epoch) error {
	time.Sleep(s.delay)
	if err := s.Dir.Write(worker, epochs); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writes++
	s.epochs += len(epochs)
	s.most = max(s.most, len(epochs))
	if s.written == nil {
		s.written = map[int]uint64{}
	}
	s.written[worker] = epochs[len(epochs)-1].Epoch + 1
	return nil
}

// committed is the epoch every worker has written: the last committed.
func (s *slowStore) committed(workers int) uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	least := uint64(0)
	for w := range workers {
		f := s.written[w]
		if f == 0 {
			return 0
		}
		if least == 0 || f < least {
			least = f
		}
	}
	return least - 1
}

// TestSlowStore runs the running sums (the "all" flow's) on 2 workers over a recovery
// directory on a slow disk: each Write takes 150 ms more, three epoch intervals (50 ms).
// The worker does not wait for the disk: the epochs that close while a Write is under way
// go to the store together in the next one (its queue is bounded, 64 MiB of snapshots per
// worker, beyond which the worker waits: the flow slows rather than filling memory). The
// run is stopped mid-way as by Ctrl-C: it stops within a Write or two, with what it
// closed written, and a run resumed on the same slow directory resumes from the epoch
// committed and ends with the running sums the inputs imply, nothing lost or doubled.
func TestSlowStore(t *testing.T) {
	const size, workers, delay = 1500, 2, 150 * time.Millisecond
	tmp := t.TempDir()
	j := &job{t: t, layout: layout{1, workers}, dir: tmp, shared: true} // to read the output
	spec := childSpec{Out: j.outDir(0), Size: size, Batch: 10, Pace: 10 * time.Millisecond}
	flow := weir.NewDataflow("systemtest_slow_store")
	running(flow, spec)
	p, err := plan.New(graph.FlowOf(flow))
	if err != nil {
		t.Fatal(err)
	}
	dirPath := filepath.Join(tmp, "recovery")
	open := func() *slowStore {
		dir, err := state.OpenDir(dirPath, 2)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { dir.Close() })
		return &slowStore{Dir: dir, delay: delay}
	}
	var log bytes.Buffer // read once the run has returned
	cfg := func(s *slowStore) engine.Config {
		return engine.Config{Workers: workers, EpochInterval: 50 * time.Millisecond, Store: s, RecoveryDir: dirPath,
			Logger: slog.New(slog.NewTextHandler(&log, nil))}
	}

	// The first run, stopped a second in, once it has committed.
	s1 := open()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var outcome engine.Outcome
	done := make(chan error, 1)
	began := time.Now()
	go func() { done <- engine.Run(engine.WithOutcome(ctx, &outcome), p, cfg(s1)) }()
	time.Sleep(time.Second)
	cancel()
	stopped := time.Now()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("the stopped run: %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the run on a slow disk did not stop within 10 s")
	}
	took := time.Since(stopped)
	ran := stopped.Sub(began)
	committed := s1.committed(workers)
	t.Logf("stopped after %v, in %v: %d writes of %d epochs (up to %d in one), epoch %d committed, the next run resumes from %d",
		ran.Round(time.Millisecond), took.Round(time.Millisecond), s1.writes, s1.epochs, s1.most, committed, outcome.Resume)
	if committed == 0 {
		t.Fatal("nothing committed in a second: the test says nothing")
	}
	if s1.most < 2 {
		t.Errorf("every write held one epoch: the worker waited for the slow disk rather than going on")
	}
	if took > 3*delay+500*time.Millisecond {
		t.Errorf("the run took %v to stop on a disk whose writes take %v", took, delay)
	}
	if outcome.Resume != committed+1 {
		t.Errorf("the run says the next resumes from epoch %d; its store committed epoch %d", outcome.Resume, committed)
	}
	s1.Dir.Close()

	// The resumed run, to the end, on the same slow disk.
	log.Reset()
	if err := engine.Run(context.Background(), p, cfg(open())); err != nil {
		t.Fatal(err)
	}
	if m := resumeRE.FindStringSubmatch(log.String()); m == nil || m[1] != strconv.FormatUint(committed+1, 10) {
		t.Errorf("the resumed run's start, %q: want it to resume from epoch %d", m, committed+1)
	}
	sameLines(t, "running sums stopped and resumed on a slow disk against the inputs", j.output("running"), expected(size)["running"])
}
