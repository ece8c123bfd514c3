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

// DefaultBatchSize is the largest number of lines in a batch unless BatchSize says
// otherwise.
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
// It has one partition, named path, and resumes from the byte offset after the last line
// read. A resumed run must find the same file: an offset past its end is an error.
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
	return []string{s.path}, nil
}

// Build implements source.Source.
func (s *LineSource) Build(_ context.Context, part source.Part, resume []byte) (source.Partition[string], error) {
	if part.Partition != s.path {
		return nil, fmt.Errorf("weir: files: unknown partition %q", part.Partition)
	}
	var off int64
	if resume != nil {
		v, n := binary.Uvarint(resume)
		if n <= 0 || n != len(resume) || v > 1<<62 {
			return nil, fmt.Errorf("weir: files: %s: corrupt resume position %x", s.path, resume)
		}
		off = int64(v)
	}
	f, err := os.Open(s.path)
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
			return nil, fmt.Errorf("weir: files: %s: resume offset %d is past the end of the file (%d bytes); was it replaced?", s.path, off, info.Size())
		}
		if _, err := f.Seek(off, io.SeekStart); err != nil {
			f.Close()
			return nil, fmt.Errorf("weir: files: %w", err)
		}
	}
	return &linePart{path: s.path, f: f, r: bufio.NewReaderSize(f, 64<<10), off: off, batch: s.batch}, nil
}

type linePart struct {
	path  string
	f     *os.File
	r     *bufio.Reader
	off   int64 // offset after the last line returned
	batch int
	buf   []string
}

func (p *linePart) Next(context.Context) ([]string, error) {
	p.buf = p.buf[:0]
	for len(p.buf) < p.batch {
		line, err := p.r.ReadString('\n')
		if line != "" {
			p.off += int64(len(line))
			p.buf = append(p.buf, trimEOL(line))
		}
		if err == io.EOF {
			return p.buf, io.EOF
		}
		if err != nil {
			return p.buf, fmt.Errorf("weir: files: %s: %w", p.path, err)
		}
	}
	return p.buf, nil
}

func trimEOL(line string) string {
	n := len(line)
	if n > 0 && line[n-1] == '\n' {
		n--
		if n > 0 && line[n-1] == '\r' {
			n--
		}
	}
	return line[:n]
}

func (p *linePart) Snapshot() []byte { return binary.AppendUvarint(nil, uint64(p.off)) }

func (p *linePart) Close() error { return p.f.Close() }
