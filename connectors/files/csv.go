package files

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/weirflow/weir/source"
)

// CSVError reports a CSV row that could not be read or decoded.
type CSVError struct {
	Path   string // the file
	Line   int    // 1-based line of the file where the error is
	Column int    // 1-based byte column in the line
	Offset int64  // byte offset in the file where the row starts
	Header string // the column's header, or "" when the row itself is malformed
	Value  string // the cell, when it could not be decoded
	Err    error  // the cause
}

func (e *CSVError) Error() string {
	if e.Header == "" {
		return fmt.Sprintf("weir: files: %s:%d:%d: %v (the row at byte %d)", e.Path, e.Line, e.Column, e.Err, e.Offset)
	}
	return fmt.Sprintf("weir: files: %s:%d:%d: column %q: invalid value %q: %v (the row at byte %d)", e.Path, e.Line, e.Column, e.Header, e.Value, e.Err, e.Offset)
}

func (e *CSVError) Unwrap() error { return e.Err }

// csvConfig holds the settings shared by both CSV sources.
type csvConfig struct {
	path   string
	batch  int
	comma  rune
	policy ErrorPolicy
	bad    *badCount
}

func newCSVConfig(path string) csvConfig {
	return csvConfig{path: path, batch: DefaultBatchSize, comma: ',', bad: new(badCount)}
}

// CSVSource is a source of the rows of a CSV file as maps; see NewCSVSource.
type CSVSource struct{ cfg csvConfig }

// NewCSVSource returns a source of the rows of the CSV file (RFC 4180, as read by
// encoding/csv) at path, each a map from the header's column names to the row's cells.
// The first row is the header; every row must have as many cells as it has. A UTF-8 byte
// order mark before the header is dropped.
//
// It has one partition, named by the file's absolute path (so that "clicks.csv" and its
// absolute path are the same partition on resume), and resumes from the byte offset
// after the last row read (quoted cells spanning lines included); a resumed run reads the
// header again, so the file must be the same, or only appended to.
//
// A malformed row (a bare quote, a wrong number of cells) fails the run with a *CSVError
// naming the file, line and byte offset, unless OnError says to skip it, or Read sends it
// to a stream of BadRow.
func NewCSVSource(path string) *CSVSource {
	return &CSVSource{cfg: newCSVConfig(path)}
}

// BatchSize sets the largest number of rows in a batch, overriding DefaultBatchSize.
// Values below 1 mean 1.
func (s *CSVSource) BatchSize(n int) *CSVSource {
	s.cfg.batch = max(n, 1)
	return s
}

// Comma sets the field delimiter, overriding the default ','.
func (s *CSVSource) Comma(r rune) *CSVSource {
	s.cfg.comma = r
	return s
}

// OnError sets what the source does with a malformed row, overriding the default, Fail.
// Read sends such rows to its stream of BadRow whatever this says.
func (s *CSVSource) OnError(p ErrorPolicy) *CSVSource {
	s.cfg.policy = policy(p)
	return s
}

// Skipped returns the number of rows skipped (OnError(Skip)) by the runs of this source
// in this process so far. A resumed run counts again the rows it reads again: those
// after the last snapshot of the run before it.
func (s *CSVSource) Skipped() int64 { return s.cfg.bad.n.Load() }

// Partitions implements source.Partitioned.
func (s *CSVSource) Partitions(context.Context) ([]string, error) {
	return filePartitions(s.cfg.path)
}

// Build implements source.Source.
func (s *CSVSource) Build(_ context.Context, part source.Part, resume []byte) (source.Partition[map[string]string], error) {
	r, err := openCSV(s.cfg, part, resume)
	if err != nil {
		return nil, err
	}
	return newCSVPart(r, s.cfg.batch, csvMap(r)), nil
}

