package files

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"os"

	"github.com/weirflow/weir/source"
)

// LineError reports a line that its parse function refused.
type LineError struct {
	Path   string // the file
	Line   int    // 1-based line of the file
	Offset int64  // byte offset in the file where the line starts
	Err    error  // what the parse function returned
}

func (e *LineError) Error() string {
	return fmt.Sprintf("weir: files: %s:%d: %v (the line at byte %d)", e.Path, e.Line, e.Err, e.Offset)
}

func (e *LineError) Unwrap() error { return e.Err }

// Lines is a source of lines, which ParseLines can parse: NewLineSource's and
// NewDirSource's.
type Lines interface {
	source.Partitioned
	file(part source.Part) (path string, err error)
	batchSize() int
}

// Parsed is a source of the lines of files parsed into items; see ParseLines.
type Parsed[T any] struct {
	lines  Lines
	parse  func(line string) (T, error)
	policy ErrorPolicy
	bad    *badCount
}

// ParseLines returns a source of the lines of src (a NewLineSource or NewDirSource, with
// its files, partitions and batch size), each parsed by parse into an item: a JSON
// decoder of JSON lines, say. parse sees a line without its line ending, in file order,
// on the worker that reads the file.
//
// A line that parse returns an error for fails the run with a *LineError naming the
// file, the line, its byte offset and parse's error, unless OnError says to skip it, or
// Read sends it to a stream of BadRow. Its position is the byte offset and the line
// number after the last line read, so that a resumed run reads on with the right line
// numbers; a position of the line source it parses (a byte offset) resumes too.
func ParseLines[T any](src Lines, parse func(line string) (T, error)) *Parsed[T] {
	return &Parsed[T]{lines: src, parse: parse, bad: new(badCount)}
}

// OnError sets what the source does with a line parse refuses, overriding the default,
// Fail. Read sends such lines to its stream of BadRow whatever this says.
func (s *Parsed[T]) OnError(p ErrorPolicy) *Parsed[T] {
	s.policy = policy(p)
	return s
}

// Skipped returns the number of lines skipped (OnError(Skip)) by the runs of this source
// in this process so far. A resumed run counts again a line it reads again.
func (s *Parsed[T]) Skipped() int64 { return s.bad.n.Load() }

// Partitions implements source.Partitioned.
func (s *Parsed[T]) Partitions(ctx context.Context) ([]string, error) {
	return s.lines.Partitions(ctx)
}

// Build implements source.Source.
func (s *Parsed[T]) Build(_ context.Context, part source.Part, resume []byte) (source.Partition[T], error) {
	return openParsed(s, part, resume, s.policy, func(dst *T, line string) (err error) {
		*dst, err = s.parse(line)
		return err
	})
}

func (s *Parsed[T]) deadLetters() source.Source[result[T]] {
	return &resultSource[T]{parts: s.Partitions, build: func(part source.Part, resume []byte) (source.Partition[result[T]], error) {
		return openParsed(s, part, resume, deadLetter, func(dst *result[T], line string) (err error) {
			dst.row, err = s.parse(line)
			return err
		})
	}}
}

func openParsed[T, U any](s *Parsed[T], part source.Part, resume []byte, policy ErrorPolicy, parse func(*U, string) error) (*parsedPart[U], error) {
	path, err := s.lines.file(part)
	if err != nil {
		return nil, err
	}
	off, line, err := decodeLinePos(path, resume)
	if err != nil {
		return nil, err
	}
	r, err := openLinesAt(path, off)
	if err != nil {
		return nil, err
	}
	return &parsedPart[U]{r: r, off: off, line: line, batch: s.lines.batchSize(), parse: parse, policy: policy, skips: s.bad, extent: r.ext}, nil
}

// decodeLinePos decodes a position of a parsed line source: the byte offset and the line
// number after the last line read. A plain line source's position, the offset alone, is
// read too: the line number is then counted up to it.
func decodeLinePos(path string, resume []byte) (off int64, line int, err error) {
	if resume == nil {
		return 0, 0, nil
	}
	if _, n := binary.Uvarint(resume); n > 0 && n == len(resume) {
		off, err := decodeOffset(path, resume)
		if err != nil {
			return 0, 0, err
		}
		line, err := countLines(path, off)
		return off, line, err
	}
	return decodeOffLine(path, resume)
}

// countLines counts the newlines in the first off bytes of path.
func countLines(path string, off int64) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("weir: files: %w", err)
	}
	defer f.Close()
	r := bufio.NewReaderSize(io.LimitReader(f, off), 64<<10)
	n := 0
	for {
		b, err := r.ReadSlice('\n')
		if len(b) > 0 && b[len(b)-1] == '\n' {
			n++
		}
		if err == io.EOF {
			return n, nil
		}
		if err != nil && err != bufio.ErrBufferFull {
			return 0, fmt.Errorf("weir: files: %s: %w", path, err)
		}
	}
}

type parsedPart[U any] struct {
	r      *lineReader
	off    int64 // after the last line accepted: the snapshot
	line   int
	batch  int
	parse  func(*U, string) error
	policy ErrorPolicy
	skips  *badCount
	buf    []U
	*extent
}

func (p *parsedPart[U]) Next(context.Context) ([]U, error) {
	defer func() { p.read.Store(p.r.off) }()
	p.buf = p.buf[:0]
	var zero U
	for len(p.buf) < p.batch {
		start := p.r.off
		s, err := p.r.next()
		if err != nil {
			return p.buf, err
		}
		p.buf = append(p.buf, zero)
		if err := p.parse(&p.buf[len(p.buf)-1], s); err != nil {
			p.buf = p.buf[:len(p.buf)-1]
			le := &LineError{Path: p.r.path, Line: p.line + 1, Offset: start, Err: err}
			switch p.policy {
			case Skip:
				p.skips.n.Add(1)
			case deadLetter:
				raw := s[:min(len(s), maxRaw)]
				p.buf = append(p.buf, zero)
				any(&p.buf[len(p.buf)-1]).(badSetter).setBad(&BadRow{Path: p.r.path, Line: le.Line, Offset: start, Raw: raw, Err: le})
			default: // Fail, and any value OnError was given that is not a policy
				// Not accepted: a resumed run meets the line again.
				return p.buf, le
			}
		}
		p.off = p.r.off
		p.line++
	}
	return p.buf, nil
}

func (p *parsedPart[U]) Snapshot() []byte {
	return encodeOffLine(p.off, p.line)
}

func (p *parsedPart[U]) Close() error { return p.r.close() }
