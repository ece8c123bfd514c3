package engine

import (
	"errors"
	"fmt"
	"slices"
	"testing"
)

// Shapes of plans for the tests: sources, and nodes fed locally or over an exchange.
func source() progressNode { return progressNode{source: true} }

func fed(ins ...progressInput) progressNode { return progressNode{in: ins} }

func local(from int) progressInput { return progressInput{from: from} }

func exch(from int) progressInput { return progressInput{from: from, exchange: true} }

// move is one call of update's moved.
type move struct {
	node     int
	from, to uint64
}

// phase changes progress, updates it and says what the frontiers are then.
type phase struct {
	do    []func(*progress)
	want  []uint64 // every node's frontier after the update
	moved []move   // what update reported, in order; nil for nothing
}

func tick(p *progress)          { p.tick() }
func end(i int) func(*progress) { return func(p *progress) { p.end(i) } }
func mark(i, port, from int, f uint64) func(*progress) {
	return func(p *progress) { p.mark(i, port, from, f) }
}

func TestProgressRules(t *testing.T) {
	tests := []struct {
		name          string
		nodes         []progressNode
		workers, self int
		start         uint64
		phases        []phase
	}{{
		name:  "a chain takes its source's epoch",
		nodes: []progressNode{source(), fed(local(0)), fed(local(1))},
		start: 1, workers: 1,
		phases: []phase{
			{want: []uint64{1, 1, 1}},
			{do: []func(*progress){tick, tick}, want: []uint64{3, 3, 3},
				moved: []move{{0, 1, 3}, {1, 1, 3}, {2, 1, 3}}},
			{do: []func(*progress){end(0)}, want: []uint64{never, never, never},
				moved: []move{{0, 3, never}, {1, 3, never}, {2, 3, never}}},
		},
	}, {
		name:  "a merge takes the minimum of its inputs",
		nodes: []progressNode{source(), source(), fed(local(0), local(1)), fed(local(2))},
		start: 1, workers: 1,
		phases: []phase{
			{do: []func(*progress){end(0)}, want: []uint64{never, 1, 1, 1}, moved: []move{{0, 1, never}}},
			{do: []func(*progress){tick}, want: []uint64{never, 2, 2, 2},
				moved: []move{{1, 1, 2}, {2, 1, 2}, {3, 1, 2}}},
			{do: []func(*progress){end(1)}, want: []uint64{never, never, never, never},
				moved: []move{{1, 2, never}, {2, 2, never}, {3, 2, never}}},
		},
	}, {
		name:  "one sender without a marker holds the frontier",
		nodes: []progressNode{source(), fed(exch(0)), fed(local(1))},
		start: 1, workers: 3, self: 0,
		phases: []phase{
			{do: []func(*progress){tick, tick, mark(1, 0, 1, 3)}, want: []uint64{3, 1, 1},
				moved: []move{{0, 1, 3}}},
			{do: []func(*progress){mark(1, 0, 2, 2)}, want: []uint64{3, 2, 2},
				moved: []move{{1, 1, 2}, {2, 1, 2}}},
			{do: []func(*progress){mark(1, 0, 2, 5)}, want: []uint64{3, 3, 3},
				moved: []move{{1, 2, 3}, {2, 2, 3}}},
		},
	}, {
		name:  "the local upstream counts for this worker, not its own slot",
		nodes: []progressNode{source(), fed(exch(0))},
		start: 1, workers: 2, self: 1,
		phases: []phase{
			{do: []func(*progress){mark(1, 0, 0, 4)}, want: []uint64{1, 1}},
			// The tick catches up to the marker's epoch; this worker's own slot is still 1.
			{do: []func(*progress){tick}, want: []uint64{4, 4}, moved: []move{{0, 1, 4}, {1, 1, 4}}},
		},
	}, {
		name:  "a marker never moves a frontier back",
		nodes: []progressNode{source(), fed(exch(0))},
		start: 1, workers: 2, self: 0,
		phases: []phase{
			{do: []func(*progress){tick, tick, tick, mark(1, 0, 1, 4)}, want: []uint64{4, 4},
				moved: []move{{0, 1, 4}, {1, 1, 4}}},
			{do: []func(*progress){mark(1, 0, 1, 2), tick}, want: []uint64{5, 4}, moved: []move{{0, 4, 5}}},
		},
	}, {
		name:  "the final frontier needs every sender's",
		nodes: []progressNode{source(), fed(exch(0)), fed(local(1))},
		start: 1, workers: 3, self: 0,
		phases: []phase{
			{do: []func(*progress){end(0), mark(1, 0, 1, never)}, want: []uint64{never, 1, 1},
				moved: []move{{0, 1, never}}},
			{do: []func(*progress){mark(1, 0, 2, 7)}, want: []uint64{never, 7, 7},
				moved: []move{{1, 1, 7}, {2, 1, 7}}},
			{do: []func(*progress){mark(1, 0, 2, never)}, want: []uint64{never, never, never},
				moved: []move{{1, 7, never}, {2, 7, never}}},
		},
	}, {
		name:  "a source that ends before its first update",
		nodes: []progressNode{source(), fed(exch(0))},
		start: 1, workers: 2, self: 0,
		phases: []phase{
			{do: []func(*progress){end(0), mark(1, 0, 1, never)}, want: []uint64{never, never},
				moved: []move{{0, 1, never}, {1, 1, never}}},
		},
	}, {
		name:  "resume starts every frontier and marker at the resume epoch",
		nodes: []progressNode{source(), fed(exch(0)), fed(local(1))},
		start: 9, workers: 2, self: 0,
		phases: []phase{
			{want: []uint64{9, 9, 9}},
			{do: []func(*progress){tick}, want: []uint64{10, 9, 9}, moved: []move{{0, 9, 10}}},
			{do: []func(*progress){mark(1, 0, 1, 10)}, want: []uint64{10, 10, 10},
				moved: []move{{1, 9, 10}, {2, 9, 10}}},
		},
	}, {
		name:  "with one worker an exchange is local",
		nodes: []progressNode{source(), fed(exch(0))},
		start: 1, workers: 1,
		phases: []phase{
			{do: []func(*progress){tick}, want: []uint64{2, 2}, moved: []move{{0, 1, 2}, {1, 1, 2}}},
		},
	}, {
		name:  "an exchange and a local input into one node",
		nodes: []progressNode{source(), source(), fed(exch(0), local(1))},
		start: 1, workers: 2, self: 0,
		phases: []phase{
			{do: []func(*progress){tick, mark(2, 0, 1, 5)}, want: []uint64{2, 2, 2},
				moved: []move{{0, 1, 2}, {1, 1, 2}, {2, 1, 2}}},
			{do: []func(*progress){end(1)}, want: []uint64{2, never, 2}, moved: []move{{1, 2, never}}},
			{do: []func(*progress){end(0)}, want: []uint64{never, never, 5},
				moved: []move{{0, 2, never}, {2, 2, 5}}},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newProgress(slices.Clone(tt.nodes), tt.workers, tt.self, tt.start)
			for i, ph := range tt.phases {
				for _, do := range ph.do {
					do(p)
				}
				var moved []move
				err := p.update(func(n int, from, to uint64) error {
					if f := p.frontier(n); f != from {
						t.Errorf("phase %d: node %d moves from %d but its frontier is already %d", i, n, from, f)
					}
					moved = append(moved, move{n, from, to})
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				var got []uint64
				for n := range tt.nodes {
					got = append(got, p.frontier(n))
				}
				if !slices.Equal(got, ph.want) {
					t.Errorf("phase %d: frontiers %v, want %v", i, got, ph.want)
				}
				if !slices.Equal(moved, ph.moved) {
					t.Errorf("phase %d: moved %v, want %v", i, moved, ph.moved)
				}
				if p.changed {
					t.Errorf("phase %d: still changed after an update", i)
				}
			}
		})
	}
}

// Only what can move a frontier asks for an update.
func TestProgressChanged(t *testing.T) {
	p := newProgress([]progressNode{source(), source(), fed(exch(0), local(1))}, 2, 0, 1)
	if !p.changed {
		t.Fatal("a new progress does not ask for its first update")
	}
	steps := []struct {
		name string
		do   func(*progress)
		want bool
	}{
		{"tick", tick, true},
		{"new marker", mark(2, 0, 1, 3), true},
		{"same marker", mark(2, 0, 1, 3), false},
		{"older marker", mark(2, 0, 1, 2), false},
		{"end", end(1), true},
		{"end again", end(1), false},
	}
	for _, s := range steps {
		p.changed = false
		s.do(p)
		if p.changed != s.want {
			t.Errorf("%s: changed %v, want %v", s.name, p.changed, s.want)
		}
	}
}

// A worker behind the epochs another worker's markers name catches up when it ticks;
// the final marker names no epoch.
func TestProgressCatchUp(t *testing.T) {
	p := newProgress([]progressNode{source(), fed(exch(0))}, 2, 0, 1)
	if p.behind() {
		t.Fatal("behind at the start")
	}
	p.mark(1, 0, 1, 6)
	if !p.behind() {
		t.Fatal("not behind a marker of epoch 6 at epoch 1")
	}
	p.tick()
	if p.epoch() != 6 || p.behind() {
		t.Fatalf("after a tick: epoch %d, behind %v; want 6, false", p.epoch(), p.behind())
	}
	p.mark(1, 0, 1, never)
	p.tick()
	if p.epoch() != 7 || p.behind() {
		t.Fatalf("after the final marker and a tick: epoch %d, behind %v; want 7, false", p.epoch(), p.behind())
	}
}

func TestProgressLiveAndDone(t *testing.T) {
	p := newProgress([]progressNode{source(), source(), fed(exch(0), exch(1))}, 2, 0, 1)
	update := func() {
		t.Helper()
		if err := p.update(func(int, uint64, uint64) error { return nil }); err != nil {
			t.Fatal(err)
		}
	}
	update()
	if !p.sourcesLive() || p.done() {
		t.Fatalf("at the start: live %v, done %v", p.sourcesLive(), p.done())
	}
	p.end(0)
	if !p.sourcesLive() {
		t.Fatal("sources not live before the update that ends one")
	}
	p.end(1)
	update()
	if p.sourcesLive() || p.done() {
		t.Fatalf("with both sources ended but no markers: live %v, done %v", p.sourcesLive(), p.done())
	}
	p.mark(2, 0, 1, never)
	p.mark(2, 1, 1, never)
	update()
	if !p.done() {
		t.Fatal("not done with every frontier never")
	}
}

// A failed move leaves the node where it was and the nodes after it untouched, so the
// next update tries it again.
func TestProgressMoveFails(t *testing.T) {
	p := newProgress([]progressNode{source(), fed(local(0)), fed(local(1))}, 1, 0, 1)
	p.tick()
	boom := errors.New("boom")
	err := p.update(func(n int, _, _ uint64) error {
		if n == 1 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) {
		t.Fatalf("update: %v, want boom", err)
	}
	if got := []uint64{p.frontier(0), p.frontier(1), p.frontier(2)}; !slices.Equal(got, []uint64{2, 1, 1}) {
		t.Fatalf("frontiers %v after a failed move, want [2 1 1]", got)
	}
}

func TestProgressCommit(t *testing.T) {
	type call struct {
		do       []func(*progress)
		last     uint64 // one past the latest epoch with snapshots
		from, to uint64
		final    bool
	}
	tests := []struct {
		name  string
		start uint64
		calls []call
	}{{
		name: "epochs every node passed", start: 1,
		calls: []call{
			{from: 1, to: 1},
			{do: []func(*progress){tick, tick, mark(1, 0, 1, 3)}, last: 3, from: 1, to: 3},
			{do: []func(*progress){tick, mark(1, 0, 1, 4)}, last: 3, from: 3, to: 4},
		},
	}, {
		name: "a marker holds the commit back", start: 1,
		calls: []call{
			{do: []func(*progress){tick, tick, mark(1, 0, 1, 2)}, from: 1, to: 2},
			{do: []func(*progress){mark(1, 0, 1, 3)}, from: 2, to: 3},
		},
	}, {
		name: "the end commits the worker's epoch as final", start: 1,
		calls: []call{
			{do: []func(*progress){tick, tick, mark(1, 0, 1, 3)}, from: 1, to: 3},
			{do: []func(*progress){end(0), mark(1, 0, 1, never)}, from: 3, to: 4, final: true},
			{from: 4, to: 4},
		},
	}, {
		name: "the end commits the latest snapshot's epoch as final", start: 1,
		calls: []call{
			{do: []func(*progress){end(0), mark(1, 0, 1, never)}, last: 6, from: 1, to: 6, final: true},
		},
	}, {
		name: "a resumed worker that ends at once", start: 12,
		calls: []call{
			{do: []func(*progress){end(0), mark(1, 0, 1, never)}, from: 12, to: 13, final: true},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newProgress([]progressNode{source(), fed(exch(0))}, 2, 0, tt.start)
			for i, c := range tt.calls {
				for _, do := range c.do {
					do(p)
				}
				if err := p.update(func(int, uint64, uint64) error { return nil }); err != nil {
					t.Fatal(err)
				}
				from, to, final := p.commit(c.last)
				if from != c.from || to != c.to || final != c.final {
					t.Errorf("call %d: commit %d..%d final %v, want %d..%d final %v", i, from, to, final, c.from, c.to, c.final)
				}
			}
		})
	}
}

func (m move) String() string {
	to := fmt.Sprint(m.to)
	if m.to == never {
		to = "never"
	}
	return fmt.Sprintf("%d:%d→%s", m.node, m.from, to)
}