func (s *CSVSource) deadLetters() source.Source[result[map[string]string]] {
	cfg := s.cfg
	cfg.policy = deadLetter
	return &resultSource[map[string]string]{parts: s.Partitions, build: func(part source.Part, resume []byte) (source.Partition[result[map[string]string]], error) {
		r, err := openCSV(cfg, part, resume)
		if err != nil {
			return nil, err
		}
		return newCSVPart(r, cfg.batch, withBad(csvMap(r))), nil
	}}
}

// csvMap decodes a row into a new map: consumers may keep rows, and the batch is only
// borrowed, so maps are not reused.
func csvMap(r *csvReader) func(*map[string]string, []string) error {
	return func(dst *map[string]string, rec []string) error {
		m := make(map[string]string, len(rec))
		for i, h := range r.header {
			m[h] = rec[i]
		}
		*dst = m
		return nil
	}
}

// csvPart is a partition of a CSV source, emitting rows decoded into T (T is a result
// for Read: a row or a bad row).
type csvPart[T any] struct {
	r      *csvReader
	batch  int
	decode func(dst *T, rec []string) error
	buf    []T
	*extent
}

func newCSVPart[T any](r *csvReader, batch int, decode func(*T, []string) error) *csvPart[T] {
	return &csvPart[T]{r: r, batch: batch, decode: decode, extent: r.ext}
}

func (p *csvPart[T]) Next(context.Context) (_ []T, err error) {
	defer func() {
		if err == io.EOF {
			p.read.Store(p.size) // the reader's offset may stop short of a last empty line
		} else {
			p.read.Store(p.r.nextOff)
		}
	}()
	p.buf = p.buf[:0]
	var zero T
	for len(p.buf) < p.batch {
		rec, err := p.r.next()
		if err == nil {
			p.buf = append(p.buf, zero)
			if err = p.decode(&p.buf[len(p.buf)-1], rec); err == nil {
				p.r.accept()
				continue
			}
			p.buf = p.buf[:len(p.buf)-1]
		}
		if err == io.EOF {
			return p.buf, io.EOF
		}
		bad, err := p.r.bad(err)
		if err != nil {
			return p.buf, err
		}
		if bad != nil {
			// Dead letters: T is a result, which carries the bad row.
			p.buf = append(p.buf, zero)
			any(&p.buf[len(p.buf)-1]).(badSetter).setBad(bad)
		}
		p.r.accept()
	}
	return p.buf, nil
}

func (p *csvPart[T]) Snapshot() []byte { return p.r.snapshot() }
func (p *csvPart[T]) Close() error     { return p.r.f.Close() }

// CSVStructSource is a source of the rows of a CSV file decoded into structs; see
// NewCSVStructSource.
type CSVStructSource[T any] struct{ cfg csvConfig }

// NewCSVStructSource returns a source of the rows of the CSV file at path, read as by
// NewCSVSource, each decoded into a T, which must be a struct.
//
// An exported field takes the column named by its `csv:"name"` tag, or else the column
// whose name equals the field's name ignoring case; `csv:"-"` skips a field. A tagged
// field whose column is missing is an error when the source is built; an untagged one is
// left zero, as are columns no field takes. Fields may be strings, bools
// (strconv.ParseBool), ints and uints of any size, floats, time.Time (RFC 3339) and
// time.Duration (time.ParseDuration), or types defined on them. Cells are trimmed of
// spaces, except for strings; an empty cell gives the zero value. A cell that cannot be
// decoded stops the run with a *CSVError naming the file, line, column and value.
//
// A malformed row, or a cell that cannot be decoded, is handled as by NewCSVSource: it
// fails the run unless OnError or Read says otherwise.
func NewCSVStructSource[T any](path string) *CSVStructSource[T] {
	return &CSVStructSource[T]{cfg: newCSVConfig(path)}
}

// BatchSize sets the largest number of rows in a batch, overriding DefaultBatchSize.
// Values below 1 mean 1.
func (s *CSVStructSource[T]) BatchSize(n int) *CSVStructSource[T] {
	s.cfg.batch = max(n, 1)
	return s
}

