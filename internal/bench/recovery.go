package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/internal/state/sqlitestore"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/recovery"
	"github.com/weirflow/weir/run"
)

// The recovery paths (issue 4) measure what snapshotting costs a keyed running aggregate,
// and how long resuming a large state takes.
const (
	// AggKeys is the number of keys of the running aggregate: item i adds i to the sum
	// of key i%AggKeys. Every key is touched in every epoch, so every snapshot writes
	// them all: the most a snapshot of this state can cost.
	AggKeys = 100_000
	// AggEvents is the number of items the report runs the aggregate with: enough for
	// several seconds, so several snapshots a second apart.
	AggEvents = 30_000_000
	// AggInterval is the epoch (and so snapshot) interval of both aggregate paths.
	AggInterval = time.Second
	// ResumeKeys is the number of keys of state the resume path resumes.
	ResumeKeys = 1_000_000
	// RecoveryPartitions is the number of partitions of the recovery directories the
	// paths make.
	RecoveryPartitions = 4
)

var aggKeys = func() []string {
	ks := make([]string, AggKeys)
	for i := range ks {
		ks[i] = "agg-" + strconv.Itoa(i)
	}
	return ks
}()

var (
	aggKey = func(x int) string { return aggKeys[x%AggKeys] }
	runSum = func(st *op.State[int], v int) int {
		s, _ := st.Get()
		s += v
		st.Set(s)
		return s
	}
)

// Aggregate runs a running sum per key (op.StatefulMap) over the ints 0 to n-1, item i
// keyed by i%AggKeys, on one worker with epochs of AggInterval, snapshotting to the
// recovery directory dir when it is not empty. It returns the sum of every running sum
// emitted.
func Aggregate(ctx context.Context, n int, dir string) (int, error) {
	sum, _, err := AggregateTimed(ctx, n, dir)
	return sum, err
}

// AggregateTimed is Aggregate that also returns when the last running sum reached the
// sink: what follows it until the run returns (the last commit, collection) is the cost
// of stopping, not of throughput.
func AggregateTimed(ctx context.Context, n int, dir string) (int, time.Time, error) {
	flow := weir.NewDataflow("aggregate")
	s := op.KeyOn("key", op.Input("ints", flow, NewInts(n, 1)), aggKey)
	sum := CountSum()
	op.Output("sum", op.StatefulMap("running_sum", s, runSum), sum)
	opts := []run.Option{run.EpochInterval(AggInterval)}
	if dir != "" {
		opts = append(opts, run.Recovery(dir))
	}
	if err := run.Run(ctx, flow, opts...); err != nil {
		return 0, time.Time{}, err
	}
	total, items := sum.Total()
	if items != n {
		return total, time.Time{}, fmt.Errorf("weir: bench aggregate: %d sums, want %d", items, n)
	}
	return total, sum.Last(), nil
}

// AggregateLoop is the result of Aggregate computed by a loop over a slice of sums.
func AggregateLoop(n int) int {
	sums := make([]int, min(n, AggKeys))
	total := 0
	for i := range n {
		sums[i%AggKeys] += i
		total += sums[i%AggKeys]
	}
	return total
}

// AggregateRecovery is Aggregate snapshotting to a fresh recovery directory of
// RecoveryPartitions partitions, made in a temporary directory and removed after.
func AggregateRecovery(ctx context.Context, n int) (int, error) {
	sum, _, err := AggregateRecoveryTimed(ctx, n)
	return sum, err
}

// AggregateRecoveryTimed is AggregateTimed on a fresh recovery directory, as
// AggregateRecovery.
func AggregateRecoveryTimed(ctx context.Context, n int) (int, time.Time, error) {
	dir, remove, err := NewRecoveryDir()
	if err != nil {
		return 0, time.Time{}, err
	}
	defer remove()
	return AggregateTimed(ctx, n, dir)
}

