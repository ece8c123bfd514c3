package run_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/run"
	"github.com/weirflow/weir/weirtest"
)

// runProcs runs the flows flow(i) as a cluster of procs processes of workers each, in
// goroutines of this test, with opts(i) after the cluster's options, and returns each
// process's error.
func runProcs(t *testing.T, procs, workers int, flow func(i int) *weir.Dataflow, opts func(i int) []run.Option, logs io.Writer) []error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	addrs := freePorts(t, procs)
	errs := make([]error, procs)
	var wg sync.WaitGroup
	for i := range procs {
		o := []run.Option{run.Workers(workers), run.EpochInterval(0), run.LogEvery(0),
			run.Logger(slog.New(slog.NewTextHandler(io.MultiWriter(logs, t.Output()), nil))),
			run.ProcessID(i), run.Addresses(addrs...), run.StartupTimeout(20 * time.Second)}
		wg.Go(func() { errs[i] = run.Run(ctx, flow(i), append(o, opts(i)...)...) })
	}
	wg.Wait()
	return errs
}

// A cluster that stops (a source aborts) resumes on its recovery directories, one shared
// by every process or one per process, with as many processes or (on a shared one)
// another count, and the counts at the end are those of a run that did not stop.
func TestClusterResumes(t *testing.T) {
	script := func() *weirtest.Source[string] {
		return weirtest.NewSource("a b c", "b c", "c d e").Then("a a").Pause(100*time.Millisecond).Abort().Then("e f", "b").Pause(100 * time.Millisecond).Abort().Then("a f g").EOF()
	}
	want := map[string]int{"a": 4, "b": 3, "c": 3, "d": 1, "e": 2, "f": 2, "g": 1}
	for _, tt := range []struct {
		name       string
		layouts    [][2]int // processes x workers of each execution
		perProcess bool     // a recovery directory per process, else one shared
	}{
		{name: "shared", layouts: [][2]int{{2, 2}, {2, 2}, {2, 2}}},
		{name: "shared rescaled", layouts: [][2]int{{2, 2}, {3, 1}, {2, 1}}},
		{name: "per process", layouts: [][2]int{{2, 1}, {2, 1}, {2, 1}}, perProcess: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			src, out := script(), weirtest.NewSink[weir.KV[int]]()
			// Every process's flow holds the same Source, so that an Abort fires once
			// whichever process reads it, and the same Sink.
			flow := func(int) *weir.Dataflow {
				flow := weir.NewDataflow("resumes")
				words := op.FlatMap("split", op.Input("lines", flow, src), strings.Fields)
				op.Output("counts", op.CountFinal("count", words, func(w string) string { return w }), out)
				return flow
			}
			dir := t.TempDir()
			opts := func(i int) []run.Option {
				d := dir
				if tt.perProcess {
					d = fmt.Sprintf("%s/p%d", dir, i)
				}
				return []run.Option{run.Recovery(d), run.RecoveryPartitions(4)}
			}
			for n, l := range tt.layouts {
				var logs lockedBuffer
				var failed []string
				for i, err := range runProcs(t, l[0], l[1], flow, opts, &logs) {
					if err != nil {
						failed = append(failed, fmt.Sprintf("process %d: %v", i, err))
					}
				}
				if failed != nil {
					t.Fatalf("execution %d (%d x %d):\n%s", n+1, l[0], l[1], strings.Join(failed, "\n"))
				}
				// Every process of a later execution resumes what an earlier one committed,
				// whatever its directory holds: the counts below would be right without
				// recovery too, each execution reading the script again from its start.
				if resumed := strings.Count(logs.String(), "committed by an earlier execution"); n > 0 && resumed != l[0] {
					t.Errorf("execution %d: %d of %d processes resumed an earlier execution's epoch:\n%s", n+1, resumed, l[0], logs.String())
				}
			}
			got := map[string]int{}
			for _, kv := range out.Items() {
				got[kv.Key] += kv.Value
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("counts %v, want %v", got, want)
			}
		})
	}
}

// lockedBuffer is a buffer that the processes of a test's cluster log to at once.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
