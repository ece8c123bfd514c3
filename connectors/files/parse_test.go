package files_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/connectors/files"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/run"
	"github.com/weirflow/weir/sink"
	"github.com/weirflow/weir/source"
	"github.com/weirflow/weir/weirtest"
)

// numbers has bad lines at 2 (byte 2), 4 (byte 6, an empty line) and 6 (byte 9, with
// a CRLF), and a last line without a newline.
const numbers = "1\nx\n2\n\n3\ny\r\n4\n5"

func writeNumbers(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "n.txt")
	if err := os.WriteFile(path, []byte(numbers), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestParseLinesFail(t *testing.T) {
	path := writeNumbers(t)
	flow := weir.NewDataflow("flow")
	op.Output("out", op.Input("in", flow, files.ParseLines(files.NewLineSource(path), strconv.Atoi)), weirtest.NewSink[int]())
	err := run.Run(context.Background(), flow)
	var le *files.LineError
	var se *weir.StepError
	if !errors.As(err, &le) || !errors.As(err, &se) || !errors.Is(err, strconv.ErrSyntax) {
		t.Fatalf("run error %v, want a step error with a *LineError", err)
	}
	if le.Path != path || le.Line != 2 || le.Offset != 2 || se.Partition != path {
		t.Fatalf("error %+v, partition %q", le, se.Partition)
	}
	if want := path + `:2: strconv.Atoi: parsing "x": invalid syntax (the line at byte 2)`; !strings.Contains(err.Error(), want) {
		t.Fatalf("error %q, want it to contain %q", err, want)
	}
}

func TestParseLinesSkip(t *testing.T) {
	for _, batch := range []int{1, 3, 100} {
		path := writeNumbers(t)
		src := files.ParseLines(files.NewLineSource(path).BatchSize(batch), strconv.Atoi).OnError(files.Skip)
		flow := weir.NewDataflow("flow")
		out := weirtest.NewSink[int]()
		op.Output("out", op.Input("in", flow, src), out)
		weirtest.Run(t, flow, 1)
		if !slices.Equal(out.Items(), []int{1, 2, 3, 4, 5}) || src.Skipped() != 3 {
			t.Errorf("batch %d: %v, %d skipped", batch, out.Items(), src.Skipped())
		}
	}
}

var wantBadLines = []files.BadRow{{Line: 2, Offset: 2, Raw: "x"}, {Line: 4, Offset: 6, Raw: ""}, {Line: 6, Offset: 9, Raw: "y"}}

func checkBadLines(t *testing.T, path string, got []files.BadRow) {
	t.Helper()
	checkBadRows(t, path, numbers, got, wantBadLines, func(err error, w files.BadRow) bool {
		var le *files.LineError
		return errors.As(err, &le) && le.Line == w.Line
	})
}

// TestParseLinesRead aborts a run after each number of rounds in turn and resumes it:
// every number and every bad line comes out once, in order, with its line number.
func TestParseLinesRead(t *testing.T) {
	for stop := range 10 {
		t.Run(fmt.Sprint("abort after ", stop), func(t *testing.T) {
			path := writeNumbers(t)
			rec := weirtest.NewRecovery(t, 1)
			got, gotBad := weirtest.NewSink[int](), weirtest.NewSink[files.BadRow]()
			crash := weirtest.NewSource(make([]int, stop)...).BatchSize(1).Abort()
			for range 2 {
				flow := weir.NewDataflow("flow")
				op.Output("ticks", op.Input("crash", flow, crash), sink.Func(func([]int) error { return nil }))
				nums, bad := files.Read("in", flow, files.ParseLines(files.NewLineSource(path).BatchSize(1), strconv.Atoi))
				op.Output("rows", nums, got)
				op.Output("bad", bad, gotBad)
				rec.Run(t, flow, 1)
			}
			if !slices.Equal(got.Items(), []int{1, 2, 3, 4, 5}) {
				t.Errorf("numbers %v", got.Items())
			}
			checkBadLines(t, path, gotBad.Items())
		})
	}
}

// TestParseLinesResumesALineSource: a flow that read a file with NewLineSource resumes
// with ParseLines on the same step, with the right line numbers.
func TestParseLinesResumesALineSource(t *testing.T) {
	path := writeNumbers(t)
	rec := weirtest.NewRecovery(t, 1)
	crash := weirtest.NewSource(0, 0).BatchSize(1).Abort()
	lines := weirtest.NewSink[string]()
	flow := weir.NewDataflow("flow")
	op.Output("ticks", op.Input("crash", flow, crash), sink.Func(func([]int) error { return nil }))
	op.Output("rows", op.Input("in", flow, files.NewLineSource(path).BatchSize(1)), lines)
	rec.Run(t, flow, 1)
	if !slices.Equal(lines.Items(), []string{"1", "x"}) {
		t.Fatalf("first run: %q", lines.Items())
	}

	flow = weir.NewDataflow("flow")
	op.Output("ticks", op.Input("crash", flow, crash), sink.Func(func([]int) error { return nil }))
	nums, bad := files.Read("in", flow, files.ParseLines(files.NewLineSource(path), strconv.Atoi))
	got, gotBad := weirtest.NewSink[int](), weirtest.NewSink[files.BadRow]()
	op.Output("rows", nums, got)
	op.Output("bad", bad, gotBad)
	rec.Run(t, flow, 1)
	if !slices.Equal(got.Items(), []int{2, 3, 4, 5}) {
		t.Errorf("numbers %v", got.Items())
	}
	if b := gotBad.Items(); len(b) != 2 || b[0].Line != 4 || b[1].Line != 6 {
		t.Errorf("bad lines %v", b)
	}
}

func TestParseLinesDir(t *testing.T) {
	dir := writeTree(t, map[string]string{"a.txt": "1\n2\n", "sub/b.txt": "3\nz\n"})
	src := files.ParseLines(files.NewDirSource(dir, "*/*.txt"), strconv.Atoi)
	flow := weir.NewDataflow("flow")
	nums, bad := files.Read("in", flow, src)
	got, gotBad := weirtest.NewSink[int](), weirtest.NewSink[files.BadRow]()
	op.Output("rows", nums, got)
	op.Output("bad", bad, gotBad)
	weirtest.Run(t, flow, 2)
	b := gotBad.Items()
	if !slices.Equal(got.Items(), []int{3}) || len(b) != 1 || b[0].Path != filepath.Join(dir, "sub", "b.txt") || b[0].Line != 2 || b[0].Offset != 2 {
		t.Fatalf("numbers %v, bad %v", got.Items(), b)
	}
	if _, err := src.Build(context.Background(), source.Part{Partition: "../x.txt"}, nil); err == nil {
		t.Fatal("built a partition outside the directory")
	}
	if _, err := src.Build(context.Background(), source.Part{Partition: "sub/b.txt"}, []byte{1, 2, 3}); err == nil || !strings.Contains(err.Error(), "corrupt resume position") {
		t.Fatalf("corrupt position: %v", err)
	}
}

func ExampleParseLines() {
	dir, err := os.MkdirTemp("", "weir-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "temps.txt")
	os.WriteFile(path, []byte("21.5\n19\nwarm\n22.25\n"), 0o644)

	parse := func(line string) (float64, error) { return strconv.ParseFloat(line, 64) }
	flow := weir.NewDataflow("flow")
	temps, bad := files.Read("temps", flow, files.ParseLines(files.NewLineSource(path), parse))
	op.Output("out", temps, sink.Func(func(ts []float64) error {
		fmt.Println("temps:", ts)
		return nil
	}))
	op.Output("bad", bad, sink.Func(func(bs []files.BadRow) error {
		for _, b := range bs {
			fmt.Printf("bad: line %d: %q\n", b.Line, b.Raw)
		}
		return nil
	}))
	if err := run.Run(context.Background(), flow); err != nil {
		fmt.Println(err)
	}
	// Unordered output:
	// temps: [21.5 19 22.25]
	// bad: line 3: "warm"
}
