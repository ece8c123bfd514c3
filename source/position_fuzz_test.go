package source_test

import (
	"context"
	"encoding/binary"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/weirflow/weir/source"
)

// readAll builds partition part of src at resume and reads it to its end.
func readAll[T any](src source.Source[T], part string, resume []byte) ([]T, error) {
	ctx := context.Background()
	p, err := src.Build(ctx, source.Part{Step: "flow.in", Partition: part, Workers: 1}, resume)
	if err != nil {
		return nil, err
	}
	defer p.Close()
	var got []T
	for {
		items, err := p.Next(ctx)
		got = append(got, items...)
		if err == io.EOF {
			return got, nil
		}
		if err != nil {
			return got, err
		}
	}
}

// A resume position comes from the recovery store, which a damaged disk or another
// program's directory may fill with anything: the helpers' sources take any position
// without a panic, refusing one they cannot use with an error of the package's, and resume
// a position they take where it says: after that many items of a slice or a sequence, at
// that byte of a text.
func FuzzHelperPosition(f *testing.F) {
	f.Add([]byte(nil), uint8(5))
	f.Add([]byte{3}, uint8(5))
	f.Add([]byte{9}, uint8(5))
	f.Add([]byte{0x80}, uint8(0))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, uint8(4))
	f.Add(binary.AppendUvarint(nil, 1<<63), uint8(2))
	f.Fuzz(func(t *testing.T, resume []byte, n uint8) {
		items := make([]int, n)
		for i := range items {
			items[i] = i
		}
		pos, k := binary.Uvarint(resume)
		valid := resume == nil || (k > 0 && k == len(resume))
		check := func(what string, got []int, err error, limit uint64) {
			t.Helper()
			if err != nil {
				if !strings.HasPrefix(err.Error(), "weir: source ") {
					t.Fatalf("%s at %x: %v: not the package's error", what, resume, err)
				}
				if valid && pos <= limit {
					t.Fatalf("%s at %x (%d of %d): %v", what, resume, pos, limit, err)
				}
				return
			}
			if !valid || pos > limit {
				t.Fatalf("%s at %x (%d of %d) read %v, want an error", what, resume, pos, limit, got)
			}
			if !slices.Equal(got, items[pos:]) {
				t.Fatalf("%s at %x read %v, want %v", what, resume, got, items[pos:])
			}
		}
		got, err := readAll(source.FromSlice(items...).BatchSize(2), "slice", resume)
		check("slice", got, err, uint64(n))
		got, err = readAll(source.FromSeq(slices.Values(items)).BatchSize(2), "seq", resume)
		check("seq", got, err, uint64(n))

		text := strings.Repeat("ab\n", int(n))
		lines, err := readAll(source.Lines(text).BatchSize(2), "lines", resume)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "weir: source ") {
				t.Fatalf("lines at %x: %v: not the package's error", resume, err)
			}
			if valid && pos <= uint64(len(text)) {
				t.Fatalf("lines at %x (%d of %d bytes): %v", resume, pos, len(text), err)
			}
			return
		}
		if !valid || pos > uint64(len(text)) {
			t.Fatalf("lines at %x (%d of %d bytes) read %q, want an error", resume, pos, len(text), lines)
		}
		if rest := text[pos:]; !strings.HasPrefix(rest, strings.Join(lines, "\n")) {
			t.Fatalf("lines at %x read %q, not the text from byte %d: %q", resume, lines, pos, rest)
		}
	})
}
