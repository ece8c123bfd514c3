package files

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/weirflow/weir/sink"
)

// formatter holds the item format shared by the file sinks.
type formatter[T any] func(buf []byte, item T) []byte

// defaultFormat returns the format of a sink that was not given one: fmt's %v, with
// strings appended as they are, without fmt's work.
func defaultFormat[T any]() formatter[T] {
	if f, ok := any(formatter[string](appendString)).(formatter[T]); ok {
		return f
	}
	return func(buf []byte, item T) []byte { return fmt.Appendf(buf, "%v", item) }
}

func appendString(buf []byte, s string) []byte { return append(buf, s...) }

// FileSink writes a stream to one file; see NewFileSink.
type FileSink[T any] struct {
	path   string
	format formatter[T]
	header string
}

// NewFileSink returns a sink that writes each item of a stream to the file at path, on
// its own line, formatted with %v unless Format says otherwise: a string is written as it
// is, a weir.KV as "(key, value)". The file's directory is created if missing.
//
// It is a partitioned sink with one partition, named by the file's base name (so that
// "out.txt", its absolute path, and the file moved to another directory resume the same
// partition: unlike a source's offset, the length a resumed run truncates to is checked
// against the file), and one worker writes the file, in epoch order: the items of a
// keyed stream, and of any other, all go there. Lines are buffered and reach the file at every epoch close, so a
// reader of the file sees the output of each epoch as the epoch closes, with or without
// a recovery store, and all of it at the end of the run, when the file is also fsynced.
// A run stopped by its context (Ctrl-C) also writes out every line given to the sink
// before it stopped; items still inside the flow are not written.
//
// With a recovery store, each epoch close also fsyncs the file and snapshots its length;
// a resumed run truncates the file to that length before writing, which drops what was
// written after the last completed epoch, so every item is in the file exactly once. A
// fresh start (no resume position) truncates the file to zero: it overwrites any earlier
// output.
func NewFileSink[T any](path string) *FileSink[T] {
	return &FileSink[T]{path: path, format: defaultFormat[T]()}
}

// Format sets how an item is written: fn appends the item's text, without a newline, to
// buf and returns the result, as strconv.AppendInt does, so that writing allocates
// nothing. It overrides the default, fmt's %v. CSV and JSONLines are ready-made ones. fn
// may be called from several workers at once (by a DirSink) and must be safe for that.
func (s *FileSink[T]) Format(fn func(buf []byte, item T) []byte) *FileSink[T] {
	s.format = fn
	return s
}

// Header sets a line (without its newline) written first to a file that is empty when
// the run opens it: on a fresh start, or on a resume before anything was written, but not
// again after the lines of an earlier run. CSVHeader makes the header of the CSV format.
// The default is none.
func (s *FileSink[T]) Header(line string) *FileSink[T] {
	s.header = line
	return s
}

// Partitions implements sink.Partitioned.
func (s *FileSink[T]) Partitions(context.Context) ([]string, error) {
	return []string{filepath.Base(s.path)}, nil
}

// Build implements sink.Sink.
func (s *FileSink[T]) Build(_ context.Context, part sink.Part, resume []byte) (sink.Partition[T], error) {
	if part.Partition != filepath.Base(s.path) {
		return nil, fmt.Errorf("weir: files: %s: unknown partition %q", s.path, part.Partition)
	}
	if err := os.MkdirAll(filepath.Dir(s.path), 0o755); err != nil {
		return nil, fmt.Errorf("weir: files: %w", err)
	}
	return openSinkFile(s.path, resume, s.format, s.header)
}

// DirSink writes a stream to the files of a directory; see NewDirSink.
type DirSink[T any] struct {
	dir    string
	names  []string
	format formatter[T]
	header string
}

// NewDirSink returns a sink that writes each item of a keyed stream (T is a weir.KV
// type) on its own line to one of n files in dir, chosen by the item's key, so that all
// the items of a key are in one file, in order. The items of a stream that is not keyed
// all go to one file, the empty key's: key the stream (op.KeyOn) to spread it over the
// files. The files are named "part-<i>", i from 0
// to n-1, with i zero-padded to the same width so that the names sort numerically (with
// n = 12: part-00 to part-11). Values of n below 1 mean 1. dir is created if missing.
//
// Each file is a partition, written and resumed as by NewFileSink: flushed at every
// epoch close, truncated to its snapshotted length on resume, and to zero on a fresh
// start. A resumed run must use the same n: the engine routes keys by the number of
// partitions.
func NewDirSink[T any](dir string, n int) *DirSink[T] {
	n = max(n, 1)
	width := len(strconv.Itoa(n - 1))
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("part-%0*d", width, i)
	}
	return &DirSink[T]{dir: dir, names: names, format: defaultFormat[T]()}
}

