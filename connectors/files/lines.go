package files

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/weirflow/weir/internal/text"
	"github.com/weirflow/weir/source"
)

// DefaultBatchSize is the largest number of lines (or rows) in a batch unless BatchSize
// says otherwise.
const DefaultBatchSize = 1024

// LineSource is a source of the lines of one file; see NewLineSource.
type LineSource struct {
	path  string
	batch int
}

// NewLineSource returns a source of the lines of the file at path, without their line
// endings ("\n" or "\r\n"); a last line without a newline is still a line. The stream
// ends at the end of the file.
//
// It has one partition, named by the file's absolute path (so that "app.log" and its
// absolute path are the same partition on resume), and resumes from the byte offset
// after the last line read. A resumed run must find the same file: an offset past its
// end is an error.
func NewLineSource(path string) *LineSource {
	return &LineSource{path: path, batch: DefaultBatchSize}
}

// BatchSize sets the largest number of lines in a batch, overriding DefaultBatchSize.
// Values below 1 mean 1.
func (s *LineSource) BatchSize(n int) *LineSource {
	s.batch = max(n, 1)
	return s
}

// Partitions implements source.Partitioned.
func (s *LineSource) Partitions(context.Context) ([]string, error) {
	return filePartitions(s.path)
}

// Build implements source.Source.
func (s *LineSource) Build(_ context.Context, part source.Part, resume []byte) (source.Partition[string], error) {
	path, err := s.file(part)
	if err != nil {
		return nil, err
	}
	r, err := openLines(path, resume)
	if err != nil {
		return nil, err
	}
	return newLinePart(r, s.batch), nil
}

func (s *LineSource) file(part source.Part) (string, error) {
	if err := checkFilePartition(s.path, part); err != nil {
		return "", err
	}
	return s.path, nil
}

// partitionName is the partition of the single file at path: its absolute path, the same
// however path is spelled. Not its base name, which a resumed run could find on another
// file (yesterday's directory, today's) and read from the old offset, losing rows
// without an error; a file that moved is refused instead, naming both paths.
func partitionName(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("weir: files: %w", err)
	}
	return abs, nil
}

// filePartitions lists the one partition of a single-file source.
func filePartitions(path string) ([]string, error) {
	name, err := partitionName(path)
	if err != nil {
		return nil, err
	}
	return []string{name}, nil
}

func checkFilePartition(path string, part source.Part) error {
	name, err := partitionName(path)
	if err != nil {
		return err
	}
	if part.Partition != name {
		return fmt.Errorf("weir: files: %s: unknown partition %q", path, part.Partition)
	}
	return nil
}

func (s *LineSource) batchSize() int { return s.batch }

// decodeOffset decodes a resume position written by encodeOffset; nil means 0.
func decodeOffset(path string, resume []byte) (int64, error) {
	if resume == nil {
		return 0, nil
	}
	v, n := binary.Uvarint(resume)
	if n <= 0 || n != len(resume) || v > 1<<62 {
		return 0, fmt.Errorf("weir: files: %s: corrupt resume position %x", path, resume)
	}
	return int64(v), nil
}

func encodeOffset(off int64) []byte { return binary.AppendUvarint(nil, uint64(off)) }

// decodeOffLine decodes a resume position written by encodeOffLine: the byte offset and
// the file's line number after the last row read, so that errors name the right line
// without counting from the start. Unlike decodeOffset, it takes no nil.
func decodeOffLine(path string, resume []byte) (off int64, line int, err error) {
	o, n := binary.Uvarint(resume)
	var l uint64
	m := 0
	if n > 0 {
		l, m = binary.Uvarint(resume[n:])
	}
	if n <= 0 || m <= 0 || n+m != len(resume) || o > 1<<62 || l > 1<<62 {
		return 0, 0, fmt.Errorf("weir: files: %s: corrupt resume position %x", path, resume)
	}
	return int64(o), int(l), nil
}

func encodeOffLine(off int64, line int) []byte {
	return binary.AppendUvarint(binary.AppendUvarint(nil, uint64(off)), uint64(line))
}

// openAt opens path for reading at byte offset off, which must not be past its end.
func openAt(path string, off int64) (*os.File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("weir: files: %w", err)
	}
	if off > 0 {
		info, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("weir: files: %w", err)
		}
		if off > info.Size() {
			f.Close()
			return nil, fmt.Errorf("weir: files: %s: resume offset %d is past the end of the file (%d bytes); was it replaced?", path, off, info.Size())
		}
		if _, err := f.Seek(off, io.SeekStart); err != nil {
			f.Close()
			return nil, fmt.Errorf("weir: files: %w", err)
		}
	}
	return f, nil
}

// lineReader reads the lines of a file and knows the byte offset after the last line it
// returned: that offset, not the file's read position (bufio reads ahead), is what a
// resumed run must seek to.
type lineReader struct {
	path string
	f    *os.File
	r    *bufio.Reader
	off  int64
	ext  *extent // off, published per batch by the partition
}

// openLines opens path at the position encoded in resume (nil: the start).
func openLines(path string, resume []byte) (*lineReader, error) {
	off, err := decodeOffset(path, resume)
	if err != nil {
		return nil, err
	}
	return openLinesAt(path, off)
}

// openLinesAt opens path at byte offset off.
func openLinesAt(path string, off int64) (*lineReader, error) {
	f, err := openAt(path, off)
	if err != nil {
		return nil, err
	}
	ext, err := newExtent(f, off)
	if err != nil {
		f.Close()
		return nil, err
	}
	return &lineReader{path: path, f: f, r: bufio.NewReaderSize(f, 64<<10), off: off, ext: ext}, nil
}

// next returns the next line without its line ending, or io.EOF when there is none.
func (l *lineReader) next() (string, error) {
	line, err := l.r.ReadString('\n')
	if line != "" {
		l.off += int64(len(line))
		return text.TrimEOL(line), nil
	}
	if err == io.EOF {
		return "", io.EOF
	}
	if err != nil {
		return "", fmt.Errorf("weir: files: %s: %w", l.path, err)
	}
	return "", nil // not reached: ReadString returns data or an error
}

// read appends up to n lines to buf.
func (l *lineReader) read(buf []string, n int) ([]string, error) {
	for range n {
		line, err := l.next()
		if err != nil {
			return buf, err
		}
		buf = append(buf, line)
	}
	return buf, nil
}

func (l *lineReader) snapshot() []byte { return encodeOffset(l.off) }
func (l *lineReader) close() error     { return l.f.Close() }

type linePart struct {
	r     *lineReader
	batch int
	buf   []string
	*extent
}

func newLinePart(r *lineReader, batch int) *linePart {
	return &linePart{r: r, batch: batch, extent: r.ext}
}

func (p *linePart) Next(context.Context) ([]string, error) {
	var err error
	p.buf, err = p.r.read(p.buf[:0], p.batch)
	p.read.Store(p.r.off)
	return p.buf, err
}

func (p *linePart) Snapshot() []byte { return p.r.snapshot() }

func (p *linePart) Close() error { return p.r.close() }
