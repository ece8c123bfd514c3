package files_test

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/connectors/files"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/run"
	"github.com/weirflow/weir/weirtest"
)

// TestFileSinkPlainStream writes a stream that is not keyed: the strings themselves, one
// a line, in order, into a file whose directory does not exist yet.
func TestFileSinkPlainStream(t *testing.T) {
	for _, workers := range []int{1, 3} {
		t.Run(fmt.Sprint(workers, " workers"), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "new", "dir", "out.txt")
			var lines []string
			for i := range 100 {
				lines = append(lines, fmt.Sprint("line ", i))
			}
			flow := weir.NewDataflow("flow")
			in := op.Input("in", flow, weirtest.NewSource(lines...).BatchSize(7))
			op.Output("out", in, files.NewFileSink[string](path))
			weirtest.Run(t, flow, workers)
			if got, want := readString(t, path), strings.Join(lines, "\n")+"\n"; got != want {
				t.Fatalf("file holds %q, want %q", got, want)
			}
		})
	}
}

// TestDirSinkPlainStream: a plain stream goes to one file of a directory sink, the empty
// key's, in order; the others are created empty.
func TestDirSinkPlainStream(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	flow := weir.NewDataflow("flow")
	in := op.Input("in", flow, weirtest.NewSource(1, 2, 3, 4, 5).BatchSize(2))
	op.Output("out", in, files.NewDirSink[int](dir, 3))
	weirtest.Run(t, flow, 2)
	var got []string
	for _, name := range []string{"part-0", "part-1", "part-2"} {
		if s := readString(t, filepath.Join(dir, name)); s != "" {
			got = append(got, s)
		}
	}
	if !slices.Equal(got, []string{"1\n2\n3\n4\n5\n"}) {
		t.Fatalf("non-empty files %q, want one with 1 to 5", got)
	}
}

type metricRow struct {
	Name   string        `csv:"name"`
	Value  float64       `csv:"value"`
	Count  int32         `csv:"count"`
	OK     bool          `csv:"ok"`
	At     time.Time     `csv:"at"`
	Took   time.Duration `csv:"took"`
	Hidden string        `csv:"-"`
	N      uint8
	F      float32
}

func TestCSVFormat(t *testing.T) {
	at := time.Date(2026, 12, 4, 18, 30, 0, 500, time.UTC)
	tests := []struct {
		item metricRow
		want string
	}{
		{metricRow{Name: "cpu", Value: 0.1, Count: -3, OK: true, At: at, Took: 1500 * time.Millisecond, Hidden: "x", N: 255, F: 0.25},
			"cpu,0.1,-3,true,2026-12-04T18:30:00.0000005Z,1.5s,255,0.25"},
		{metricRow{Name: `a "quoted", name`, Value: math.Inf(-1)},
			`"a ""quoted"", name",-Inf,0,false,0001-01-01T00:00:00Z,0s,0,0`},
		{metricRow{Name: "two\nlines"}, "\"two\nlines\",0,0,false,0001-01-01T00:00:00Z,0s,0,0"},
		{metricRow{Name: " lead"}, `" lead",0,0,false,0001-01-01T00:00:00Z,0s,0,0`},
		{metricRow{Value: 1e21}, ",1e+21,0,false,0001-01-01T00:00:00Z,0s,0,0"},
	}
	format := files.CSV[metricRow]()
	for _, tt := range tests {
		if got := string(format([]byte("keep:"), tt.item)); got != "keep:"+tt.want {
			t.Errorf("CSV(%+v) = %q, want %q", tt.item, got, "keep:"+tt.want)
		}
	}
	if got, want := files.CSVHeader[metricRow](), "name,value,count,ok,at,took,N,F"; got != want {
		t.Errorf("CSVHeader = %q, want %q", got, want)
	}

	records := files.CSV[[]string]()
	for rec, want := range map[string]string{"a|b": "a,b", "|": ",", "": `""`, "x,y|\"": `"x,y",""""`} {
		if got := string(records(nil, strings.Split(rec, "|"))); got != want {
			t.Errorf("CSV(%q) = %q, want %q", strings.Split(rec, "|"), got, want)
		}
	}

	for _, bad := range []func(){func() { files.CSV[int]() }, func() { files.CSV[struct{ C chan int }]() }, func() { files.CSVHeader[[]string]() }} {
		func() {
			defer func() {
				if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "weir: files: ") {
					t.Errorf("panic %v, want a weir: files: error", r)
				}
			}()
			bad()
		}()
	}
}