// Comma sets the field delimiter, overriding the default ','.
func (s *CSVStructSource[T]) Comma(r rune) *CSVStructSource[T] {
	s.cfg.comma = r
	return s
}

// OnError sets what the source does with a malformed row or a cell it cannot decode,
// overriding the default, Fail. Read sends such rows to its stream of BadRow whatever
// this says.
func (s *CSVStructSource[T]) OnError(p ErrorPolicy) *CSVStructSource[T] {
	s.cfg.policy = policy(p)
	return s
}

// Skipped returns the number of rows skipped, as CSVSource.Skipped does.
func (s *CSVStructSource[T]) Skipped() int64 { return s.cfg.bad.n.Load() }

// Partitions implements source.Partitioned.
func (s *CSVStructSource[T]) Partitions(context.Context) ([]string, error) {
	return filePartitions(s.cfg.path)
}

// Build implements source.Source.
func (s *CSVStructSource[T]) Build(_ context.Context, part source.Part, resume []byte) (source.Partition[T], error) {
	r, decode, err := openCSVStruct[T](s.cfg, part, resume)
	if err != nil {
		return nil, err
	}
	return newCSVPart(r, s.cfg.batch, decode), nil
}

func (s *CSVStructSource[T]) deadLetters() source.Source[result[T]] {
	cfg := s.cfg
	cfg.policy = deadLetter
	return &resultSource[T]{parts: s.Partitions, build: func(part source.Part, resume []byte) (source.Partition[result[T]], error) {
		r, decode, err := openCSVStruct[T](cfg, part, resume)
		if err != nil {
			return nil, err
		}
		return newCSVPart(r, cfg.batch, withBad(decode)), nil
	}}
}

func openCSVStruct[T any](cfg csvConfig, part source.Part, resume []byte) (*csvReader, func(*T, []string) error, error) {
	fields, err := structFields[T](cfg.path)
	if err != nil {
		return nil, nil, err
	}
	r, err := openCSV(cfg, part, resume)
	if err != nil {
		return nil, nil, err
	}
	cols, err := bindColumns(cfg.path, fields, r.header)
	if err != nil {
		r.f.Close()
		return nil, nil, err
	}
	return r, func(dst *T, rec []string) error { return r.decode(unsafe.Pointer(dst), cols, rec) }, nil
}

// csvReader reads the rows of a CSV file after its header and knows the byte offset after
// the last accepted row, from csv.Reader.InputOffset: exact even with quoted newlines,
// unlike the file's read position (the reader buffers ahead).
type csvReader struct {
	path   string
	policy ErrorPolicy
	skips  *badCount
	f      *os.File
	r      *csv.Reader
	header []string
	base   int64 // file offset where r starts
	lines  int   // lines of the file before r's first line
	// Position after the last accepted row, and after the last row read.
	off, nextOff   int64
	line, nextLine int // last line of that row
	ext            *extent
}

