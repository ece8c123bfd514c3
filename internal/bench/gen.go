package bench

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/sink"
	"github.com/weirflow/weir/source"
	"github.com/weirflow/weir/window"
)

// Ints is a partitioned source of the ints 0 to n-1, generated in memory so that a
// benchmark measures the flow, not its input. Partition i of p holds the i-th of p
// contiguous ranges, so with one partition per worker each worker reads its own share.
type Ints struct {
	n, parts, batch int
}

// NewInts returns a source of the ints 0 to n-1 split into parts partitions (at least 1),
// read in batches of DefaultBatch.
func NewInts(n, parts int) *Ints {
	return &Ints{n: max(n, 0), parts: max(parts, 1), batch: DefaultBatch}
}

// DefaultBatch is the batch size of Ints unless BatchSize says otherwise: large, so that
// the engine's per-batch costs are spread over many items, as they are in a busy flow.
const DefaultBatch = 1024

// BatchSize sets the largest batch a partition returns, overriding DefaultBatch. Values
// below 1 mean 1.
func (s *Ints) BatchSize(n int) *Ints {
	s.batch = max(n, 1)
	return s
}

// Partitions implements source.Partitioned: "0", "1", ... zero-padded so that their
// sorted order is their numeric order.
func (s *Ints) Partitions(context.Context) ([]string, error) {
	width := len(strconv.Itoa(s.parts - 1))
	names := make([]string, s.parts)
	for i := range names {
		names[i] = fmt.Sprintf("%0*d", width, i)
	}
	return names, nil
}

// Build implements source.Source. The resume position is the next int to read.
func (s *Ints) Build(_ context.Context, part source.Part, resume []byte) (source.Partition[int], error) {
	i, err := strconv.Atoi(part.Partition)
	if err != nil || i < 0 || i >= s.parts {
		return nil, fmt.Errorf("weir: bench source: unknown partition %q", part.Partition)
	}
	lo, hi := s.n*i/s.parts, s.n*(i+1)/s.parts
	next := lo
	if resume != nil {
		pos, k := binary.Uvarint(resume)
		if k <= 0 || k != len(resume) || pos < uint64(lo) || pos > uint64(hi) {
			return nil, fmt.Errorf("weir: bench source: corrupt resume position %x", resume)
		}
		next = int(pos)
	}
	return &intsPart{next: next, end: hi, buf: make([]int, s.batch)}, nil
}

// intsPart fills one reused buffer per batch: reading allocates nothing.
type intsPart struct {
	next, end int
	buf       []int
}

func (p *intsPart) Next(context.Context) ([]int, error) {
	b := p.buf[:min(len(p.buf), p.end-p.next)]
	next := p.next // a local: p.next would be read again after every store into b
	for i := range b {
		b[i] = next + i
	}
	p.next += len(b)
	if p.next == p.end {
		return b, io.EOF
	}
	return b, nil
}

func (p *intsPart) Snapshot() []byte { return binary.AppendUvarint(nil, uint64(p.next)) }
func (p *intsPart) Close() error     { return nil }

// Sum is a dynamic sink that adds up what it receives, each worker into its own
// accumulator, so that the work of a flow has a result the compiler cannot drop and the
// workers share no memory while they write. Make one with IntSum or CountSum.
type Sum[T any] struct {
	mu    sync.Mutex
	parts []*sumPart[T]
	timed bool // each write reads the clock, for Last
}

// IntSum returns a Sum of ints. It does not read the clock (its Last is zero): the
// chain's sink stands for the anchor loop's "sum +=", which reads none, and a clock
// read per batch costs the chain about 0.1 ns per item on the development VM.
func IntSum() *Sum[int] { return &Sum[int]{} }

// CountSum returns a Sum of the values of keyed counts: the number of items counted. Its
// item count is the number of keys.
func CountSum() *Sum[weir.KV[int]] { return &Sum[weir.KV[int]]{timed: true} }

// Build implements sink.Sink.
func (s *Sum[T]) Build(context.Context, sink.Part, []byte) (sink.Partition[T], error) {
	p := &sumPart[T]{timed: s.timed}
	s.mu.Lock()
	s.parts = append(s.parts, p)
	s.mu.Unlock()
	return p, nil
}

// Last returns when the last batch arrived, over every worker, for a Sum made by
// CountSum or WindowCountSum (zero for one of IntSum). Call it after the run.
func (s *Sum[T]) Last() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	var last time.Time
	for _, p := range s.parts {
		if p.last.After(last) {
			last = p.last
		}
	}
	return last
}

// Total returns the sum over every worker and the number of items received. Call it after
// the run.
func (s *Sum[T]) Total() (sum, items int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.parts {
		sum += p.sum
		items += p.items
	}
	return sum, items
}

type sumPart[T any] struct {
	sum, items int
	last       time.Time // of the last write, when timed
	timed      bool
	_          [16]byte // keep workers' accumulators on separate cache lines
}

