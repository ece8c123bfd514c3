package files_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/connectors/files"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/run"
	"github.com/weirflow/weir/sink"
	"github.com/weirflow/weir/weirtest"
)

// badCSV has, after its header (line 1): a good row; a row with too few cells (line 3,
// byte 10); a good row; after a blank line, a row with a bare quote (line 6, byte 19); a
// quoted row over two lines with too many cells (lines 7-8, byte 25); a row whose n does
// not decode as an int (line 9, byte 34, for the struct source only); a good row.
const badCSV = "k,n\n" + // 0
	"a,1\n" + // 4
	"b\n" + // 8
	"c,3\n" + // 10
	"\n" + // 14
	"d\"x,4\n" + // 15
	"\"e\nf\",5,6\r\n" + // 21
	"g,x\n" + // 32
	"h,8\n" // 36

type kn struct {
	K string `csv:"k"`
	N int    `csv:"n"`
}

func writeBad(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "bad.csv")
	if err := os.WriteFile(path, []byte(badCSV), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCSVFailNamesTheRow(t *testing.T) {
	path := writeBad(t)
	for _, src := range []*files.CSVStructSource[kn]{
		files.NewCSVStructSource[kn](path),
		files.NewCSVStructSource[kn](path).OnError(files.ErrorPolicy(2)), // not a policy: Fail
	} {
		checkFail(t, path, src)
	}
}

func checkFail(t *testing.T, path string, src *files.CSVStructSource[kn]) {
	t.Helper()
	flow := weir.NewDataflow("flow")
	out := weirtest.NewSink[kn]()
	op.Output("out", op.Input("in", flow, src), out)
	err := run.Run(context.Background(), flow)
	var ce *files.CSVError
	var se *weir.StepError
	if !errors.As(err, &ce) || !errors.As(err, &se) {
		t.Fatalf("run error %v, want a step error with a *CSVError", err)
	}
	if ce.Path != path || ce.Line != 3 || ce.Offset != 8 || se.Step != "flow.in" || se.Partition != path {
		t.Fatalf("error %v: %+v in step %q partition %q", err, ce, se.Step, se.Partition)
	}
	if want := fmt.Sprintf("%s:3:1: wrong number of fields (the row at byte 8)", path); !strings.Contains(err.Error(), want) {
		t.Fatalf("error %q, want it to contain %q", err, want)
	}
}

func TestCSVSkip(t *testing.T) {
	path := writeBad(t)
	maps := files.NewCSVSource(path).OnError(files.Skip).BatchSize(2)
	structs := files.NewCSVStructSource[kn](path).OnError(files.Skip).BatchSize(3)
	flow := weir.NewDataflow("flow")
	keys := weirtest.NewSink[string]()
	op.Output("maps", op.Map("k", op.Input("in_maps", flow, maps), func(r map[string]string) string { return r["k"] + r["n"] }), keys)
	got := weirtest.NewSink[kn]()
	op.Output("structs", op.Input("in_structs", flow, structs), got)
	weirtest.Run(t, flow, 1)
	if !slices.Equal(keys.Items(), []string{"a1", "c3", "gx", "h8"}) || maps.Skipped() != 3 {
		t.Errorf("maps: %q, %d skipped", keys.Items(), maps.Skipped())
	}
	if !slices.Equal(got.Items(), []kn{{"a", 1}, {"c", 3}, {"h", 8}}) || structs.Skipped() != 4 {
		t.Errorf("structs: %v, %d skipped", got.Items(), structs.Skipped())
	}
}

var wantBad = []files.BadRow{
	{Line: 3, Offset: 8, Raw: "b"},
	{Line: 6, Offset: 15, Raw: `d"x,4`},
	{Line: 7, Offset: 21, Raw: "\"e\nf\",5,6"},
	{Line: 9, Offset: 32, Raw: "g,x"},
}

func checkBad(t *testing.T, path string, got, want []files.BadRow) {
	t.Helper()
	checkBadRows(t, path, badCSV, got, want, func(err error, w files.BadRow) bool {
		var ce *files.CSVError
		return errors.As(err, &ce) && ce.Offset == w.Offset
	})
}

// checkBadRows checks that got has want's rows, read from the file at path whose text is
// text, each with an error that errOK accepts.
func checkBadRows(t *testing.T, path, text string, got, want []files.BadRow, errOK func(err error, w files.BadRow) bool) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("bad rows %v, want %v", got, want)
	}
	for i, b := range got {
		w := want[i]
		if b.Path != path || b.Line != w.Line || b.Offset != w.Offset || b.Raw != w.Raw || !errOK(b.Err, w) {
			t.Errorf("bad row %d: %+v, want %+v", i, b, w)
		}
		// The offset is where the raw text is in the file.
		if !strings.HasPrefix(text[b.Offset:], b.Raw) {
			t.Errorf("bad row %d: %q is not at byte %d", i, b.Raw, b.Offset)
		}
	}
}

