package source

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"iter"
	"math"
	"strings"
	"sync/atomic"
	"time"
)

// DefaultBatchSize is the largest batch the helpers of this package return unless their
// BatchSize method says otherwise.
const DefaultBatchSize = 1024

// extent publishes how much of a bounded partition is read, for Lagger and Sizer: the
// whole size, fixed when the partition opens, and the position after the last batch,
// stored once per batch for readers on other goroutines.
type extent struct {
	size int64
	read atomic.Int64
}

func newExtent(size, read int) *extent {
	e := &extent{size: int64(size)}
	e.read.Store(int64(read))
	return e
}

// Lag implements Lagger: what is left to read.
func (e *extent) Lag() (int64, bool) { return max(e.size-e.read.Load(), 0), true }

// Size implements Sizer.
func (e *extent) Size() (int64, bool) { return e.size, true }

// decodePos decodes a resume position written by encodePos. limit is the largest valid
// position, or -1 for none: then any position an int holds, since a larger one would turn
// negative and resume at the start.
func decodePos(resume []byte, limit int, what string) (int, error) {
	if resume == nil {
		return 0, nil
	}
	if limit < 0 {
		limit = math.MaxInt
	}
	pos, n := binary.Uvarint(resume)
	if n <= 0 || n != len(resume) || pos > uint64(limit) {
		return 0, fmt.Errorf("weir: source %s: corrupt resume position %x", what, resume)
	}
	return int(pos), nil
}

func encodePos(pos int) []byte { return binary.AppendUvarint(nil, uint64(pos)) }

func checkPartition(part Part, want string) error {
	if part.Partition != want {
		return fmt.Errorf("weir: source %s: unknown partition %q", want, part.Partition)
	}
	return nil
}

// Slice is a source over the items of a slice; see FromSlice.
type Slice[T any] struct {
	items []T
	batch int
}

// FromSlice returns a source that emits items in order. It has one partition, "slice",
// and resumes from the index of the first item not yet read, so a resumed run must be
// given the same items. The items are copied out batch by batch: downstream steps never
// see the caller's slice.
func FromSlice[T any](items ...T) *Slice[T] {
	return &Slice[T]{items: items, batch: DefaultBatchSize}
}

// BatchSize sets the largest batch the source returns, overriding DefaultBatchSize.
// Values below 1 mean 1.
func (s *Slice[T]) BatchSize(n int) *Slice[T] {
	s.batch = max(n, 1)
	return s
}

// Partitions implements Partitioned.
func (s *Slice[T]) Partitions(context.Context) ([]string, error) { return []string{"slice"}, nil }

// Build implements Source.
func (s *Slice[T]) Build(_ context.Context, part Part, resume []byte) (Partition[T], error) {
	if err := checkPartition(part, "slice"); err != nil {
		return nil, err
	}
	pos, err := decodePos(resume, len(s.items), "slice")
	if err != nil {
		return nil, err
	}
	return &slicePart[T]{items: s.items, pos: pos, buf: make([]T, 0, min(s.batch, len(s.items)-pos)),
		extent: newExtent(len(s.items), pos)}, nil
}

// slicePart's Lag and Size count items.
type slicePart[T any] struct {
	items []T
	pos   int
	buf   []T
	*extent
}

func (p *slicePart[T]) Next(context.Context) ([]T, error) {
	end := min(p.pos+cap(p.buf), len(p.items))
	p.buf = append(p.buf[:0], p.items[p.pos:end]...)
	p.pos = end
	p.read.Store(int64(end))
	if p.pos == len(p.items) {
		return p.buf, io.EOF
	}
	return p.buf, nil
}

func (p *slicePart[T]) Snapshot() []byte { return encodePos(p.pos) }
func (p *slicePart[T]) Close() error     { return nil }

// Seq is a source over an iterator; see FromSeq.
type Seq[T any] struct {
	seq   iter.Seq[T]
	batch int
}

// FromSeq returns a source that emits the values of seq, in order. It has one partition,
// "seq". Its resume position is the number of values already read: a resumed run ranges
// over seq again from the start and skips that many, so seq must yield the same values
// each time it is ranged over.
//
// Next gathers a full batch (or the rest of seq) before it returns, and cannot be
// interrupted while seq computes a value: give a slow iterator BatchSize(1).
func FromSeq[T any](seq iter.Seq[T]) *Seq[T] {
	return &Seq[T]{seq: seq, batch: DefaultBatchSize}
}

// BatchSize sets the largest batch the source returns, overriding DefaultBatchSize.
// Values below 1 mean 1.
func (s *Seq[T]) BatchSize(n int) *Seq[T] {
	s.batch = max(n, 1)
	return s
}

// Partitions implements Partitioned.
func (s *Seq[T]) Partitions(context.Context) ([]string, error) { return []string{"seq"}, nil }

// Build implements Source.
func (s *Seq[T]) Build(_ context.Context, part Part, resume []byte) (Partition[T], error) {
	if err := checkPartition(part, "seq"); err != nil {
		return nil, err
	}
	skip, err := decodePos(resume, -1, "seq")
	if err != nil {
		return nil, err
	}
	next, stop := iter.Pull(s.seq)
	p := &seqPart[T]{next: next, stop: stop, batch: s.batch}
	for ; p.read < skip; p.read++ {
		if _, ok := next(); !ok {
			stop()
			return nil, fmt.Errorf("weir: source seq: resume position %d is past the end of the sequence (%d values)", skip, p.read)
		}
	}
	return p, nil
}

type seqPart[T any] struct {
	next  func() (T, bool)
	stop  func()
	batch int
	read  int
	buf   []T
}

