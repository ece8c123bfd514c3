package nexmark

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"strconv"
	"sync/atomic"

	"github.com/weirflow/weir/source"
)

// DefaultBatchSize is the batch size of a Source unless its BatchSize method says
// otherwise. It is also the block size that deals events out to the partitions.
const DefaultBatchSize = 1024

// Source is a partitioned, resumable source of the events of a Config, generated in
// memory batch by batch. Make one with NewSource.
//
// The event numbers are cut into blocks of the batch size, dealt out to the partitions in
// turn: partition p of P reads blocks p, p+P, p+2P... So partitions read at the same pace
// stay within a few batches of each other in event time, and the union of the partitions
// is every event exactly once, whatever P. Each event is a pure function of its number
// (see Config.Event), so a partition's resume position is just its next event number. A
// resumed run must use the same Config, partition count and batch size.
//
// The partitions of one run also keep pace with each other: a partition more than
// MaxLead blocks ahead of the slowest returns empty batches until it catches up, as Flink's
// watermark alignment pauses a source split. Without it, a worker with less work to do
// reads further and further ahead, and the event-time skew between partitions (which the
// queries' Params.Wait must cover) would only be bounded by the exchange's queues.
type Source struct {
	c     Config
	parts int
	batch int
	lead  int64
	pace  []atomic.Int64 // per partition, the next block it reads; set for each run
}

// MaxLead is how many blocks a partition may read ahead of the slowest partition.
const MaxLead = 64

// NewSource returns a source of c's events split into partitions partitions (at least
// 1), read in batches of DefaultBatchSize. An invalid c fails the run's Build.
func NewSource(c Config, partitions int) *Source {
	return &Source{c: c, parts: max(partitions, 1), batch: DefaultBatchSize, lead: MaxLead}
}

// BatchSize sets the largest batch a partition returns, and the block size, overriding
// DefaultBatchSize. Values below 1 mean 1.
func (s *Source) BatchSize(n int) *Source {
	s.batch = max(n, 1)
	return s
}

// Partitions implements source.Partitioned: "0", "1", ... zero-padded so that their
// sorted order is their numeric order.
func (s *Source) Partitions(context.Context) ([]string, error) {
	width := len(strconv.Itoa(s.parts - 1))
	names := make([]string, s.parts)
	for i := range names {
		name := strconv.Itoa(i)
		for len(name) < width {
			name = "0" + name
		}
		names[i] = name
	}
	s.pace = make([]atomic.Int64, s.parts)
	for i := range s.pace {
		s.pace[i].Store(int64(i))
	}
	return names, nil
}

// Build implements source.Source. The resume position is the partition's next event
// number, as a uvarint.
func (s *Source) Build(_ context.Context, part source.Part, resume []byte) (source.Partition[Event], error) {
	if err := s.c.Validate(); err != nil {
		return nil, err
	}
	p, err := strconv.Atoi(part.Partition)
	if err != nil || p < 0 || p >= s.parts {
		return nil, fmt.Errorf("weir: nexmark source: unknown partition %q", part.Partition)
	}
	sp := &sourcePart{
		g:     newGenerator(s.c),
		block: int64(s.batch),
		skip:  int64(s.parts-1) * int64(s.batch),
		end:   s.c.Events,
		next:  int64(p) * int64(s.batch),
		buf:   make([]Event, s.batch),
		pace:  s.pace,
		self:  p,
		lead:  s.lead,
	}
	if resume != nil {
		pos, k := binary.Uvarint(resume)
		if k <= 0 || k != len(resume) || !sp.holds(pos, p, s.parts) {
			return nil, fmt.Errorf("weir: nexmark source: partition %q: corrupt resume position %x", part.Partition, resume)
		}
		sp.next = int64(pos)
	}
	if sp.pace == nil { // Build without Partitions: nothing to keep pace with
		sp.pace = make([]atomic.Int64, 1)
		sp.self = 0
	}
	sp.pace[sp.self].Store(sp.next / sp.block)
	return sp, nil
}

// sourcePart reads one partition's blocks into one reused buffer.
type sourcePart struct {
	g     *generator
	block int64 // events per block
	skip  int64 // events of the other partitions' blocks between two of ours
	end   int64 // total number of events, or <= 0 for none
	next  int64 // the next event number: always in one of our blocks
	buf   []Event
	pace  []atomic.Int64 // shared by the run's partitions: each one's next block
	self  int
	lead  int64
}

// ahead reports whether the partition is more than lead blocks ahead of the slowest one.
// A finished partition counts as infinitely far ahead.
func (sp *sourcePart) ahead() bool {
	mine := sp.pace[sp.self].Load()
	for i := range sp.pace {
		if i != sp.self && sp.pace[i].Load()+sp.lead < mine {
			return true
		}
	}
	return false
}

// holds reports whether pos can be the position of partition p of parts: in one of its
// blocks, and no further past the end of a bounded stream than the partition goes.
func (sp *sourcePart) holds(pos uint64, p, parts int) bool {
	if pos > 1<<62 {
		return false
	}
	n := int64(pos)
	if (n/sp.block)%int64(parts) != int64(p) {
		return false
	}
	return sp.end <= 0 || n < sp.end+sp.block*int64(parts)
}

func (sp *sourcePart) Next(context.Context) ([]Event, error) {
	if sp.end > 0 && sp.next >= sp.end {
		sp.pace[sp.self].Store(math.MaxInt64 - sp.lead)
		return sp.buf[:0], io.EOF
	}
	if sp.ahead() {
		return sp.buf[:0], nil // polled again after the runtime's pause for an empty batch
	}
	stop := (sp.next/sp.block + 1) * sp.block
	if sp.end > 0 {
		stop = min(stop, sp.end)
	}
	b := sp.buf[:stop-sp.next]
	sp.g.fill(b, sp.next)
	sp.next = stop
	if sp.next%sp.block == 0 {
		sp.next += sp.skip // on to our next block
	}
	if sp.end > 0 && sp.next >= sp.end {
		sp.pace[sp.self].Store(math.MaxInt64 - sp.lead)
		return b, io.EOF
	}
	sp.pace[sp.self].Store(sp.next / sp.block)
	return b, nil
}

func (sp *sourcePart) Snapshot() []byte { return binary.AppendUvarint(nil, uint64(sp.next)) }
func (sp *sourcePart) Close() error     { return nil }
