package files_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/weirflow/weir/connectors/files"
	"github.com/weirflow/weir/source"
)

type letter struct {
	A string `csv:"a"`
}

// sized is a partition as metrics and the progress line read it.
type sized interface {
	source.Lagger
	source.Sizer
}

// TestExtent reads each kind of file partition batch by batch, from the start and from a
// resume position, and checks that Size is the file's size and Lag the bytes left after
// each batch, 0 at the end.
func TestExtent(t *testing.T) {
	dir := t.TempDir()
	lines := "one\ntwo\nthree\nfour\nfive" // no newline at the end
	csvText := "a\nx\ny\n\"z\nz\"\nw\n"
	for name, content := range map[string]string{"in.txt": lines, "in.csv": csvText} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	txt, csvPath := filepath.Join(dir, "in.txt"), filepath.Join(dir, "in.csv")
	parse := func(s string) (string, error) { return s, nil }
	for _, tc := range []struct {
		name string
		src  func() any // a source.Source of some T
		part string
		size int64
		lags []int64 // after each batch of 2
	}{
		{"lines", func() any { return files.NewLineSource(txt).BatchSize(2) }, txt, 23, []int64{15, 4, 0}},
		{"dir", func() any { return files.NewDirSource(dir, "*.txt").BatchSize(2) }, "in.txt", 23, []int64{15, 4, 0}},
		{"parsed", func() any { return files.ParseLines(files.NewLineSource(txt).BatchSize(2), parse) }, txt, 23, []int64{15, 4, 0}},
		{"csv", func() any { return files.NewCSVSource(csvPath).BatchSize(2) }, csvPath, 14, []int64{8, 0}},
		{"csv struct", func() any { return files.NewCSVStructSource[letter](csvPath).BatchSize(2) }, csvPath, 14, []int64{8, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var resume []byte
			p, next, snap := open(t, tc.src(), tc.part, nil)
			s, ok := p.(sized)
			if !ok {
				t.Fatalf("%T is not a Lagger and a Sizer", p)
			}
			if size, ok := s.Size(); !ok || size != tc.size {
				t.Errorf("Size() = %d %v, want %d", size, ok, tc.size)
			}
			start := tc.size
			if tc.part == csvPath {
				start -= 2 // the header, read when the partition opens
			}
			if lag, ok := s.Lag(); !ok || lag != start {
				t.Errorf("Lag() before reading = %d %v, want %d", lag, ok, start)
			}
			for i, want := range tc.lags {
				err := next()
				if err != nil && err != io.EOF {
					t.Fatal(err)
				}
				if lag, _ := s.Lag(); lag != want {
					t.Errorf("Lag() after batch %d = %d, want %d", i+1, lag, want)
				}
				if i == 0 {
					resume = snap()
				}
				if err == io.EOF {
					break
				}
			}
			p2, _, _ := open(t, tc.src(), tc.part, resume)
			if lag, _ := p2.(sized).Lag(); lag != tc.lags[0] {
				t.Errorf("Lag() at the resume position = %d, want %d", lag, tc.lags[0])
			}
		})
	}
}

// open builds partition part of src, a source.Source[T], and returns it with functions
// that read its next batch and take its snapshot.
func open(t *testing.T, src any, part string, resume []byte) (p any, next func() error, snap func() []byte) {
	t.Helper()
	sp := source.Part{Step: "f.in", Partition: part, Workers: 1}
	ctx := context.Background()
	var err error
	switch s := src.(type) {
	case source.Source[string]:
		var q source.Partition[string]
		q, err = s.Build(ctx, sp, resume)
		p, next, snap = q, func() error { _, err := q.Next(ctx); return err }, q.Snapshot
	case source.Source[map[string]string]:
		var q source.Partition[map[string]string]
		q, err = s.Build(ctx, sp, resume)
		p, next, snap = q, func() error { _, err := q.Next(ctx); return err }, q.Snapshot
	case source.Source[letter]:
		var q source.Partition[letter]
		q, err = s.Build(ctx, sp, resume)
		p, next, snap = q, func() error { _, err := q.Next(ctx); return err }, q.Snapshot
	default:
		t.Fatalf("a source of %T", src)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.(interface{ Close() error }).Close() })
	return p, next, snap
}
