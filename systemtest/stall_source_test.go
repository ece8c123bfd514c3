package systemtest

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/sink"
	"github.com/weirflow/weir/source"
)

// hangFlow reads generated items into a sink that drops them; partition p1 of its source
// hangs in Next spec.After after the process started, and never returns, not even when the
// run stops: a source deaf to its context, as a read from a dead network mount is.
func hangFlow(spec childSpec) *weir.Dataflow {
	flow := weir.NewDataflow("systemtest_hang")
	items := op.Input("items", flow, &hangGen{gen: newGen(spec, amount), at: time.Now().Add(spec.After)})
	op.Output("dropped", items, sink.Func(func([]kv) error { return nil }))
	return flow
}

// hangGen is gen whose partition p1 hangs from at on.
type hangGen struct {
	*gen[kv]
	at time.Time
}

func (g *hangGen) Build(ctx context.Context, part source.Part, resume []byte) (source.Partition[kv], error) {
	p, err := g.gen.Build(ctx, part, resume)
	if err != nil || part.Partition != "p1" {
		return p, err
	}
	return &hangPart{Partition: p, at: g.at}, nil
}

type hangPart struct {
	source.Partition[kv]
	at time.Time
}

func (p *hangPart) Next(ctx context.Context) ([]kv, error) {
	if time.Now().After(p.at) {
		select {} // deaf to ctx: only the end of the process ends it
	}
	return p.Partition.Next(ctx)
}

func (p *hangPart) NextAwake() time.Time {
	if a, ok := p.Partition.(source.Awaker); ok {
		return a.NextAwake()
	}
	return time.Time{}
}

// stuckRE finds the engine's line about a source's call that has not returned.
var stuckRE = regexp.MustCompile(`msg="weir: (?:(stopping): waiting for a source's call that|a source's call) has not returned" step=(\S+) partition=(\S+) call=(\S+)`)

// TestHangingSource runs a process of 2 workers whose source's partition p1 hangs in Next,
// deaf to the run's stop, 1 s into the run. Within the engine's 5 s and a second the log
// names the step, the partition and the call, while the other worker's partitions go on
// reading; an interrupt (SIGINT) then has the log say that the stopping run waits for that
// call, and a second interrupt ends the program at once, as run.Main promises. The test
// lasts about 9 s, so it runs with WEIR_SYSTEMTEST_LONG=1 only; the engine's
// TestStuckSourceCall checks the same in process in the default run.
func TestHangingSource(t *testing.T) {
	if !long() {
		t.Skip("about 9 s: WEIR_SYSTEMTEST_LONG=1 runs it; TestStuckSourceCall in internal/engine is its short version")
	}
	j := newJob(t, layout{1, 2}, childSpec{Flow: "hang", Size: 1 << 40, Batch: 10, Pace: 10 * time.Millisecond, After: time.Second},
		"-s", "100ms", "--log-interval", "1s")
	began := time.Now()
	j.start()
	wait := func(what string, d time.Duration, cond func(string) bool) time.Duration {
		t.Helper()
		from := time.Now()
		for !cond(j.stderr(0)) {
			if done(j.procs[0]) || time.Since(from) > d {
				t.Fatalf("no %s within %v:\n%s", what, d, j.stderrs())
			}
			time.Sleep(20 * time.Millisecond)
		}
		return time.Since(began)
	}
	named := func(stopping bool) func(string) bool {
		return func(s string) bool {
			for _, m := range stuckRE.FindAllStringSubmatch(s, -1) {
				if (m[1] != "") == stopping && m[2] == "systemtest_hang.items" && m[3] == "p1" && m[4] == "Next" {
					return true
				}
			}
			return false
		}
	}
	at := wait("line naming the hanging partition", 10*time.Second, named(false))
	t.Logf("the log named the hanging partition %v into the run (it hung 1 s in)", at.Round(time.Millisecond))
	read := func() int64 {
		ms := progressRE.FindAllStringSubmatch(j.stderr(0), -1)
		if len(ms) == 0 {
			return 0
		}
		n, _ := strconv.ParseInt(ms[len(ms)-1][1], 10, 64)
		return n
	}
	before := read()
	time.Sleep(2100 * time.Millisecond)
	if after := read(); after <= before {
		t.Errorf("the other partitions read nothing more while p1 hung: %d items, then %d", before, after)
	}
	j.signal(0, syscall.SIGINT)
	interrupted := time.Now()
	wait("line naming the call the stopping run waits for", 5*time.Second, named(true))
	t.Logf("after the interrupt, the log named the call it waits for in %v", time.Since(interrupted).Round(time.Millisecond))
	if done(j.procs[0]) {
		t.Fatalf("the process exited though a source's call had not returned:\n%s", j.stderrs())
	}
	j.signal(0, syscall.SIGINT)
	second := time.Now()
	select {
	case <-j.procs[0].done:
		t.Logf("the second interrupt ended it in %v (status %d)", time.Since(second).Round(time.Millisecond), j.procs[0].code)
	case <-time.After(5 * time.Second):
		t.Fatalf("a second interrupt did not end the program within 5 s:\n%s", j.dump())
	}
	if !strings.Contains(j.stderr(0), "worker=") {
		t.Errorf("the lines do not name the worker:\n%s", tail(j.stderr(0), 10))
	}
}
