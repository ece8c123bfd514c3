package run_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/run"
	"github.com/weirflow/weir/sink"
	"github.com/weirflow/weir/weirtest"
)

// txnTable stands for a transactional destination that every process of a test's cluster
// writes to: what a partition prepares stays apart, by epoch, until it commits.
type txnTable struct {
	mu       sync.Mutex
	visible  []string
	prepared map[string]map[uint64][]string // by partition, by epoch
	commits  int                            // Commit calls
}

func (tt *txnTable) Partitions(context.Context) ([]string, error) {
	return []string{"p0", "p1", "p2"}, nil
}

func (tt *txnTable) Build(_ context.Context, p sink.Part, resume []byte) (sink.Partition[weir.KV[int]], error) {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	if resume != nil { // the run resumes after the epoch that prepared it
		last, _ := strconv.ParseUint(string(resume), 10, 64)
		tt.publish(p.Partition, last)
	}
	tt.prepared[p.Partition] = map[uint64][]string{} // later epochs are thrown away
	return &txnWriter{tt: tt, name: p.Partition}, nil
}

// publish makes the partition's epochs up to last visible; tt.mu is held.
func (tt *txnTable) publish(part string, last uint64) {
	for e, items := range tt.prepared[part] {
		if e <= last {
			tt.visible = append(tt.visible, items...)
			delete(tt.prepared[part], e)
		}
	}
}

type txnWriter struct {
	tt   *txnTable
	name string
	open []string
}

func (w *txnWriter) Write(items []weir.KV[int]) error {
	for _, kv := range items {
		w.open = append(w.open, fmt.Sprintf("%s=%d", kv.Key, kv.Value))
	}
	return nil
}

func (w *txnWriter) Prepare(epoch uint64) ([]byte, error) {
	w.tt.mu.Lock()
	defer w.tt.mu.Unlock()
	w.tt.prepared[w.name][epoch] = w.open
	w.open = nil
	return []byte(strconv.FormatUint(epoch, 10)), nil
}

func (w *txnWriter) Commit(epoch uint64) error {
	w.tt.mu.Lock()
	defer w.tt.mu.Unlock()
	w.tt.publish(w.name, epoch)
	w.tt.commits++
	return nil
}

func (w *txnWriter) Snapshot() []byte { panic("Snapshot of a two-phase sink in a run with a store") }
func (w *txnWriter) Close() error     { return nil }

// A two-phase sink in a cluster makes each epoch's writes visible exactly once across
// aborts and resumes: a process commits an epoch once every process's workers have it in
// the store (their frontier notices), and the next execution finishes what the last
// committed epoch prepared.
func TestClusterTwoPhaseSink(t *testing.T) {
	src := weirtest.NewSource[string]()
	var want []string
	sums := map[string]int{}
	for i := range 90 {
		k := strconv.Itoa(i % 7)
		src.Then(k)
		sums[k]++
		want = append(want, fmt.Sprintf("%s=%d", k, sums[k]))
		switch i % 30 {
		case 15:
			src.Pause(50 * time.Millisecond) // time for epochs to commit during the run
		case 29:
			if i < 80 {
				src.Abort()
			}
		}
	}
	table := &txnTable{prepared: map[string]map[uint64][]string{}}
	flow := func(int) *weir.Dataflow {
		flow := weir.NewDataflow("twophase")
		keyed := op.KeyOn("key", op.Input("inp", flow, src), func(s string) string { return s })
		counts := op.StatefulMap("count", keyed, func(st *op.State[int], _ string) int {
			n, _ := st.Get()
			st.Set(n + 1)
			return n + 1
		})
		op.Output("out", counts, sink.Sink[weir.KV[int]](table))
		return flow
	}
	dir := t.TempDir()
	opts := func(int) []run.Option { return []run.Option{run.Recovery(dir), run.RecoveryPartitions(2)} }
	for n := range 3 {
		var logs lockedBuffer
		for i, err := range runProcs(t, 2, 1, flow, opts, &logs) {
			if err != nil {
				t.Fatalf("execution %d, process %d: %v\n%s", n+1, i, err, logs.String())
			}
		}
	}
	slices.Sort(want)
	slices.Sort(table.visible)
	if !slices.Equal(table.visible, want) {
		t.Errorf("visible:\n got %s\nwant %s", strings.Join(table.visible, " "), strings.Join(want, " "))
	}
	if table.commits == 0 {
		t.Error("no Commit")
	}
}