func (p *seqPart[T]) Next(context.Context) ([]T, error) {
	p.buf = p.buf[:0]
	for len(p.buf) < p.batch {
		v, ok := p.next()
		if !ok {
			return p.buf, io.EOF
		}
		p.buf = append(p.buf, v)
		p.read++
	}
	return p.buf, nil
}

func (p *seqPart[T]) Snapshot() []byte { return encodePos(p.read) }

func (p *seqPart[T]) Close() error {
	p.stop()
	return nil
}

// Text is a line source over an in-memory text; see Lines.
type Text struct {
	text  string
	batch int
}

// Lines returns a source that emits the lines of text, such as an embedded file, without
// their line endings ("\n" or "\r\n"). A last line without a newline is still a line; a
// text that ends with a newline has no empty line after it. It has one partition,
// "lines", and resumes from the byte offset after the last line read. The lines share
// text's memory: reading them allocates nothing.
func Lines(text string) *Text { return &Text{text: text, batch: DefaultBatchSize} }

// BatchSize sets the largest number of lines in a batch, overriding DefaultBatchSize.
// Values below 1 mean 1.
func (s *Text) BatchSize(n int) *Text {
	s.batch = max(n, 1)
	return s
}

// Partitions implements Partitioned.
func (s *Text) Partitions(context.Context) ([]string, error) { return []string{"lines"}, nil }

// Build implements Source.
func (s *Text) Build(_ context.Context, part Part, resume []byte) (Partition[string], error) {
	if err := checkPartition(part, "lines"); err != nil {
		return nil, err
	}
	off, err := decodePos(resume, len(s.text), "lines")
	if err != nil {
		return nil, err
	}
	return &textPart{text: s.text, off: off, buf: make([]string, 0, s.batch), extent: newExtent(len(s.text), off)}, nil
}

// textPart's Lag and Size count bytes of the text.
type textPart struct {
	text string
	off  int
	buf  []string
	*extent
}

func (p *textPart) Next(context.Context) ([]string, error) {
	p.buf = p.buf[:0]
	for len(p.buf) < cap(p.buf) && p.off < len(p.text) {
		rest := p.text[p.off:]
		line, _, found := strings.Cut(rest, "\n")
		if found {
			p.off += len(line) + 1
			line = strings.TrimSuffix(line, "\r")
		} else {
			p.off = len(p.text)
		}
		p.buf = append(p.buf, line)
	}
	p.read.Store(int64(p.off))
	if p.off == len(p.text) {
		return p.buf, io.EOF
	}
	return p.buf, nil
}

func (p *textPart) Snapshot() []byte { return encodePos(p.off) }
func (p *textPart) Close() error     { return nil }

// Poll returns a source that calls fn once every interval and emits the item it returns
// when ok is true (ok false means nothing new this time). fn returning io.EOF ends the
// stream (after its item, if ok); any other error stops the run. The first call is made
// at once.
//
// An interval of 0 polls again at once: after a call that returned an item, fn is called
// again as soon as the worker has passed the item on; after a call that had nothing, the
// runtime waits 1 ms, as it does after any source's empty batch, so that a quiet fn is
// called up to a thousand times a second, a few per cent of a core, rather than keeping a
// core busy; a positive interval costs less. A negative interval is an error when the run
// starts.
//
// The source is partitioned with one partition, "poll", so exactly one worker polls. It
// keeps no position: a resumed run simply polls again. If a call falls behind by more
// than an interval, the missed ticks are skipped rather than made up in a burst.
func Poll[T any](interval time.Duration, fn func(ctx context.Context) (item T, ok bool, err error)) Source[T] {
	return &poller[T]{interval: interval, fn: fn}
}

type poller[T any] struct {
	interval time.Duration
	fn       func(context.Context) (T, bool, error)
}

func (s *poller[T]) Partitions(context.Context) ([]string, error) { return []string{"poll"}, nil }

func (s *poller[T]) Build(_ context.Context, part Part, _ []byte) (Partition[T], error) {
	if err := checkPartition(part, "poll"); err != nil {
		return nil, err
	}
	if s.interval < 0 {
		return nil, fmt.Errorf("weir: source poll: interval must not be negative, not %v", s.interval)
	}
	return &pollPart[T]{s: s, buf: make([]T, 0, 1)}, nil
}

type pollPart[T any] struct {
	s    *poller[T]
	next time.Time // zero before the first call, and always with an interval of 0
	buf  []T
}

func (p *pollPart[T]) Next(ctx context.Context) ([]T, error) {
	if p.s.interval > 0 {
		now := time.Now()
		if now.Before(p.next) {
			return nil, nil
		}
		if p.next.IsZero() {
			p.next = now
		}
		p.next = p.next.Add(p.s.interval)
		if !p.next.After(now) {
			p.next = now.Add(p.s.interval)
		}
	}
	item, ok, err := p.s.fn(ctx)
	p.buf = p.buf[:0]
	if ok {
		p.buf = append(p.buf, item)
	}
	switch {
	case errors.Is(err, io.EOF):
		return p.buf, io.EOF
	case err != nil:
		return nil, err
	}
	return p.buf, nil
}

// NextAwake implements Awaker: the time of the next call. With an interval of 0 it is
// the zero time, which leaves the wait after an empty batch to the runtime: a time of
// now instead would have it call fn again at once, in a busy loop while fn has nothing.
func (p *pollPart[T]) NextAwake() time.Time { return p.next }

func (p *pollPart[T]) Snapshot() []byte { return nil }
func (p *pollPart[T]) Close() error     { return nil }