func TestReadDeadLetters(t *testing.T) {
	for _, batch := range []int{1, 2, 100} {
		t.Run(fmt.Sprint("batch ", batch), func(t *testing.T) {
			path := writeBad(t)
			flow := weir.NewDataflow("flow")
			rows, bad := files.Read("in", flow, files.NewCSVStructSource[kn](path).BatchSize(batch))
			got, gotBad := weirtest.NewSink[kn](), weirtest.NewSink[files.BadRow]()
			op.Output("rows", rows, got)
			op.Output("bad", bad, gotBad)
			weirtest.Run(t, flow, 2)
			if !slices.Equal(got.Items(), []kn{{"a", 1}, {"c", 3}, {"h", 8}}) {
				t.Errorf("rows %v", got.Items())
			}
			checkBad(t, path, gotBad.Items(), wantBad)
			var ce *files.CSVError
			if errors.As(gotBad.Items()[3].Err, &ce); ce.Header != "n" || ce.Value != "x" {
				t.Errorf("decode error %+v", ce)
			}

			// The map source has no decode errors: "g,x" is a row.
			flow = weir.NewDataflow("flow")
			maps, badMaps := files.Read("in", flow, files.NewCSVSource(path).BatchSize(batch))
			keys, gotBad := weirtest.NewSink[string](), weirtest.NewSink[files.BadRow]()
			op.Output("rows", op.Map("k", maps, func(r map[string]string) string { return r["k"] }), keys)
			op.Output("bad", badMaps, gotBad)
			weirtest.Run(t, flow, 1)
			if !slices.Equal(keys.Items(), []string{"a", "c", "g", "h"}) {
				t.Errorf("map rows %q", keys.Items())
			}
			checkBad(t, path, gotBad.Items(), wantBad[:3])
		})
	}
}

// TestReadResumesAfterBadRows aborts a run after each number of rounds in turn and
// resumes it: every row and every bad row comes out once, in order.
func TestReadResumesAfterBadRows(t *testing.T) {
	for stop := range 8 {
		t.Run(fmt.Sprint("abort after ", stop), func(t *testing.T) {
			path := writeBad(t)
			rec := weirtest.NewRecovery(t, 1)
			got, gotBad := weirtest.NewSink[kn](), weirtest.NewSink[files.BadRow]()
			skipped := weirtest.NewSink[kn]()
			// Declared first, it aborts the first run in round stop+1, before the CSV
			// source reads its batch of that round; the resumed run reads it to its end.
			crash := weirtest.NewSource(make([]int, stop)...).BatchSize(1).Abort()
			runs := 0
			for range 2 {
				flow := weir.NewDataflow("flow")
				op.Output("ticks", op.Input("crash", flow, crash), sink.Func(func([]int) error { return nil }))
				rows, bad := files.Read("in", flow, files.NewCSVStructSource[kn](path).BatchSize(1))
				op.Output("rows", rows, got)
				op.Output("bad", bad, gotBad)
				op.Output("skipped", op.Input("skip", flow, files.NewCSVStructSource[kn](path).BatchSize(1).OnError(files.Skip)), skipped)
				rec.Run(t, flow, 1)
				runs++
				if runs == 1 && len(got.Items())+len(gotBad.Items()) != min(stop, 7) {
					t.Fatalf("first run: %d rows and %d bad ones, want %d in all", len(got.Items()), len(gotBad.Items()), min(stop, 7))
				}
			}
			if !slices.Equal(got.Items(), []kn{{"a", 1}, {"c", 3}, {"h", 8}}) {
				t.Errorf("rows %v", got.Items())
			}
			if !slices.Equal(skipped.Items(), []kn{{"a", 1}, {"c", 3}, {"h", 8}}) {
				t.Errorf("rows read with Skip %v", skipped.Items())
			}
			checkBad(t, path, gotBad.Items(), wantBad)
		})
	}
}

func ExampleRead() {
	dir, err := os.MkdirTemp("", "weir-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "clicks.csv")
	os.WriteFile(path, []byte("user,n\nann,1\nbob,two\ncid\ndan,4\n"), 0o644)

	type click struct {
		User string `csv:"user"`
		N    int    `csv:"n"`
	}
	flow := weir.NewDataflow("flow")
	rows, bad := files.Read("clicks", flow, files.NewCSVStructSource[click](path))
	op.Output("rows", rows, sink.Func(func(cs []click) error {
		for _, c := range cs {
			fmt.Printf("row: %+v\n", c)
		}
		return nil
	}))
	op.Output("bad", bad, sink.Func(func(bs []files.BadRow) error {
		for _, b := range bs {
			fmt.Printf("bad: line %d, byte %d: %q\n", b.Line, b.Offset, b.Raw)
		}
		return nil
	}))
	if err := run.Run(context.Background(), flow); err != nil {
		fmt.Println(err)
	}
	// Unordered output:
	// row: {User:ann N:1}
	// row: {User:dan N:4}
	// bad: line 3, byte 13: "bob,two"
	// bad: line 4, byte 21: "cid"
}

func ExampleCSVSource_OnError() {
	dir, err := os.MkdirTemp("", "weir-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "clicks.csv")
	os.WriteFile(path, []byte("user,n\nann,1\nb\"ob,2\ncid\ndan,4\n"), 0o644)

	src := files.NewCSVSource(path).OnError(files.Skip)
	flow := weir.NewDataflow("flow")
	users := op.Map("user", op.Input("clicks", flow, src), func(r map[string]string) string { return r["user"] })
	op.Output("out", users, sink.Func(func(us []string) error {
		fmt.Println(us)
		return nil
	}))
	if err := run.Run(context.Background(), flow); err != nil {
		fmt.Println(err)
	}
	fmt.Println("skipped:", src.Skipped())
	// Output:
	// [ann dan]
	// skipped: 2
}
