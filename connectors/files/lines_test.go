package files_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/connectors/files"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/recovery"
	"github.com/weirflow/weir/run"
	"github.com/weirflow/weir/source"
	"github.com/weirflow/weir/weirtest"
)

func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "in.txt")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func build(t *testing.T, src *files.LineSource, path string, resume []byte) source.Partition[string] {
	t.Helper()
	p, err := src.Build(context.Background(), source.Part{Step: "flow.in", Partition: path, Workers: 1}, resume)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func TestLineSource(t *testing.T) {
	tests := []struct {
		content string
		batch   int
		want    [][]string
	}{
		{"", 0, nil},
		{"a", 0, [][]string{{"a"}}},
		{"a\n", 0, [][]string{{"a"}}},
		{"a\r\nb\n\nc", 0, [][]string{{"a", "b", "", "c"}}},
		{"a\nb\nc\nd\ne\n", 2, [][]string{{"a", "b"}, {"c", "d"}, {"e"}}},
		{"a\nb\nc\nd", 2, [][]string{{"a", "b"}, {"c", "d"}}},
		{"x\ry\r\n", 1, [][]string{{"x\ry"}}},
		{strings.Repeat("long", 50000) + "\nshort\n", 0, [][]string{{strings.Repeat("long", 50000), "short"}}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%.20q/%d", tt.content, tt.batch), func(t *testing.T) {
			path := writeFile(t, tt.content)
			src := files.NewLineSource(path)
			if tt.batch != 0 {
				src.BatchSize(tt.batch)
			}
			var got [][]string
			p := build(t, src, path, nil)
			for {
				items, err := p.Next(context.Background())
				if len(items) > 0 {
					got = append(got, slices.Clone(items))
				}
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			if !slices.EqualFunc(got, tt.want, slices.Equal) {
				t.Fatalf("batches %.60q, want %.60q", got, tt.want)
			}
		})
	}
}

// TestLineSourceResume resumes after every batch, as if each were the last of a run, and
// checks that every line comes out once, in order.
func TestLineSourceResume(t *testing.T) {
	for _, content := range []string{"a\nbb\r\n\nccc\ndddd", "a\n", "", "\n\n\n"} {
		for _, batch := range []int{1, 2, 3} {
			t.Run(fmt.Sprintf("%q/%d", content, batch), func(t *testing.T) {
				path := writeFile(t, content)
				src := files.NewLineSource(path).BatchSize(batch)
				var got []string
				var resume []byte
				for range 100 {
					p := build(t, src, path, resume)
					items, err := p.Next(context.Background())
					got = append(got, items...)
					resume = p.Snapshot()
					if err == io.EOF {
						break
					}
					if err != nil {
						t.Fatal(err)
					}
				}
				want := strings.Split(strings.ReplaceAll(content, "\r\n", "\n"), "\n")
				if strings.HasSuffix(content, "\n") || content == "" {
					want = want[:len(want)-1]
				}
				if !slices.Equal(got, want) {
					t.Fatalf("lines %q, want %q", got, want)
				}
				// The last snapshot is the file's length.
				p := build(t, src, path, resume)
				if items, err := p.Next(context.Background()); len(items) != 0 || err != io.EOF {
					t.Fatalf("after the last snapshot: %q, %v; want io.EOF", items, err)
				}
			})
		}
	}
}

func TestLineSourceBuildErrors(t *testing.T) {
	path := writeFile(t, "abc\n")
	tests := []struct {
		name      string
		path      string
		partition string
		resume    []byte
		want      string
		is        error
	}{
		{"missing file", filepath.Join(t.TempDir(), "nope"), "", nil, "no such file", fs.ErrNotExist},
		{"unknown partition", path, "other", nil, `unknown partition "other"`, nil},
		{"corrupt resume", path, "", []byte{0x80}, "corrupt resume position", nil},
		{"trailing bytes", path, "", []byte{1, 1}, "corrupt resume position", nil},
		{"offset past the end", path, "", []byte{5}, "resume offset 5 is past the end of the file (4 bytes)", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			partition := tt.partition
			if partition == "" {
				partition = tt.path
			}
			_, err := files.NewLineSource(tt.path).Build(context.Background(), source.Part{Partition: partition}, tt.resume)
			if err == nil || !strings.HasPrefix(err.Error(), "weir: files: ") || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Build error %v, want one containing %q", err, tt.want)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Fatalf("Build error %v does not wrap %v", err, tt.is)
			}
		})
	}
}

// TestLineSourcePartitions: a file's partition is its absolute path, whatever the
// spelling of its path, so that a resumed run finds its position.
func TestLineSourcePartitions(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	want := filepath.Join(dir, "file")
	for _, path := range []string{want, "file", "./file", "a/../file", dir + "/./file"} {
		got, err := files.NewLineSource(path).Partitions(context.Background())
		if err != nil || !slices.Equal(got, []string{want}) {
			t.Errorf("%s: Partitions = %v, %v", path, got, err)
		}
		if got, err := files.NewCSVSource(path).Partitions(context.Background()); err != nil || !slices.Equal(got, []string{want}) {
			t.Errorf("%s: CSV Partitions = %v, %v", path, got, err)
		}
	}
	if got, _ := files.NewLineSource("other/file").Partitions(context.Background()); slices.Equal(got, []string{want}) {
		t.Errorf("another file with the same name has the same partition")
	}
}