// Format sets how an item is written, as FileSink.Format does, overriding the default,
// fmt's %v.
func (s *DirSink[T]) Format(fn func(buf []byte, item T) []byte) *DirSink[T] {
	s.format = fn
	return s
}

// Header sets a line written first to each file that is empty when the run opens it, as
// FileSink.Header does. The default is none.
func (s *DirSink[T]) Header(line string) *DirSink[T] {
	s.header = line
	return s
}

// Partitions implements sink.Partitioned.
func (s *DirSink[T]) Partitions(context.Context) ([]string, error) {
	return slices.Clone(s.names), nil
}

// Build implements sink.Sink.
func (s *DirSink[T]) Build(_ context.Context, part sink.Part, resume []byte) (sink.Partition[T], error) {
	known := false
	for _, n := range s.names {
		known = known || n == part.Partition
	}
	if !known {
		return nil, fmt.Errorf("weir: files: %s: unknown partition %q", s.dir, part.Partition)
	}
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return nil, fmt.Errorf("weir: files: %w", err)
	}
	return openSinkFile(filepath.Join(s.dir, part.Partition), resume, s.format, s.header)
}

// openSinkFile opens path for writing at the length encoded in resume, truncating what
// follows it (nil: truncating it all), and writes header (if any) to a file left empty.
func openSinkFile[T any](path string, resume []byte, format formatter[T], header string) (*filePart[T], error) {
	size, err := decodeOffset(path, resume)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("weir: files: %w", err)
	}
	fail := func(err error) (*filePart[T], error) {
		f.Close()
		return nil, fmt.Errorf("weir: files: %w", err)
	}
	info, err := f.Stat()
	if err != nil {
		return fail(err)
	}
	if size > info.Size() {
		// Output the recovery store says is durable is gone: refuse rather than leave a hole.
		f.Close()
		return nil, fmt.Errorf("weir: files: %s: the file has %d bytes, fewer than the %d of its snapshot; was it replaced?", path, info.Size(), size)
	}
	if err := f.Truncate(size); err != nil {
		return fail(err)
	}
	if _, err := f.Seek(size, 0); err != nil {
		return fail(err)
	}
	// The truncation must be durable before new lines are: otherwise a crash could keep
	// stale bytes after the snapshotted length, under the next epoch's lines.
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	p := &filePart[T]{path: path, f: f, w: bufio.NewWriterSize(f, 64<<10), size: size, format: format}
	if size == 0 && header != "" {
		// Buffered like any line: it counts in the size the next snapshot records, so a
		// resume after it does not write it again.
		n, _ := p.w.WriteString(header + "\n")
		p.size += int64(n)
	}
	return p, nil
}

var _ sink.Flusher = (*filePart[int])(nil)

type filePart[T any] struct {
	path   string
	f      *os.File
	w      *bufio.Writer
	size   int64 // bytes written, flushed or not
	format formatter[T]
	buf    []byte
}

func (p *filePart[T]) Write(items []T) error {
	for i := range items {
		p.buf = append(p.format(p.buf[:0], items[i]), '\n')
		n, err := p.w.Write(p.buf)
		p.size += int64(n)
		if err != nil {
			return fmt.Errorf("weir: files: %s: %w", p.path, err)
		}
	}
	return nil
}

// Flush implements sink.Flusher, called at every epoch close of a run without a recovery
// store: it hands the buffered lines to the operating system, so that a reader of the
// file (tail -f) sees them, but does not fsync: without a store nothing is resumed, so
// nothing needs the lines to survive a crash of the machine.
func (p *filePart[T]) Flush() error {
	if err := p.w.Flush(); err != nil {
		return fmt.Errorf("weir: files: %s: %w", p.path, err)
	}
	return nil
}

// Snapshot, called at every epoch close of a run with a recovery store, flushes and
// fsyncs the file and returns its length. It panics if that fails, which fails the run
// before the epoch is committed: a snapshot claiming bytes that may not be on disk would
// break exactly-once on resume.
func (p *filePart[T]) Snapshot() []byte {
	if err := p.sync(); err != nil {
		panic(err)
	}
	return encodeOffset(p.size)
}

func (p *filePart[T]) sync() error {
	if err := p.Flush(); err != nil {
		return err
	}
	if err := p.f.Sync(); err != nil {
		return fmt.Errorf("weir: files: %s: %w", p.path, err)
	}
	return nil
}

// Close flushes and fsyncs the file, so that every line the run gave the sink is in it,
// whether the run ended, failed or was stopped by its context.
func (p *filePart[T]) Close() error {
	err := p.sync()
	if cerr := p.f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("weir: files: %s: %w", p.path, cerr)
	}
	return err
}
