package engine

// progress is one worker's account of how far each node of the plan has got. It holds
// frontiers and markers only, no data, and knows nothing of batches or of how markers
// travel: the worker moves the data and tells it what happened (an epoch closed, a
// source ended, a marker came in), so that a mesh between processes reuses it as it is.
//
// Its rules:
//   - A node's frontier is the smallest epoch it may still see data of. It only moves
//     forward, and so does every marker.
//   - A source's frontier is the worker's epoch, and never once the source has ended.
//   - Any other node's frontier is the minimum over its inputs of the upstream node's
//     frontier on this worker and, on an exchange input, of the marker each other worker
//     sent on it (that worker's frontier of the upstream node): until every sender has
//     promised an epoch is over, data of it may still come.
//   - Every frontier and marker starts at the epoch the run starts at (1, or the epoch
//     it resumes), as does the worker's epoch.
//   - An epoch is complete on this worker, and may go to the committer, once every node
//     has passed it (see commit).
type progress struct {
	self      int
	nodes     []progressNode // in plan order: every node after its upstreams
	clock     uint64         // the epoch the sources are in
	seen      uint64         // the highest frontier, short of never, a marker named
	changed   bool           // a frontier may move: update has work to do
	committed uint64         // epochs below this went to the committer
	final     bool           // the last epoch went to the committer
}

// progressNode is a node of the plan as progress sees it. A node either is a source or
// has inputs.
type progressNode struct {
	source   bool
	ended    bool // a source that will read nothing more
	in       []progressInput
	frontier uint64
}

// progressInput is one input port of a node: the upstream node, and, for an exchange
// input, the frontier each sending worker promised (nil on a local input, and unused in
// this worker's own slot: the local upstream's frontier stands for it).
type progressInput struct {
	from     int
	exchange bool
	markers  []uint64 // by sending worker
}

// newProgress starts progress at epoch start for a worker self of workers. nodes gives the
// shape of the plan (frontiers and markers are set here). With one worker an exchange
// input is local.
func newProgress(nodes []progressNode, workers, self int, start uint64) *progress {
	p := &progress{self: self, nodes: nodes, clock: start, committed: start, changed: true}
	for i := range p.nodes {
		n := &p.nodes[i]
		n.frontier = start
		for port := range n.in {
			in := &n.in[port]
			if in.exchange && workers > 1 {
				in.markers = make([]uint64, workers)
				for s := range in.markers {
					in.markers[s] = start
				}
			}
		}
	}
	return p
}

// epoch is the epoch the sources are in: the one their data is stamped with.
func (p *progress) epoch() uint64 { return p.clock }

// frontier is the smallest epoch node i may still see data of.
func (p *progress) frontier(i int) uint64 { return p.nodes[i].frontier }

// tick closes the sources' epoch. A worker whose epochs are behind another's jumps to the
// latest a marker named: its data of later epochs would otherwise wait for it, parked.
func (p *progress) tick() {
	p.clock = max(p.clock+1, p.seen)
	p.changed = true
}

// behind reports whether another worker has promised an epoch past this worker's epoch.
func (p *progress) behind() bool { return p.clock < p.seen }

// end says that source i will read nothing more: its frontier becomes never.
func (p *progress) end(i int) {
	if !p.nodes[i].ended {
		p.nodes[i].ended = true
		p.changed = true
	}
}

// mark records the frontier f that worker from promised for input port of node i. An
// older marker (one that would move the promise back) is ignored.
func (p *progress) mark(i, port, from int, f uint64) {
	m := p.nodes[i].in[port].markers
	if f <= m[from] {
		return
	}
	m[from] = f
	p.changed = true
	if f != never {
		p.seen = max(p.seen, f)
	}
}

// sourcesLive reports whether some source's frontier is not yet never.
func (p *progress) sourcesLive() bool {
	for i := range p.nodes {
		if p.nodes[i].source && p.nodes[i].frontier != never {
			return true
		}
	}
	return false
}

// done reports whether every node has seen the last of its data.
func (p *progress) done() bool {
	for i := range p.nodes {
		if p.nodes[i].frontier != never {
			return false
		}
	}
	return true
}

// update recomputes every frontier, in plan order so that upstreams come first, and calls
// moved for each node whose frontier moves, before it moves: the node may still close
// the epochs from..to-1 while the nodes after it have their old frontiers (data it emits
// in those epochs reaches them as it would have before). An error from moved stops the
// update with that node's frontier where it was.
func (p *progress) update(moved func(i int, from, to uint64) error) error {
	p.changed = false
	for i := range p.nodes {
		n := &p.nodes[i]
		f := p.next(n)
		if f <= n.frontier {
			continue
		}
		if err := moved(i, n.frontier, f); err != nil {
			return err
		}
		n.frontier = f
	}
	return nil
}

// next is the frontier the rules give node n now.
func (p *progress) next(n *progressNode) uint64 {
	if n.source {
		if n.ended {
			return never
		}
		return p.clock
	}
	f := uint64(never)
	for port := range n.in {
		in := &n.in[port]
		f = min(f, p.nodes[in.from].frontier)
		for s, m := range in.markers {
			if s != p.self {
				f = min(f, m)
			}
		}
	}
	return f
}

// commit says which epochs to hand to the committer now: from..to-1, every epoch that all
// nodes have passed and that has not gone yet. At the end of the stream (every frontier
// is never) the range runs to the worker's epoch, or to the last epoch with snapshots
// (last, one past it; 0 for none) if that is later, and final is true: to-1 is this
// worker's last epoch, whatever epoch the other workers reached (a worker that reads no
// input never moves its epoch clock). After that it returns nothing more.
func (p *progress) commit(last uint64) (from, to uint64, final bool) {
	if p.final {
		return p.committed, p.committed, false
	}
	to = uint64(never)
	for i := range p.nodes {
		to = min(to, p.nodes[i].frontier)
	}
	if to == never {
		p.final = true
		to = max(p.clock+1, p.committed+1, last)
	}
	from = p.committed
	p.committed = max(p.committed, to)
	return from, max(from, to), p.final
}