// openCSV opens the CSV file, reads its header, and positions it at resume (nil: right
// after the header). The resume position is the byte offset and the file's line number
// after the last row, so that errors name the right line without counting from the start.
func openCSV(cfg csvConfig, part source.Part, resume []byte) (*csvReader, error) {
	if err := checkFilePartition(cfg.path, part); err != nil {
		return nil, err
	}
	var off int64
	var line int
	if resume != nil {
		var err error
		if off, line, err = decodeOffLine(cfg.path, resume); err != nil {
			return nil, err
		}
	}
	f, err := os.Open(cfg.path)
	if err != nil {
		return nil, fmt.Errorf("weir: files: %w", err)
	}
	c := &csvReader{path: cfg.path, policy: cfg.policy, skips: cfg.bad, f: f}
	fail := func(err error) (*csvReader, error) {
		f.Close()
		return nil, err
	}
	hr := newCSV(f, cfg.comma)
	header, err := hr.Read()
	if err != nil && err != io.EOF {
		return fail(c.wrap(err))
	}
	var headerEnd int64
	var headerLine int
	if err == nil {
		c.header = header
		c.header[0] = strings.TrimPrefix(c.header[0], "\ufeff")
		headerEnd, headerLine = hr.InputOffset(), endLine(hr, header)
	}
	if resume == nil {
		off, line = headerEnd, headerLine
	}
	info, err := f.Stat()
	if err != nil {
		return fail(fmt.Errorf("weir: files: %w", err))
	}
	c.ext = &extent{size: info.Size()}
	c.ext.read.Store(off)
	if off > info.Size() {
		return fail(fmt.Errorf("weir: files: %s: resume offset %d is past the end of the file (%d bytes); was it replaced?", cfg.path, off, info.Size()))
	}
	if off < headerEnd || line < headerLine {
		return fail(fmt.Errorf("weir: files: %s: resume position %d (line %d) is inside the header; was the file replaced?", cfg.path, off, line))
	}
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return fail(fmt.Errorf("weir: files: %w", err))
	}
	c.r = newCSV(f, cfg.comma)
	c.r.FieldsPerRecord = len(c.header)
	c.base, c.off, c.nextOff = off, off, off
	c.lines, c.line, c.nextLine = line, line, line
	return c, nil
}

func newCSV(r io.Reader, comma rune) *csv.Reader {
	cr := csv.NewReader(r)
	cr.Comma = comma
	cr.ReuseRecord = true // rows are copied into maps or decoded into structs
	return cr
}

// endLine returns the line, relative to r's start, on which rec (just read) ends: a
// quoted cell with newlines moves it past its first line.
func endLine(r *csv.Reader, rec []string) int {
	last := len(rec) - 1
	line, _ := r.FieldPos(last)
	return line + strings.Count(rec[last], "\n")
}

// next reads the next row, which counts as read (and snapshotted) only after accept.
// The header-less empty file has no rows.
func (c *csvReader) next() ([]string, error) {
	if c.header == nil {
		return nil, io.EOF
	}
	rec, err := c.r.Read()
	if err == io.EOF {
		return nil, io.EOF
	}
	if err != nil {
		return nil, c.wrap(err)
	}
	c.nextOff = c.base + c.r.InputOffset()
	c.nextLine = c.lines + endLine(c.r, rec)
	return rec, nil
}

func (c *csvReader) accept() { c.off, c.line = c.nextOff, c.nextLine }

func (c *csvReader) snapshot() []byte {
	return encodeOffLine(c.off, c.line)
}

// wrap turns an error of the csv reader into a *CSVError with the file's line numbers.
func (c *csvReader) wrap(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &CSVError{Path: c.path, Line: c.lines + pe.Line, Column: pe.Column, Err: pe.Err}
	}
	return fmt.Errorf("weir: files: %s: %w", c.path, err)
}

// A column binds a CSV column to a struct field: where it is and how to parse it.
type column struct {
	index  int // in the row
	offset uintptr
	kind   reflect.Kind
	bits   int
	typ    string // for errors
}

// Pseudo-kinds for the struct types that are parsed specially.
const (
	kindTime     = reflect.UnsafePointer + 100
	kindDuration = reflect.UnsafePointer + 101
)

type structField struct {
	name   string
	tagged bool
	col    column
}

// structFields lists the fields of T that take a column. Reflection runs once per Build;
// rows are then decoded by writing at field offsets, with no reflection per row.
func structFields[T any](path string) ([]structField, error) {
	t := reflect.TypeFor[T]()
	if t.Kind() != reflect.Struct {
		return nil, fmt.Errorf("weir: files: %s: cannot decode CSV rows into %v: not a struct", path, t)
	}
	var out []structField
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag, tagged := f.Tag.Lookup("csv")
		name, _, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name, tagged = f.Name, false
		}
		col := column{offset: f.Offset, kind: f.Type.Kind(), typ: f.Type.String()}
		switch {
		case f.Type == reflect.TypeFor[time.Time]():
			col.kind = kindTime
		case f.Type == reflect.TypeFor[time.Duration]():
			col.kind = kindDuration
		}
		switch col.kind {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
			reflect.Float32, reflect.Float64:
			col.bits = f.Type.Bits()
		case reflect.String, reflect.Bool, kindTime, kindDuration:
		default:
			return nil, fmt.Errorf("weir: files: %s: field %s.%s has type %v, which CSV cells cannot be decoded into", path, t, f.Name, f.Type)
		}
		out = append(out, structField{name: name, tagged: tagged, col: col})
	}
	return out, nil
}

