package run_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/run"
	"github.com/weirflow/weir/source"
	"github.com/weirflow/weir/weirtest"
)

// lines is a partitioned source of generated lines: partitions "p0".."p5", each of n
// lines of words drawn from a small vocabulary, so that the partitions are spread over
// the processes of a cluster and every word crosses to the worker that owns it.
type lines struct{ n int }

func (l lines) Partitions(context.Context) ([]string, error) {
	return []string{"p0", "p1", "p2", "p3", "p4", "p5"}, nil
}

func (l lines) Build(_ context.Context, part source.Part, _ []byte) (source.Partition[string], error) {
	p, err := strconv.Atoi(strings.TrimPrefix(part.Partition, "p"))
	if err != nil {
		return nil, err
	}
	return &linesPart{p: p, n: l.n}, nil
}

type linesPart struct{ p, i, n int }

func (l *linesPart) Next(context.Context) ([]string, error) {
	var out []string
	for ; l.i < l.n && len(out) < 7; l.i++ {
		out = append(out, fmt.Sprintf("w%d w%d p%d", (l.p*31+l.i)%23, l.i%5, l.p))
	}
	if l.i == l.n {
		return out, io.EOF
	}
	return out, nil
}

func (l *linesPart) Snapshot() []byte { return []byte(strconv.Itoa(l.i)) }
func (l *linesPart) Close() error     { return nil }

// clusterFlow counts words (the counts at the end) and keeps a running count per
// partition word (every update, in order: a partition's items stay in its order).
func clusterFlow(counts, running *weirtest.Sink[weir.KV[int]]) *weir.Dataflow {
	flow := weir.NewDataflow("cluster")
	in := op.Input("lines", flow, lines{n: 300})
	words := op.FlatMap("split", in, strings.Fields)
	op.Output("counts", op.CountFinal("count", words, func(w string) string { return w }), counts)
	parts := op.KeyOn("parts", op.Filter("own", words, func(w string) bool { return w[0] == 'p' }), func(w string) string { return w })
	op.Output("running", op.StatefulMap("run", parts, func(st *op.State[int], _ string) int {
		n, _ := st.Get()
		st.Set(n + 1)
		return n + 1
	}), running)
	return flow
}

// freePorts returns n loopback addresses whose ports were free a moment ago.
func freePorts(t *testing.T, n int) []string {
	t.Helper()
	addrs := make([]string, n)
	for i := range addrs {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		addrs[i] = l.Addr().String()
	}
	return addrs
}

// runCluster runs clusterFlow on procs processes of workers each, in goroutines of this
// test, and returns what all the processes' sinks got, sorted.
func runCluster(t *testing.T, procs, workers int) (counts, running []weir.KV[int]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	addrs := freePorts(t, procs)
	errs := make([]error, procs)
	sinks := make([][2]*weirtest.Sink[weir.KV[int]], procs)
	var wg sync.WaitGroup
	for i := range procs {
		sinks[i] = [2]*weirtest.Sink[weir.KV[int]]{weirtest.NewSink[weir.KV[int]](), weirtest.NewSink[weir.KV[int]]()}
		opts := []run.Option{run.Workers(workers), run.EpochInterval(0), run.LogEvery(0),
			run.Logger(slog.New(slog.NewTextHandler(io.Discard, nil)))}
		if procs > 1 {
			opts = append(opts, run.ProcessID(i), run.Addresses(addrs...), run.StartupTimeout(20*time.Second))
		}
		wg.Go(func() { errs[i] = run.Run(ctx, clusterFlow(sinks[i][0], sinks[i][1]), opts...) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("%d x %d: process %d: %v", procs, workers, i, err)
		}
		if procs > 1 && len(sinks[i][0].Items()) == 0 {
			t.Errorf("%d x %d: process %d counted no word: the keys are not spread over the processes", procs, workers, i)
		}
		counts = append(counts, sinks[i][0].Items()...)
		running = append(running, sinks[i][1].Items()...)
	}
	byKey := func(a, b weir.KV[int]) int { return strings.Compare(a.Key, b.Key) }
	slices.SortFunc(counts, byKey)
	slices.SortStableFunc(running, byKey) // each key's updates stay in the order written
	return counts, running
}

// A flow gives the same results on a cluster of processes (run.Run in goroutines, each
// with its ProcessID and the same Addresses) as on one process.
func TestClusterRunsAsOneProcess(t *testing.T) {
	counts, running := runCluster(t, 1, 4)
	if len(counts) != 23+6 || len(running) != 6*300 {
		t.Fatalf("one process: %d counts and %d updates, want %d and %d", len(counts), len(running), 23+6, 6*300)
	}
	for _, layout := range [][2]int{{2, 2}, {2, 1}, {3, 1}} {
		t.Run(fmt.Sprintf("%dx%d", layout[0], layout[1]), func(t *testing.T) {
			c, r := runCluster(t, layout[0], layout[1])
			if !reflect.DeepEqual(c, counts) {
				t.Errorf("counts %v, want %v", c, counts)
			}
			if !reflect.DeepEqual(r, running) {
				t.Errorf("the running counts differ from one process's: %d updates, want %d", len(r), len(running))
			}
		})
	}
}
