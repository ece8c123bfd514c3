package engine_test

import (
	"context"
	"errors"
	"runtime/debug"
	"runtime/metrics"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weirflow/weir/internal/engine"
	"github.com/weirflow/weir/internal/graph"
	"github.com/weirflow/weir/internal/plan"
	"github.com/weirflow/weir/internal/state"
	"github.com/weirflow/weir/weirtest"
)

// gogc is the collector's GOGC, -1 when off.
func gogc() int {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	return int(int64(s[0].Value.Uint64()))
}

// A resume's load runs with GOGC raised to 400, as nearly all it allocates stays live (see
// loadgc.go), and the program's GOGC is back once it has ended, whether the run goes ahead
// or the load fails; a GOGC that is off or higher is left alone, and one the program sets
// during the load is kept.
func TestLoadRaisesGOGC(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	src := weirtest.NewSource(ints(50)...).EOF().Then(1)
	store := resumeKeysStore(t, src)
	boom := errors.New("boom")
	for _, c := range []struct {
		name          string
		before        int
		set           int // set by the program during the load, if not 0
		fail          bool
		during, after int
	}{
		{name: "default", before: 100, during: 400, after: 100},
		{name: "low", before: 50, during: 400, after: 50},
		{name: "failed load", before: 100, fail: true, during: 400, after: 100},
		{name: "off", before: -1, during: -1, after: -1},
		{name: "higher", before: 800, during: 800, after: 800},
		{name: "set during", before: 100, set: 150, during: 400, after: 150},
	} {
		debug.SetGCPercent(c.before)
		during := 0
		hook := &loadHook{Memory: store, each: func(rows int, step, key string, b []byte) ([]byte, error) {
			if rows == 0 {
				during = gogc()
				if c.set != 0 {
					debug.SetGCPercent(c.set)
				}
				if c.fail {
					return nil, boom
				}
			}
			return b, nil
		}}
		var resumed atomic.Int64
		flow, _ := resumeSums(src, &resumed)
		p, err := plan.New(graph.FlowOf(flow))
		if err != nil {
			t.Fatal(err)
		}
		err = engine.Run(context.Background(), p, engine.Config{Workers: 2, EpochInterval: time.Hour, Store: hook})
		if c.fail != errors.Is(err, boom) {
			t.Errorf("%s: run's error %v", c.name, err)
		}
		if after := gogc(); during != c.during || after != c.after {
			t.Errorf("%s: GOGC %d before the run, %d during its load, %d after it; want %d and %d", c.name, c.before, during, after, c.during, c.after)
		}
	}
}

// Two runs that load at once: GOGC goes back only when the second load has ended.
func TestLoadRaisesGOGCOverlapping(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	src := weirtest.NewSource(ints(50)...).EOF().Then(1)
	first, second := resumeKeysStore(t, src), resumeKeysStore(t, src)
	started, release := make(chan struct{}), make(chan struct{})
	hold := &loadHook{Memory: first, each: func(rows int, step, key string, b []byte) ([]byte, error) {
		if rows == 0 {
			close(started)
			<-release
		}
		return b, nil
	}}
	run := func(s state.Store) error {
		var resumed atomic.Int64
		flow, _ := resumeSums(src, &resumed)
		p, err := plan.New(graph.FlowOf(flow))
		if err != nil {
			return err
		}
		return engine.Run(context.Background(), p, engine.Config{Workers: 1, EpochInterval: time.Hour, Store: s})
	}
	done := make(chan error)
	go func() { done <- run(hold) }()
	<-started
	if err := run(second); err != nil {
		t.Fatal(err)
	}
	if got := gogc(); got != 400 {
		t.Errorf("GOGC %d after one of two loads ended, want 400", got)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := gogc(); got != 100 {
		t.Errorf("GOGC %d after both loads ended, want 100", got)
	}
}
