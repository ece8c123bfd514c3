package weirtest

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/weirflow/weir/source"
)

// partition is the name of a Source's only partition.
const partition = "weirtest"

type kind uint8

const (
	item kind = iota
	eof
	abort
	pause
)

// entry is one element of a Source's script: an item or a marker.
type entry[T any] struct {
	kind  kind
	item  T
	pause time.Duration
}

// Source is a scripted test source: a list of items with markers between them (EOF,
// Abort, Pause) that make a run end, crash or wait at exactly that point. It is a
// partitioned source with one partition, named "weirtest", read by one worker.
//
// Its resume position is an index into the list, so a run that resumes from a snapshot
// continues after the last item (or EOF marker) the snapshot covers. Whether an Abort
// marker has fired is remembered by the Source value itself, not in the snapshot: a
// second run of a flow holding the same Source goes past it.
//
// Build the script before the first run; a Source is safe for concurrent use by the
// workers of a run. Give each Source to one input step only: two inputs would share
// the record of fired Abort markers.
type Source[T any] struct {
	mu      sync.Mutex
	entries []entry[T]
	batch   int
	fired   map[int]bool // indexes of Abort markers that have fired
}

// NewSource returns a Source that emits items, in order. Chain Then, EOF, Abort and Pause
// to script the rest of the stream.
func NewSource[T any](items ...T) *Source[T] {
	return (&Source[T]{batch: 1}).Then(items...)
}

// Then appends items to the script.
func (s *Source[T]) Then(items ...T) *Source[T] {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, x := range items {
		s.entries = append(s.entries, entry[T]{kind: item, item: x})
	}
	return s
}

// EOF appends an end-of-stream marker: the partition ends there for this run. A run that
// resumes from the snapshot taken at that end of stream continues after the marker.
func (s *Source[T]) EOF() *Source[T] { return s.mark(entry[T]{kind: eof}) }

// Abort appends an abort marker: reaching it stops the run at once, as a crash would (no
// end-of-stream processing, no final snapshot). It fires once per Source value: later
// runs with the same Source skip it.
func (s *Source[T]) Abort() *Source[T] { return s.mark(entry[T]{kind: abort}) }

// Pause appends a pause marker: reaching it, the partition returns an empty batch and
// asks not to be read again until d has passed. Under testing/synctest the wait costs no
// real time.
func (s *Source[T]) Pause(d time.Duration) *Source[T] {
	return s.mark(entry[T]{kind: pause, pause: d})
}

func (s *Source[T]) mark(e entry[T]) *Source[T] {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.entries = append(s.entries, e)
	return s
}

// BatchSize sets the largest batch Next returns, overriding the default of 1 (one item
// per batch, so every item travels down the flow on its own). A batch never spans a
// marker. Values below 1 mean 1.
func (s *Source[T]) BatchSize(n int) *Source[T] {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.batch = max(n, 1)
	return s
}

// Partitions implements source.Partitioned: a Source has one partition, "weirtest".
func (s *Source[T]) Partitions(context.Context) ([]string, error) {
	return []string{partition}, nil
}

// Build implements source.Source. resume is a snapshot of an earlier run's partition, or
// nil to start from the beginning.
func (s *Source[T]) Build(_ context.Context, part source.Part, resume []byte) (source.Partition[T], error) {
	if part.Partition != partition {
		return nil, fmt.Errorf("weir: weirtest: unknown partition %q", part.Partition)
	}
	s.mu.Lock()
	// Later appends only write past len, so this view stays valid without the lock.
	entries := s.entries
	batch := s.batch
	s.mu.Unlock()
	p := &sourcePart[T]{src: s, entries: entries, batch: batch}
	if resume != nil {
		pos, n := binary.Uvarint(resume)
		if n <= 0 || n != len(resume) || pos > uint64(len(entries)) {
			return nil, fmt.Errorf("weir: weirtest: corrupt resume position %x for a script of %d entries", resume, len(entries))
		}
		p.pos = int(pos)
	}
	return p, nil
}

// firstAbort reports whether the Abort marker at index i has not fired yet, and records
// that it has now.
func (s *Source[T]) firstAbort(i int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fired[i] {
		return false
	}
	if s.fired == nil {
		s.fired = make(map[int]bool)
	}
	s.fired[i] = true
	return true
}

type sourcePart[T any] struct {
	src     *Source[T]
	entries []entry[T]
	batch   int
	pos     int // index of the next entry to read
	wake    time.Time
	buf     []T
}

func (p *sourcePart[T]) Next(context.Context) ([]T, error) {
	if !p.wake.IsZero() {
		// The runtime may poll early; a pause lasts until its time has come.
		if time.Now().Before(p.wake) {
			return nil, nil
		}
		p.wake = time.Time{}
	}
	for p.pos < len(p.entries) {
		e := &p.entries[p.pos]
		switch e.kind {
		case eof:
			p.pos++ // the snapshot at this end of stream resumes after the marker
			return nil, io.EOF
		case abort:
			if p.src.firstAbort(p.pos) {
				// The position stays before the marker: an aborted run takes no snapshot here.
				return nil, source.ErrAbort
			}
			p.pos++
			continue
		case pause:
			p.pos++
			p.wake = time.Now().Add(e.pause)
			return nil, nil
		}
		p.buf = p.buf[:0]
		for p.pos < len(p.entries) && p.entries[p.pos].kind == item && len(p.buf) < p.batch {
			p.buf = append(p.buf, p.entries[p.pos].item)
			p.pos++
		}
		return p.buf, nil
	}
	return nil, io.EOF
}

// NextAwake implements source.Awaker: after a Pause marker, the time the pause ends.
func (p *sourcePart[T]) NextAwake() time.Time { return p.wake }

func (p *sourcePart[T]) Snapshot() []byte {
	return binary.AppendUvarint(nil, uint64(p.pos))
}

func (p *sourcePart[T]) Close() error { return nil }