// TestSourcesResumeUnderAnotherSpelling runs a line source and a CSV source on relative
// paths, aborts, and resumes them on the absolute paths of the same files: the rest of
// each file is read, exactly once.
func TestSourcesResumeUnderAnotherSpelling(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if err := os.WriteFile("clicks.txt", []byte("a\nb\nc\nd\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("clicks.csv", []byte("k\n1\n2\n3\n4\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	rec := weirtest.NewRecovery(t, 1)
	lines, rows := weirtest.NewSink[string](), weirtest.NewSink[string]()
	for i, prefix := range []string{"", dir + string(filepath.Separator)} {
		flow := weir.NewDataflow("flow")
		var ls source.Source[string] = files.NewLineSource(prefix + "clicks.txt").BatchSize(1)
		var cs source.Source[map[string]string] = files.NewCSVSource(prefix + "clicks.csv").BatchSize(1)
		if i == 0 {
			ls, cs = abortAfter(ls, 2), abortAfter(cs, 2)
		}
		l := op.Input("lines", flow, ls)
		c := op.Input("csv", flow, cs)
		op.Output("out_lines", l, lines)
		op.Output("out_csv", op.Map("k", c, func(r map[string]string) string { return r["k"] }), rows)
		rec.Run(t, flow, 1)
	}
	if got := lines.Items(); !slices.Equal(got, []string{"a", "b", "c", "d"}) {
		t.Errorf("lines %q", got)
	}
	if got := rows.Items(); !slices.Equal(got, []string{"1", "2", "3", "4"}) {
		t.Errorf("rows %q", got)
	}
}

func TestLineSourceInAFlow(t *testing.T) {
	var content strings.Builder
	for i := range 3000 {
		fmt.Fprintf(&content, "%d\n", i)
	}
	path := writeFile(t, content.String())
	flow := weir.NewDataflow("flow")
	out := weirtest.NewSink[string]()
	op.Output("out", op.Input("in", flow, files.NewLineSource(path)), out)
	weirtest.Run(t, flow, 2)
	got := out.Items()
	if len(got) != 3000 || got[0] != "0" || got[2999] != "2999" {
		t.Fatalf("%d lines, first %q, last %q", len(got), got[0], got[len(got)-1])
	}
}

func ExampleNewLineSource() {
	dir, err := os.MkdirTemp("", "weir-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "words.txt")
	if err := os.WriteFile(path, []byte("apple\nbanana\ncherry\n"), 0o644); err != nil {
		fmt.Println(err)
		return
	}

	flow := weir.NewDataflow("flow")
	words := op.Input("words", flow, files.NewLineSource(path))
	out := weirtest.NewSink[int]()
	op.Output("out", op.Map("len", words, func(w string) int { return len(w) }), out)
	if err := run.Run(context.Background(), flow); err != nil {
		fmt.Println(err)
	}
	fmt.Println(out.Items())
	// Output: [5 6 6]
}

// TestSourceRefusesAnotherFileOfTheSameName: a resumed run given another file with the
// same base name is refused, not read from the first file's offset.
func TestSourceRefusesAnotherFileOfTheSameName(t *testing.T) {
	tmp := t.TempDir()
	paths := []string{filepath.Join(tmp, "a", "clicks.txt"), filepath.Join(tmp, "b", "clicks.txt")}
	for _, p := range paths {
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte("1\n2\n3\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rec := weirtest.NewRecovery(t, 1)
	flow := func(path string) *weir.Dataflow {
		flow := weir.NewDataflow("flow")
		op.Output("out", op.Input("in", flow, abortAfter[string](files.NewLineSource(path).BatchSize(1), 1)), weirtest.NewSink[string]())
		return flow
	}
	rec.Run(t, flow(paths[0]), 1)
	err := run.Run(context.Background(), flow(paths[1]), rec.Options(1)...)
	var pc *recovery.PartitionsChangedError
	if !errors.As(err, &pc) || !slices.Equal(pc.Missing, paths[:1]) || !slices.Equal(pc.New, paths[1:]) {
		t.Fatalf("run on another file: %v", err)
	}
}

// abortAfter wraps a partitioned source whose partitions abort the run (as a crash would)
// on their n+1st call of Next.
func abortAfter[T any](src source.Source[T], n int) source.Source[T] {
	return aborting[T]{src, n}
}

type aborting[T any] struct {
	source.Source[T]
	n int
}

func (a aborting[T]) Partitions(ctx context.Context) ([]string, error) {
	return a.Source.(source.Partitioned).Partitions(ctx)
}

func (a aborting[T]) Build(ctx context.Context, part source.Part, resume []byte) (source.Partition[T], error) {
	p, err := a.Source.Build(ctx, part, resume)
	if err != nil {
		return nil, err
	}
	return &abortingPart[T]{Partition: p, left: a.n}, nil
}

type abortingPart[T any] struct {
	source.Partition[T]
	left int
}

func (p *abortingPart[T]) Next(ctx context.Context) ([]T, error) {
	if p.left == 0 {
		return nil, source.ErrAbort
	}
	p.left--
	return p.Partition.Next(ctx)
}