// Write adds in a loop typed once per batch, so that the sink costs what the anchor
// loops' own "sum +=" costs and no call per item. The sum is a local while it loops:
// p.sum += x would load and store p.sum for every item (the compiler cannot tell that
// the batch does not overlap it), a chain through memory the anchors do not pay. Ints go
// into four sums: one is a chain of dependent additions, 0.26-0.29 ns an item on the
// development VM, where four take 0.17-0.18 (BenchmarkIntSumWrite), and the anchor's own
// "sum +=" hides behind its calls.
func (p *sumPart[T]) Write(items []T) error {
	sum := p.sum
	switch b := any(items).(type) {
	case []int:
		var s1, s2, s3 int
		for len(b) >= 4 {
			sum, s1, s2, s3 = sum+b[0], s1+b[1], s2+b[2], s3+b[3]
			b = b[4:]
		}
		for _, x := range b {
			sum += x
		}
		sum += s1 + s2 + s3
	case []weir.KV[int]:
		for i := range b {
			sum += b[i].Value
		}
	case []weir.KV[window.Windowed[int]]:
		for i := range b {
			sum += b[i].Value.Value * int(b[i].Value.Window+1)
		}
	}
	p.sum = sum
	p.items += len(items)
	if p.timed {
		p.last = time.Now()
	}
	return nil
}

func (p *sumPart[T]) Snapshot() []byte { return nil }
func (p *sumPart[T]) Close() error     { return nil }

// Event is an item of the windowed paths: a key and the time it happened.
type Event struct {
	Key string
	At  time.Time
}

// Events is a partitioned source of EventAt(0) to EventAt(n-1), generated in memory. The
// keys are split into contiguous ranges, one per partition, and each partition reads its
// keys' events in index order: every key's events arrive in time order, from a single
// partition, whatever the number of partitions.
type Events struct {
	n, parts, batch int
}

// NewEvents returns a source of the first n events split into parts partitions (at least
// 1, at most WindowKeys), read in batches of DefaultBatch.
func NewEvents(n, parts int) *Events {
	return &Events{n: max(n, 0), parts: min(max(parts, 1), WindowKeys), batch: DefaultBatch}
}

// BatchSize sets the largest batch a partition returns, overriding DefaultBatch. Values
// below 1 mean 1.
func (s *Events) BatchSize(n int) *Events {
	s.batch = max(n, 1)
	return s
}

// Partitions implements source.Partitioned, named as those of Ints.
func (s *Events) Partitions(ctx context.Context) ([]string, error) {
	return NewInts(0, s.parts).Partitions(ctx)
}

// Build implements source.Source. The resume position is the index of the next event.
func (s *Events) Build(_ context.Context, part source.Part, resume []byte) (source.Partition[Event], error) {
	i, err := strconv.Atoi(part.Partition)
	if err != nil || i < 0 || i >= s.parts {
		return nil, fmt.Errorf("weir: bench source: unknown partition %q", part.Partition)
	}
	p := &eventsPart{lo: WindowKeys * i / s.parts, hi: WindowKeys * (i + 1) / s.parts, end: s.n, buf: make([]Event, s.batch)}
	p.next = p.lo
	if resume != nil {
		pos, k := binary.Uvarint(resume)
		if k <= 0 || k != len(resume) || !p.holds(int(pos)) {
			return nil, fmt.Errorf("weir: bench source: corrupt resume position %x", resume)
		}
		p.next = int(pos)
	}
	return p, nil
}

// eventsPart reads the events of keys lo to hi-1, into one reused buffer.
type eventsPart struct {
	lo, hi    int // key range
	next, end int // next event index, and n
	buf       []Event
}

// holds reports whether the partition can be at position i: the index of one of its
// keys' events, at most one round past the end.
func (p *eventsPart) holds(i int) bool {
	k := i % WindowKeys
	return i >= 0 && i < p.end+WindowKeys && k >= p.lo && k < p.hi
}

func (p *eventsPart) Next(context.Context) ([]Event, error) {
	b := p.buf[:0]
	for len(b) < cap(b) && p.next < p.end {
		b = append(b, EventAt(p.next))
		p.next++
		if p.next%WindowKeys == p.hi%WindowKeys && p.hi-p.lo < WindowKeys {
			p.next += WindowKeys - (p.hi - p.lo) // on to its first key in the next round
		}
	}
	if p.next >= p.end {
		return b, io.EOF
	}
	return b, nil
}

func (p *eventsPart) Snapshot() []byte { return binary.AppendUvarint(nil, uint64(p.next)) }
func (p *eventsPart) Close() error     { return nil }

// WindowCountSum returns a Sum of windowed counts that weighs each count by its window id
// plus one, so that counting an item in the wrong window changes the sum. Its item count
// is the number of (key, window) counts.
func WindowCountSum() *Sum[weir.KV[window.Windowed[int]]] {
	return &Sum[weir.KV[window.Windowed[int]]]{timed: true}
}