// TestCSVFormatReadsBack writes structs with CSV and CSVHeader through a file sink and
// reads them back with NewCSVStructSource: the same values.
func TestCSVFormatReadsBack(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.FixedZone("x", 3600))
	items := []metricRow{
		{Name: "a,b", Value: 1.0 / 3, Count: 7, OK: true, At: at, Took: time.Minute, N: 1, F: 1.0 / 3},
		{Name: "line\nbreak \"q\"", Value: -0.0, At: at.Add(time.Hour)},
		{Name: " spaced ", Value: 12345.678e-9},
		{},
	}
	path := filepath.Join(t.TempDir(), "out.csv")
	flow := weir.NewDataflow("flow")
	op.Output("out", op.Input("in", flow, weirtest.NewSource(items...)),
		files.NewFileSink[metricRow](path).Format(files.CSV[metricRow]()).Header(files.CSVHeader[metricRow]()))
	weirtest.Run(t, flow, 1)

	back := weir.NewDataflow("back")
	out := weirtest.NewSink[metricRow]()
	op.Output("out", op.Input("in", back, files.NewCSVStructSource[metricRow](path)), out)
	weirtest.Run(t, back, 1)
	got := out.Items()
	if len(got) != len(items) {
		t.Fatalf("read %d rows, want %d: %q", len(got), len(items), readString(t, path))
	}
	for i := range items {
		want := items[i]
		if !got[i].At.Equal(want.At) {
			t.Errorf("row %d: at %v, want %v", i, got[i].At, want.At)
		}
		got[i].At, want.At = time.Time{}, time.Time{}
		if !reflect.DeepEqual(got[i], want) {
			t.Errorf("row %d: %+v, want %+v", i, got[i], want)
		}
	}
}

func TestJSONLines(t *testing.T) {
	type click struct {
		User string `json:"user"`
		N    int    `json:"n"`
	}
	path := filepath.Join(t.TempDir(), "clicks.jsonl")
	flow := weir.NewDataflow("flow")
	in := op.Input("in", flow, weirtest.NewSource(click{"a", 1}, click{"<b>\n", 2}))
	op.Output("out", in, files.NewFileSink[click](path).Format(files.JSONLines))
	weirtest.Run(t, flow, 1)
	if got, want := readString(t, path), "{\"user\":\"a\",\"n\":1}\n{\"user\":\"\\u003cb\\u003e\\n\",\"n\":2}\n"; got != want {
		t.Fatalf("file %q, want %q", got, want)
	}

	// An item Marshal cannot encode fails the run, naming the sink.
	bad := weir.NewDataflow("bad")
	op.Output("out", op.Input("in", bad, weirtest.NewSource(math.NaN())), files.NewFileSink[float64](filepath.Join(t.TempDir(), "x")).Format(files.JSONLines))
	err := run.Run(context.Background(), bad)
	if err == nil || !strings.Contains(err.Error(), "bad.out") || !strings.Contains(err.Error(), "weir: files: JSONLines: json: unsupported value: NaN") {
		t.Fatalf("run error %v", err)
	}
}

// TestFileSinkHeader: the header is written once, at a fresh start, and not again when a
// run resumes after lines were written.
func TestFileSinkHeader(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.csv")
	rec := weirtest.NewRecovery(t, 1)
	flow := weir.NewDataflow("flow")
	in := op.Input("in", flow, weirtest.NewSource("a", "b").Abort().Then("c"))
	op.Output("out", in, files.NewFileSink[string](path).Header("letter"))
	rec.Run(t, flow, 1)
	if got := readString(t, path); got != "letter\na\nb\n" {
		t.Fatalf("after the first run: %q", got)
	}
	rec.Run(t, flow, 1)
	if got := readString(t, path); got != "letter\na\nb\nc\n" {
		t.Fatalf("after the resumed run: %q", got)
	}
}

// TestFileSinkResumesUnderAnotherSpelling runs with a relative path, aborts, and resumes
// with the absolute path of the same file: the partition is the same, so the output is
// exactly once.
func TestFileSinkResumesUnderAnotherSpelling(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	rec := weirtest.NewRecovery(t, 1)
	src := weirtest.NewSource("a", "b").Abort().Then("c", "d")
	for _, path := range []string{"out.txt", filepath.Join(dir, "out.txt")} {
		flow := weir.NewDataflow("flow")
		op.Output("out", op.Input("in", flow, src), files.NewFileSink[string](path))
		rec.Run(t, flow, 1)
	}
	if got := readString(t, filepath.Join(dir, "out.txt")); got != "a\nb\nc\nd\n" {
		t.Fatalf("file %q", got)
	}
}

func ExampleCSV() {
	type reading struct {
		Sensor string  `csv:"sensor"`
		Value  float64 `csv:"value"`
	}
	dir, err := os.MkdirTemp("", "weir-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "out", "readings.csv") // out/ is created

	flow := weir.NewDataflow("flow")
	in := op.Input("in", flow, weirtest.NewSource(reading{"t1", 21.5}, reading{"hall, east", 19}))
	op.Output("out", in, files.NewFileSink[reading](path).
		Format(files.CSV[reading]()).
		Header(files.CSVHeader[reading]()))
	if err := run.Run(context.Background(), flow); err != nil {
		fmt.Println(err)
	}
	b, _ := os.ReadFile(path)
	fmt.Print(string(b))
	// Output:
	// sensor,value
	// t1,21.5
	// "hall, east",19
}

func ExampleJSONLines() {
	type click struct {
		User string `json:"user"`
		Page string `json:"page"`
	}
	dir, err := os.MkdirTemp("", "weir-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "clicks.jsonl")

	flow := weir.NewDataflow("flow")
	in := op.Input("in", flow, weirtest.NewSource(click{"ann", "/"}, click{"bob", "/cart"}))
	op.Output("out", in, files.NewFileSink[click](path).Format(files.JSONLines))
	if err := run.Run(context.Background(), flow); err != nil {
		fmt.Println(err)
	}
	b, _ := os.ReadFile(path)
	fmt.Print(string(b))
	// Output:
	// {"user":"ann","page":"/"}
	// {"user":"bob","page":"/cart"}
}
