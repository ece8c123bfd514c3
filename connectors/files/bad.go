package files

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/source"
)

// ErrorPolicy is what a CSV source does with a row it cannot read or decode, and what a
// ParseLines source does with a line its parse function refuses.
type ErrorPolicy int

const (
	// Fail stops the run with an error naming the file, the line, the byte offset of the
	// row and the cause (a *CSVError or *LineError), and the step and partition (a
	// *weir.StepError).
	// It is the default.
	Fail ErrorPolicy = iota
	// Skip drops the row and reads on; the source's Skipped method counts such rows.
	// OnError takes any other value for Fail.
	Skip
	// deadLetter hands the row to Read's stream of BadRow.
	deadLetter
)

// policy is p if it is Fail or Skip, else Fail: dead letters are Read's alone.
func policy(p ErrorPolicy) ErrorPolicy {
	if p == Skip {
		return Skip
	}
	return Fail
}

// badCount counts the rows a source skipped, over all its partitions and runs.
type badCount struct{ n atomic.Int64 }

// maxRaw is the most of a bad row's text that BadRow.Raw keeps: a quote left open can
// make the rest of a file one bad row.
const maxRaw = 64 << 10

// BadRow is a row that a source could not read or decode, with where it is: what Read
// sends to its second stream.
type BadRow struct {
	Path   string // the file, as the source was given it
	Line   int    // 1-based line of the file where the row starts
	Offset int64  // byte offset in the file where the row starts
	// Raw is the row's text as it is in the file (its quoted newlines included), without
	// the line ending after it, and cut at 64 KiB.
	Raw string
	Err error // the cause: a *CSVError or a *LineError
}

// String formats b as "path:line (byte offset): error: raw text".
func (b BadRow) String() string {
	return fmt.Sprintf("%s:%d (byte %d): %v: %q", b.Path, b.Line, b.Offset, b.Err, b.Raw)
}

// result is an item of a source read by Read: a row, or a bad row.
type result[T any] struct {
	row T
	bad *BadRow // rare: a pointer, so that good rows carry no BadRow
}

type badSetter interface{ setBad(*BadRow) }

func (r *result[T]) setBad(b *BadRow) { r.bad = b }

// withBad adapts a row decoder to results.
func withBad[T any](decode func(*T, []string) error) func(*result[T], []string) error {
	return func(dst *result[T], rec []string) error { return decode(&dst.row, rec) }
}

// resultSource is a source in dead-letter mode: its items are results.
type resultSource[T any] struct {
	parts func(context.Context) ([]string, error)
	build func(source.Part, []byte) (source.Partition[result[T]], error)
}

func (s *resultSource[T]) Partitions(ctx context.Context) ([]string, error) { return s.parts(ctx) }

func (s *resultSource[T]) Build(_ context.Context, part source.Part, resume []byte) (source.Partition[result[T]], error) {
	return s.build(part, resume)
}

// Source is a source of this package that Read can split into rows and bad rows:
// NewCSVSource's, NewCSVStructSource's and ParseLines'.
type Source[T any] interface {
	source.Source[T]
	deadLetters() source.Source[result[T]]
}

// Read reads src into two streams: the rows (or parsed lines) it reads, and the rows it
// cannot read or decode (or the lines its parse function refuses), each with where it is
// in its file (a dead-letter stream, to write somewhere for
// inspection or repair instead of stopping the run). Both keep the file's order. src's
// OnError setting does not matter here.
//
// The input step is id, as with op.Input, so a flow can move from op.Input to Read and
// still resume; the steps that split its items are id_rows and id_bad. Positions are
// byte offsets as with op.Input: a resumed run reads on after the last row, good or bad,
// of the last completed epoch, so each bad row is in the second stream once per epoch
// that completes.
func Read[T any](id string, flow *weir.Dataflow, src Source[T]) (rows weir.Stream[T], bad weir.Stream[BadRow]) {
	in := op.Input(id, flow, src.deadLetters())
	rows = op.FlatMapBatch(id+"_rows", in, func(rs []result[T]) []T {
		out := make([]T, 0, len(rs))
		for i := range rs {
			if rs[i].bad == nil {
				out = append(out, rs[i].row)
			}
		}
		return out
	})
	bad = op.FlatMapBatch(id+"_bad", in, func(rs []result[T]) []BadRow {
		var out []BadRow
		for i := range rs {
			if rs[i].bad != nil {
				out = append(out, *rs[i].bad)
			}
		}
		return out
	})
	return rows, bad
}

// bad handles err, met reading the row after the last accepted one: an I/O error, or a
// row that is malformed or does not decode (a *CSVError). It fills in the row's offset,
// moves the next position past the row, and by the policy returns the error (Fail, and
// any error that is not the row's), or nothing (Skip: counted), or the bad row.
func (c *csvReader) bad(err error) (*BadRow, error) {
	var ce *CSVError
	if !errors.As(err, &ce) {
		return nil, err
	}
	malformed := ce.Header == "" // else a cell that does not decode, in a row read whole
	if malformed {
		// The csv reader has consumed the bad row, even when it returned no record.
		c.nextOff = c.base + c.r.InputOffset()
	}
	row, ends, err := c.span(c.off, c.nextOff)
	if err != nil {
		return nil, err
	}
	ce.Offset = row.Offset
	if malformed {
		c.nextLine = c.line + ends
	}
	switch c.policy {
	case Skip:
		c.skips.n.Add(1)
		return nil, nil
	case deadLetter:
		row.Err = ce
		return row, nil
	}
	return nil, ce // Fail, and any value OnError was given that is not a policy
}

// span reads the text of the row between the offsets from and to: it skips the blank
// lines before the row, which a CSV reader skips too, and drops the line ending after
// it. It returns the row and the number of lines the span ends (its newlines, plus one
// for a last line without a newline).
func (c *csvReader) span(from, to int64) (*BadRow, int, error) {
	row := &BadRow{Path: c.path, Line: c.line + 1, Offset: from}
	var raw []byte
	cut := false
	lines := 0
	leading := true
	buf := make([]byte, 32<<10)
	var last byte
	for off := from; off < to; {
		n, err := c.f.ReadAt(buf[:min(int64(len(buf)), to-off)], off)
		if n == 0 && err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, 0, fmt.Errorf("weir: files: %s: %w", c.path, err)
		}
		chunk := buf[:n]
		off += int64(n)
		last = chunk[n-1]
		lines += bytes.Count(chunk, []byte{'\n'})
		for leading && len(chunk) > 0 {
			// A blank line: "\n" or "\r\n".
			skip := 0
			switch {
			case chunk[0] == '\n':
				skip = 1
			case len(chunk) > 1 && chunk[0] == '\r' && chunk[1] == '\n':
				skip = 2
			default:
				leading = false
				continue
			}
			chunk = chunk[skip:]
			row.Offset += int64(skip)
			row.Line++
		}
		keep := min(len(chunk), maxRaw-len(raw))
		raw = append(raw, chunk[:keep]...)
		cut = cut || keep < len(chunk)
	}
	if last != '\n' && to > from {
		lines++
	}
	if !cut {
		raw = bytes.TrimSuffix(bytes.TrimSuffix(raw, []byte{'\n'}), []byte{'\r'})
	}
	row.Raw = string(raw)
	return row, lines, nil
}