// NewRecoveryDir makes a recovery directory of RecoveryPartitions partitions in a
// temporary directory, and returns it with the function that removes it. The recovery
// rows time a run on a directory made before their clock starts and removed after it
// stops: making the partitions (their files and syncs) is done once per directory, not
// per run, and is no part of what snapshots cost.
func NewRecoveryDir() (dir string, remove func(), err error) {
	tmp, err := os.MkdirTemp("", "weir-bench-")
	if err != nil {
		return "", nil, err
	}
	remove = func() { os.RemoveAll(tmp) }
	dir = filepath.Join(tmp, "recovery")
	if err := recovery.Init(dir, RecoveryPartitions); err != nil {
		remove()
		return "", nil, err
	}
	return dir, remove, nil
}

// resumeFlow is a running sum over the ints 0 to n-1, each its own key, that calls first
// when the mapper sees the int n0: the flow of the resume path.
func resumeFlow(n, n0 int, first func()) *weir.Dataflow {
	flow := weir.NewDataflow("resume")
	s := op.KeyOn("key", op.Input("ints", flow, NewInts(n, 1)), strconv.Itoa)
	sums := op.StatefulMap("running_sum", s, func(st *op.State[int], v int) int {
		if v == n0 {
			first()
		}
		return runSum(st, v)
	})
	op.Output("sum", sums, CountSum())
	return flow
}

// ResumeTimes are the timings of one resume of a recovery directory.
type ResumeTimes struct {
	// Store is the time to open the directory, begin an execution and load every key's
	// state through the store alone (sqlitestore.Open, Begin, Load), without decoding.
	Store time.Duration
	// FirstItem is the time from run.Run's call to the first new item reaching the
	// stateful step, in a run resuming every key.
	FirstItem time.Duration
	// Run is the whole of that run, which also processes the one new item and ends.
	Run time.Duration
	// Keys is the number of keys Load returned.
	Keys int
}

// BuildResumeStore makes the recovery directory dir (which must not exist) holding the
// state of keys keys: a run of the resume flow over the ints 0 to keys-1 to the end.
func BuildResumeStore(ctx context.Context, dir string, keys int) error {
	if err := recovery.Init(dir, RecoveryPartitions); err != nil {
		return err
	}
	return run.Run(ctx, resumeFlow(keys, -1, func() {}), run.EpochInterval(AggInterval), run.Recovery(dir))
}

// Resume times resuming dir, made by BuildResumeStore with keys keys: first through the
// store alone, then by a run that continues the flow with one new item. Each call adds an
// item, so a directory can be resumed again and again.
func Resume(ctx context.Context, dir string, keys int) (ResumeTimes, error) {
	var t ResumeTimes
	start := time.Now()
	st, err := sqlitestore.Open(dir)
	if err != nil {
		return t, err
	}
	if _, err := st.Begin(1); err != nil {
		st.Close()
		return t, err
	}
	err = st.Load(func(step, key string, _ []byte) error {
		if step == "resume.running_sum.stateful_flat_map.stateful.stateful_batch" {
			t.Keys++
		}
		return nil
	})
	t.Store = time.Since(start)
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return t, err
	}
	if t.Keys < keys {
		return t, fmt.Errorf("weir: bench resume: %d keys loaded, want at least %d", t.Keys, keys)
	}
	next := t.Keys // each key is an int read: the source's resume position, its first new int
	var first time.Time
	start = time.Now()
	err = run.Run(ctx, resumeFlow(next+1, next, func() { first = time.Now() }), run.EpochInterval(AggInterval), run.Recovery(dir))
	t.Run = time.Since(start)
	if err != nil {
		return t, err
	}
	if first.IsZero() {
		return t, fmt.Errorf("weir: bench resume: the new item %d was not processed", next)
	}
	t.FirstItem = first.Sub(start)
	return t, nil
}

// ProcessCPU is the CPU time the process has used (user and system), 0 where it cannot be
// read: what a recovery path costs, which on a busy machine tells more than its wall time.
func ProcessCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
