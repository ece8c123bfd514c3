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
	"github.com/weirflow/weir/run"
	"github.com/weirflow/weir/source"
	"github.com/weirflow/weir/weirtest"
)

// readPart reads a partition of src to its end. With resumeEach, it closes the partition
// after every batch and builds it again from its snapshot, as a run that crashed right
// after each epoch would. It returns the items, the error that ended the read (nil at
// io.EOF) and the last snapshot.
func readPart[T any](t *testing.T, src source.Source[T], partition string, resume []byte, resumeEach bool) ([]T, []byte, error) {
	t.Helper()
	ctx := context.Background()
	var got []T
	for builds := 0; ; builds++ {
		if builds > 1<<20 {
			t.Fatal("the partition never ends")
		}
		p, err := src.Build(ctx, source.Part{Step: "flow.in", Partition: partition, Workers: 1}, resume)
		if err != nil {
			return got, resume, err
		}
		for {
			items, err := p.Next(ctx)
			got = append(got, items...)
			resume = p.Snapshot()
			if err != nil || resumeEach {
				p.Close()
				if err == io.EOF {
					return got, resume, nil
				}
				if err != nil {
					return got, resume, err
				}
				break
			}
		}
	}
}

func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestDirSourcePartitions(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"a.log": "", "b.log": "", "c.txt": "", "sub/d.log": "", "sub/e.txt": "", "sub.log/f": "",
	})
	tests := []struct {
		glob string
		want []string
	}{
		{"*.log", []string{"a.log", "b.log"}}, // sub.log is a directory
		{"*", []string{"a.log", "b.log", "c.txt"}},
		{"*/*.log", []string{"sub/d.log"}},
		{"sub/*", []string{"sub/d.log", "sub/e.txt"}},
		{"?.*", []string{"a.log", "b.log", "c.txt"}},
		{"*.csv", nil},
	}
	for _, tt := range tests {
		t.Run(tt.glob, func(t *testing.T) {
			got, err := files.NewDirSource(dir, tt.glob).Partitions(context.Background())
			if err != nil || !slices.Equal(got, tt.want) {
				t.Fatalf("Partitions = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
	if _, err := files.NewDirSource(dir, "[").Partitions(context.Background()); err == nil || !strings.Contains(err.Error(), "weir: files: glob") {
		t.Fatalf("bad glob: %v", err)
	}
}

// TestDirSourceDirectory runs a flow over each kind of path: a path that is not a
// directory fails the run with an error naming the step and the path, and an empty
// directory is a stream with no items.
func TestDirSourceDirectory(t *testing.T) {
	dir := writeTree(t, map[string]string{"a.log": "a1\na2\n", "b.log": "b1\n", "empty/.keep": ""})
	if err := os.Remove(filepath.Join(dir, "empty", ".keep")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		path    string
		want    []string
		wantErr error // nil for none
	}{
		{"missing", filepath.Join(dir, "nope"), nil, fs.ErrNotExist},
		{"a file", filepath.Join(dir, "a.log"), nil, files.ErrNotDir},
		{"empty directory", filepath.Join(dir, "empty"), nil, nil},
		{"directory with files", dir, []string{"a1", "a2", "b1"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			flow := weir.NewDataflow("flow")
			out := weirtest.NewSink[string]()
			op.Output("out", op.Input("in", flow, files.NewDirSource(tt.path, "*")), out)
			err := run.Run(context.Background(), flow)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("run error %v", err)
				}
				got := out.Items()
				slices.Sort(got)
				if !slices.Equal(got, tt.want) {
					t.Fatalf("items %q, want %q", got, tt.want)
				}
				return
			}
			var se *weir.StepError
			if !errors.As(err, &se) || se.Step != "flow.in" || !errors.Is(err, tt.wantErr) {
				t.Fatalf("run error %v, want a step error of flow.in wrapping %v", err, tt.wantErr)
			}
			if msg := err.Error(); !strings.Contains(msg, "weir: files: ") || !strings.Contains(msg, tt.path) {
				t.Fatalf("run error %q, want one naming %s", msg, tt.path)
			}
			if items := out.Items(); len(items) != 0 {
				t.Fatalf("a failed run emitted %q", items)
			}
		})
	}
}

func TestDirSourceBuildRejectsUnknownPartitions(t *testing.T) {
	dir := writeTree(t, map[string]string{"a.log": "x\n", "b.txt": "y\n"})
	src := files.NewDirSource(filepath.Join(dir, "sub"), "*")
	for _, name := range []string{"b.txt", "../a.log", "/etc/passwd", ""} {
		_, err := files.NewDirSource(dir, "*.log").Build(context.Background(), source.Part{Partition: name}, nil)
		if err == nil || !strings.Contains(err.Error(), "unknown partition") {
			t.Errorf("Build(%q) = %v, want unknown partition", name, err)
		}
	}
	if _, err := src.Build(context.Background(), source.Part{Partition: "../a.log"}, nil); err == nil {
		t.Error("Build(../a.log) escaped the directory")
	}
}

func TestDirSourceResume(t *testing.T) {
	contents := map[string]string{
		"a.log":     "a1\na2\r\na3",
		"b.log":     "",
		"sub/c.log": "c1\n\nc3\n",
	}
	dir := writeTree(t, contents)
	for _, batch := range []int{1, 2, 1000} {
		src := files.NewDirSource(dir, "*").BatchSize(batch)
		for _, sub := range []string{"a.log", "b.log"} {
			whole, _, err := readPart(t, src, sub, nil, false)
			if err != nil {
				t.Fatal(err)
			}
			resumed, last, err := readPart(t, src, sub, nil, true)
			if err != nil {
				t.Fatal(err)
			}
			want := splitLines(contents[sub])
			if !slices.Equal(whole, want) || !slices.Equal(resumed, want) {
				t.Fatalf("%s/%d: read %q, resumed %q; want %q", sub, batch, whole, resumed, want)
			}
			// The last snapshot is the end of the file: nothing more to read.
			if again, _, err := readPart(t, src, sub, last, false); err != nil || len(again) != 0 {
				t.Fatalf("after the last snapshot: %q, %v", again, err)
			}
		}
	}
	got, _, err := readPart(t, files.NewDirSource(dir, "sub/*"), "sub/c.log", nil, true)
	if err != nil || !slices.Equal(got, []string{"c1", "", "c3"}) {
		t.Fatalf("sub/c.log: %q, %v", got, err)
	}
}

// splitLines is the reference: lines without their endings, no empty line after a final
// newline, "\r\n" or "\n" endings.
func splitLines(content string) []string {
	if content == "" {
		return nil
	}
	lines := strings.Split(content, "\n")
	for i := range lines[:len(lines)-1] { // "\r" is only part of a line ending before "\n"
		lines[i] = strings.TrimSuffix(lines[i], "\r")
	}
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}

func TestDirSourceInAFlow(t *testing.T) {
	tree := map[string]string{}
	var want []string
	for f := range 5 {
		var b strings.Builder
		for i := range 100 {
			line := fmt.Sprintf("f%d-%d", f, i)
			fmt.Fprintln(&b, line)
			want = append(want, line)
		}
		tree[fmt.Sprintf("in-%d.txt", f)] = b.String()
	}
	tree["skip.dat"] = "not me\n"
	dir := writeTree(t, tree)
	flow := weir.NewDataflow("flow")
	out := weirtest.NewSink[string]()
	op.Output("out", op.Input("in", flow, files.NewDirSource(dir, "*.txt").BatchSize(7)), out)
	weirtest.Run(t, flow, 3)
	got := out.Items()
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("got %d lines, want %d", len(got), len(want))
	}
}

// FuzzLineOffsets checks the line reader's offsets: reading a file with a resume after
// every batch gives the same lines as reading it at once, and both match a reference split.
func FuzzLineOffsets(f *testing.F) {
	for _, s := range []string{"", "\n", "a", "a\nb", "a\r\nb\r\n", "\r\n\r\n", "\r", "x\r\ry\n\n", strings.Repeat("z", 70000) + "\nq"} {
		f.Add(s, uint8(1))
		f.Add(s, uint8(3))
	}
	f.Fuzz(func(t *testing.T, content string, batch uint8) {
		dir := writeTree(t, map[string]string{"f": content})
		src := files.NewDirSource(dir, "f").BatchSize(int(batch))
		whole, end, err := readPart(t, src, "f", nil, false)
		if err != nil {
			t.Fatal(err)
		}
		resumed, rend, err := readPart(t, src, "f", nil, true)
		if err != nil {
			t.Fatal(err)
		}
		want := splitLines(content)
		if !slices.Equal(whole, want) || !slices.Equal(resumed, want) {
			t.Fatalf("read %q, resumed %q; want %q", whole, resumed, want)
		}
		if !slices.Equal(end, rend) {
			t.Fatalf("final snapshots differ: %x, %x", end, rend)
		}
	})
}

func ExampleNewDirSource() {
	dir, err := os.MkdirTemp("", "weir-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	for name, content := range map[string]string{
		"2026-12-01.log": "GET /\nGET /about\n",
		"2026-12-02.log": "POST /login\n",
		"notes.txt":      "not a log\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			fmt.Println(err)
			return
		}
	}

	flow := weir.NewDataflow("flow")
	lines := op.Input("logs", flow, files.NewDirSource(dir, "*.log"))
	out := weirtest.NewSink[string]()
	op.Output("out", lines, out)
	// Two workers read the two files in parallel, so the order of their lines varies.
	if err := run.Run(context.Background(), flow, run.Workers(2)); err != nil {
		fmt.Println(err)
	}
	got := out.Items()
	slices.Sort(got)
	fmt.Println(strings.Join(got, "\n"))
	// Output:
	// GET /
	// GET /about
	// POST /login
}
