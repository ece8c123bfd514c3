package stdio

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/weirflow/weir/internal/text"
	"github.com/weirflow/weir/sink"
	"github.com/weirflow/weir/source"
)

// NewSink returns a dynamic sink that prints each item on its own line to standard
// output, formatted as fmt.Println would.
func NewSink[T any]() sink.Sink[T] { return newSink[T](os.Stdout) }

func newSink[T any](w io.Writer) *printer[T] { return &printer[T]{w: w} }

type printer[T any] struct {
	mu sync.Mutex // held for a whole batch, so that workers never split each other's lines
	w  io.Writer
}

func (s *printer[T]) Build(context.Context, sink.Part, []byte) (sink.Partition[T], error) {
	return &printerPart[T]{s: s}, nil
}

// maxKeep is the largest buffer a worker keeps between batches; a bigger one, grown by an
// unusually large batch, is dropped rather than held for the rest of the run.
const maxKeep = 1 << 20

type printerPart[T any] struct {
	s   *printer[T]
	buf []byte
}

func (p *printerPart[T]) Write(items []T) error {
	// Formatting happens outside the lock; only the write is serialised.
	b := p.buf[:0]
	switch xs := any(items).(type) {
	case []string: // the common case, without fmt's boxing of each item
		for _, x := range xs {
			b = append(append(b, x...), '\n')
		}
	case []int:
		for _, x := range xs {
			b = append(strconv.AppendInt(b, int64(x), 10), '\n')
		}
	default:
		for _, x := range items {
			b = fmt.Appendln(b, x)
		}
	}
	p.s.mu.Lock()
	_, err := p.s.w.Write(b)
	p.s.mu.Unlock()
	if cap(b) <= maxKeep {
		p.buf = b
	} else {
		p.buf = nil
	}
	if err != nil {
		return fmt.Errorf("weir: stdio: %w", err)
	}
	return nil
}

func (p *printerPart[T]) Snapshot() []byte { return nil }
func (p *printerPart[T]) Close() error     { return nil }

// NewLineSource returns a source of the lines of standard input, without their line
// endings ("\n" or "\r\n"); a last line without a newline is still a line. The stream
// ends when standard input does.
//
// It has one partition, "stdin", and is not resumable: a resumed run starts reading
// wherever the new process's standard input starts. A background goroutine reads ahead;
// if the run stops before standard input ends, that goroutine stays blocked in its read
// until the process exits.
func NewLineSource() source.Source[string] { return newLineSource(os.Stdin) }

func newLineSource(r io.Reader) *lineSource { return &lineSource{r: r} }

type lineSource struct{ r io.Reader }

func (s *lineSource) Partitions(context.Context) ([]string, error) {
	return []string{"stdin"}, nil
}

func (s *lineSource) Build(_ context.Context, part source.Part, _ []byte) (source.Partition[string], error) {
	if part.Partition != "stdin" {
		return nil, fmt.Errorf("weir: stdio: unknown partition %q", part.Partition)
	}
	p := &linePart{}
	p.room = sync.NewCond(&p.mu)
	go p.readAll(bufio.NewReader(s.r))
	return p, nil
}

const (
	// batchLines is the largest batch Next returns.
	batchLines = 1024
	// aheadLines bounds how far the reader runs ahead of the flow, so that a slow flow
	// fed a large input does not buffer all of it.
	aheadLines = 4 * batchLines
	// maxIdle is the longest wait between polls while no input arrives: the latency a
	// line typed after a quiet spell may see.
	maxIdle = 16 * time.Millisecond
)

// linePart hands lines from a reader goroutine to the worker. Next never blocks, so a
// quiet standard input does not stall the rest of the worker's flow.
type linePart struct {
	mu      sync.Mutex
	room    *sync.Cond // signalled when Next takes lines, or on Close
	pending []string
	err     error // the reader's final error; io.EOF at the end of input
	closed  bool

	out  []string // the batch last returned; the runtime borrows it until the next call
	idle time.Duration
	wake time.Time
}

func (p *linePart) readAll(r *bufio.Reader) {
	for {
		line, err := r.ReadString('\n')
		p.mu.Lock()
		for len(p.pending) >= aheadLines && !p.closed {
			p.room.Wait()
		}
		if p.closed {
			p.mu.Unlock()
			return
		}
		if line != "" {
			p.pending = append(p.pending, text.TrimEOL(line))
		}
		if err != nil {
			p.err = err
			p.mu.Unlock()
			return
		}
		p.mu.Unlock()
	}
}

func (p *linePart) Next(context.Context) ([]string, error) {
	p.mu.Lock()
	n := min(len(p.pending), batchLines)
	p.out = append(p.out[:0], p.pending[:n]...)
	rest := copy(p.pending, p.pending[n:])
	clear(p.pending[rest:])
	p.pending = p.pending[:rest]
	err := p.err
	if n > 0 {
		p.room.Signal()
	}
	p.mu.Unlock()

	if rest > 0 || err == nil {
		if n > 0 {
			p.idle, p.wake = 0, time.Time{}
		} else {
			// Back off while standard input is quiet, so an idle flow costs little.
			p.idle = min(max(2*p.idle, time.Millisecond), maxIdle)
			p.wake = time.Now().Add(p.idle)
		}
		return p.out, nil
	}
	if errors.Is(err, io.EOF) {
		return p.out, io.EOF
	}
	return p.out, fmt.Errorf("weir: stdio: reading standard input: %w", err)
}

// NextAwake implements source.Awaker.
func (p *linePart) NextAwake() time.Time { return p.wake }

func (p *linePart) Snapshot() []byte { return nil }

func (p *linePart) Close() error {
	p.mu.Lock()
	p.closed = true
	p.room.Broadcast()
	p.mu.Unlock()
	return nil
}