// bindColumns finds each field's column in the header.
func bindColumns(path string, fields []structField, header []string) ([]column, error) {
	var cols []column
	for _, f := range fields {
		idx := -1
		for i, h := range header {
			if h == f.name || (!f.tagged && strings.EqualFold(h, f.name)) {
				idx = i
				break
			}
		}
		if idx < 0 {
			if f.tagged {
				return nil, fmt.Errorf("weir: files: %s: no column %q in the header %q", path, f.name, header)
			}
			continue
		}
		f.col.index = idx
		cols = append(cols, f.col)
	}
	return cols, nil
}

// decode sets the fields of the struct at dst from rec.
func (c *csvReader) decode(dst unsafe.Pointer, cols []column, rec []string) error {
	for _, col := range cols {
		s := rec[col.index]
		if col.kind != reflect.String {
			s = strings.TrimSpace(s)
			if s == "" {
				continue // the zero value, already there
			}
		}
		if err := setField(unsafe.Add(dst, col.offset), col, s); err != nil {
			line, pos := c.r.FieldPos(col.index)
			return &CSVError{Path: c.path, Line: c.lines + line, Column: pos, Header: c.header[col.index], Value: rec[col.index], Err: err}
		}
	}
	return nil
}

func setField(p unsafe.Pointer, col column, s string) error {
	switch col.kind {
	case reflect.String:
		*(*string)(p) = s
	case reflect.Bool:
		v, err := strconv.ParseBool(s)
		if err != nil {
			return errors.New("not a bool")
		}
		*(*bool)(p) = v
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v, err := strconv.ParseInt(s, 10, col.bits)
		if err != nil {
			return numError(err, col)
		}
		switch col.kind {
		case reflect.Int:
			*(*int)(p) = int(v)
		case reflect.Int8:
			*(*int8)(p) = int8(v)
		case reflect.Int16:
			*(*int16)(p) = int16(v)
		case reflect.Int32:
			*(*int32)(p) = int32(v)
		default:
			*(*int64)(p) = v
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v, err := strconv.ParseUint(s, 10, col.bits)
		if err != nil {
			return numError(err, col)
		}
		switch col.kind {
		case reflect.Uint:
			*(*uint)(p) = uint(v)
		case reflect.Uint8:
			*(*uint8)(p) = uint8(v)
		case reflect.Uint16:
			*(*uint16)(p) = uint16(v)
		case reflect.Uint32:
			*(*uint32)(p) = uint32(v)
		default:
			*(*uint64)(p) = v
		}
	case reflect.Float32, reflect.Float64:
		v, err := strconv.ParseFloat(s, col.bits)
		if err != nil {
			return numError(err, col)
		}
		if col.kind == reflect.Float32 {
			*(*float32)(p) = float32(v)
		} else {
			*(*float64)(p) = v
		}
	case kindTime:
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return errors.New("not an RFC 3339 time")
		}
		*(*time.Time)(p) = v
	case kindDuration:
		v, err := time.ParseDuration(s)
		if err != nil {
			return errors.New("not a duration")
		}
		*(*time.Duration)(p) = v
	}
	return nil
}

func numError(err error, col column) error {
	if errors.Is(err, strconv.ErrRange) {
		return fmt.Errorf("out of range for %s", col.typ)
	}
	return fmt.Errorf("not a valid %s", col.typ)
}
