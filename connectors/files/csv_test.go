package files_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"maps"
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
	"github.com/weirflow/weir/source"
	"github.com/weirflow/weir/weirtest"
)

func writeCSV(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "data.csv")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

type row = map[string]string

func TestCSVSourceResume(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    []row
	}{
		{"empty file", "", nil},
		{"header only", "a,b\n", nil},
		{"header without newline", "a,b", nil},
		{"rows", "a,b\n1,2\n3,4\n", []row{{"a": "1", "b": "2"}, {"a": "3", "b": "4"}}},
		{"crlf, no final newline", "a,b\r\n1,2\r\n3,4", []row{{"a": "1", "b": "2"}, {"a": "3", "b": "4"}}},
		{"bom", "\ufeffa,b\n1,2\n", []row{{"a": "1", "b": "2"}}},
		{"bom in a later field, kept", "a,\ufeffb\n1,2\n", []row{{"a": "1", "\ufeffb": "2"}}},
		{"quoted newlines", "a,\"b\nb\"\n\"x\ny\",\"\"\"q\"\"\"\n\n\"1\r\n2\",3\n", []row{{"a": "x\ny", "b\nb": `"q"`}, {"a": "1\n2", "b\nb": "3"}}},
		{"blank lines", "a\n\n1\n\n\n2\n", []row{{"a": "1"}, {"a": "2"}}},
		{"empty cells", "a,b,c\n,,\n", []row{{"a": "", "b": "", "c": ""}}},
	}
	for _, tt := range tests {
		for _, batch := range []int{1, 2, 100} {
			t.Run(fmt.Sprintf("%s/%d", tt.name, batch), func(t *testing.T) {
				path := writeCSV(t, tt.content)
				src := files.NewCSVSource(path).BatchSize(batch)
				whole, end, err := readPart(t, src, path, nil, false)
				if err != nil {
					t.Fatal(err)
				}
				resumed, rend, err := readPart(t, src, path, nil, true)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.EqualFunc(whole, tt.want, maps.Equal) || !slices.EqualFunc(resumed, tt.want, maps.Equal) {
					t.Fatalf("read %q, resumed %q; want %q", whole, resumed, tt.want)
				}
				if !bytes.Equal(end, rend) {
					t.Fatalf("final snapshots differ: %x, %x", end, rend)
				}
				if again, _, err := readPart(t, src, path, end, false); err != nil || len(again) != 0 {
					t.Fatalf("after the last snapshot: %q, %v", again, err)
				}
			})
		}
	}
}

func TestCSVSourceAppendedFileResumes(t *testing.T) {
	path := writeCSV(t, "k,v\na,1\n")
	src := files.NewCSVSource(path)
	first, end, err := readPart(t, src, path, nil, false)
	if err != nil || len(first) != 1 {
		t.Fatalf("%q, %v", first, err)
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("b,2\n")
	f.Close()
	more, _, err := readPart(t, src, path, end, false)
	if err != nil || !slices.EqualFunc(more, []row{{"k": "b", "v": "2"}}, maps.Equal) {
		t.Fatalf("after appending: %q, %v", more, err)
	}
}

func TestCSVSourceErrors(t *testing.T) {
	tests := []struct {
		name    string
		content string
		resume  []byte
		build   string // error from Build
		read    string // error from Next
		line    int
		rows    int // read before the error, with batch size 1
	}{
		{"field count", "a,b\n1,2\n3\n", nil, "", "data.csv:3:1: wrong number of fields", 3, 1},
		{"bare quote", "a\nx\"y\n", nil, "", `data.csv:2:2: bare " in non-quoted-field`, 2, 0},
		{"bad header", "a\"\n", nil, `data.csv:1:2: bare "`, "", 0, 0},
		{"line after quoted newlines", "a\n\"1\n2\n3\"\n4,5\n", nil, "", "data.csv:5:1: wrong number of fields", 5, 1},
		{"resume past the end", "a\n1\n", []byte{9, 2}, "past the end of the file", "", 0, 0},
		{"resume inside the header", "abc\n1\n", []byte{2, 1}, "inside the header", "", 0, 0},
		{"corrupt resume", "a\n", []byte{2}, "corrupt resume position", "", 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeCSV(t, tt.content)
			for _, resumeEach := range []bool{false, true} {
				got, _, err := readPart(t, files.NewCSVSource(path).BatchSize(1), path, tt.resume, resumeEach)
				want := tt.build + tt.read
				if err == nil || !strings.HasPrefix(err.Error(), "weir: files: ") || !strings.Contains(err.Error(), want) {
					t.Fatalf("error %v, want one containing %q", err, want)
				}
				if len(got) != tt.rows {
					t.Fatalf("%d rows before the error, want %d", len(got), tt.rows)
				}
				var ce *files.CSVError
				if tt.line != 0 && (!errors.As(err, &ce) || ce.Line != tt.line) {
					t.Fatalf("error %#v, want a *CSVError on line %d", err, tt.line)
				}
			}
		})
	}
	if _, err := files.NewCSVSource("x.csv").Build(context.Background(), source.Part{Partition: "y.csv"}, nil); err == nil || !strings.Contains(err.Error(), `unknown partition "y.csv"`) {
		t.Fatalf("unknown partition: %v", err)
	}
}

func TestCSVSourceComma(t *testing.T) {
	path := writeCSV(t, "a;b\n1;2\n")
	got, _, err := readPart(t, files.NewCSVSource(path).Comma(';'), path, nil, false)
	if err != nil || !slices.EqualFunc(got, []row{{"a": "1", "b": "2"}}, maps.Equal) {
		t.Fatalf("%q, %v", got, err)
	}
}

type Celsius float64

type reading struct {
	Station string                 // by name, ignoring case
	Temp    Celsius                `csv:"temp_c"`
	Count   int                    `csv:"n"`
	Small   int8                   `csv:"small"`
	Big     uint64                 `csv:"big"`
	Ratio   float32                `csv:"ratio"`
	OK      bool                   `csv:"ok"`
	At      time.Time              `csv:"at"`
	Every   time.Duration          `csv:"every"`
	Skipped string                 `csv:"-"`
	Missing string                 // no such column: left zero
	hidden  string                 // unexported: ignored
	Opts    int                    `csv:"opts,omitempty"`
	_       struct{ x [3]float64 } // padding between fields
	Last    string                 `csv:"last"`
}

const readingHeader = "STATION,temp_c,n,small,big,ratio,ok,at,every,opts,last,extra\n"

func TestCSVStructSource(t *testing.T) {
	at := time.Date(2026, 11, 24, 10, 30, 0, 500, time.FixedZone("", 3600))
	path := writeCSV(t, readingHeader+
		"oslo,-3.5,12,-128,18446744073709551615,0.25,true,2026-11-24T10:30:00.0000005+01:00,1m30s,7,end,whatever\n"+
		"bergen, 4 ,,,,,,,,,,\n")
	want := []reading{
		{Station: "oslo", Temp: -3.5, Count: 12, Small: -128, Big: 1<<64 - 1, Ratio: 0.25, OK: true, At: at, Every: 90 * time.Second, Opts: 7, Last: "end"},
		{Station: "bergen", Temp: 4},
	}
	for _, batch := range []int{1, 5} {
		src := files.NewCSVStructSource[reading](path).BatchSize(batch)
		for _, resumeEach := range []bool{false, true} {
			got, _, err := readPart(t, src, path, nil, resumeEach)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Fatalf("%d rows, want %d", len(got), len(want))
			}
			for i := range got {
				if !got[i].At.Equal(want[i].At) {
					t.Fatalf("row %d: at %v, want %v", i, got[i].At, want[i].At)
				}
				got[i].At, want[i].At = time.Time{}, time.Time{}
				if !reflect.DeepEqual(got[i], want[i]) {
					t.Fatalf("row %d: %+v, want %+v", i, got[i], want[i])
				}
				want[i].At = got[i].At
			}
			want[0].At = at
		}
	}
}

func TestCSVStructSourceErrors(t *testing.T) {
	tests := []struct {
		name    string
		row     string
		want    string
		line    int
		col     int
		header  string
		partial int
	}{
		{"int", "oslo,1,x,,,,,,,,,", `data.csv:3:8: column "n": invalid value "x": not a valid int`, 3, 8, "n", 1},
		{"int8 range", "oslo,1,,200,,,,,,,,", `column "small": invalid value "200": out of range for int8`, 3, 9, "small", 1},
		{"uint negative", "oslo,1,,,-1,,,,,,,", `column "big": invalid value "-1": not a valid uint64`, 3, 10, "big", 1},
		{"float", "oslo,warm,,,,,,,,,,", `column "temp_c": invalid value "warm": not a valid files_test.Celsius`, 3, 6, "temp_c", 1},
		{"bool", "oslo,1,,,,,yes,,,,,", `column "ok": invalid value "yes": not a bool`, 3, 12, "ok", 1},
		{"time", "oslo,1,,,,,,2026-11-24,,,,", `column "at": invalid value "2026-11-24": not an RFC 3339 time`, 3, 13, "at", 1},
		{"duration", "oslo,1,,,,,,,soon,,,", `column "every": invalid value "soon": not a duration`, 3, 14, "every", 1},
		{"quoted, multi-line row", "\"a\nb\",1,\"\n\",x,,,,,,,,", `data.csv:5:3: column "small": invalid value "x": not a valid int8`, 5, 3, "small", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeCSV(t, readingHeader+"ok,1,2,,,,,,,,,\n"+tt.row+"\n")
			for _, resumeEach := range []bool{false, true} {
				got, snap, err := readPart(t, files.NewCSVStructSource[reading](path).BatchSize(1), path, nil, resumeEach)
				var ce *files.CSVError
				if !errors.As(err, &ce) || !strings.HasPrefix(err.Error(), "weir: files: ") || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("error %v, want a *CSVError containing %q", err, tt.want)
				}
				if ce.Line != tt.line || ce.Column != tt.col || ce.Header != tt.header || ce.Path != path {
					t.Fatalf("error %+v, want line %d column %d header %q", ce, tt.line, tt.col, tt.header)
				}
				if len(got) != tt.partial {
					t.Fatalf("%d rows before the error, want %d", len(got), tt.partial)
				}
				// The bad row is not counted as read: a resumed run meets it again.
				if _, _, err := readPart(t, files.NewCSVStructSource[reading](path), path, snap, false); !errors.As(err, &ce) || ce.Line != tt.line {
					t.Fatalf("resumed after the error: %v", err)
				}
			}
		})
	}
}

func TestCSVStructSourceBuildErrors(t *testing.T) {
	path := writeCSV(t, "a,b\n")
	type missing struct {
		C string `csv:"c"`
	}
	type unsupported struct {
		A []string
	}
	ctx := context.Background()
	part := source.Part{Partition: path}
	if _, err := files.NewCSVStructSource[missing](path).Build(ctx, part, nil); err == nil || !strings.Contains(err.Error(), `no column "c" in the header ["a" "b"]`) {
		t.Errorf("missing column: %v", err)
	}
	if _, err := files.NewCSVStructSource[unsupported](path).Build(ctx, part, nil); err == nil || !strings.Contains(err.Error(), "field files_test.unsupported.A has type []string") {
		t.Errorf("unsupported type: %v", err)
	}
	if _, err := files.NewCSVStructSource[string](path).Build(ctx, part, nil); err == nil || !strings.Contains(err.Error(), "not a struct") {
		t.Errorf("not a struct: %v", err)
	}
}

func TestCSVSourcesInAFlow(t *testing.T) {
	var b strings.Builder
	b.WriteString("name,n\n")
	for i := range 500 {
		fmt.Fprintf(&b, "k%d,%d\n", i%7, i)
	}
	path := writeCSV(t, b.String())

	flow := weir.NewDataflow("flow")
	rows := weirtest.NewSink[string]()
	op.Output("rows", op.Map("fmt", op.Input("maps", flow, files.NewCSVSource(path).BatchSize(64)), func(r map[string]string) string {
		return r["name"] + "=" + r["n"]
	}), rows)
	type rec struct {
		Name string
		N    int `csv:"n"`
	}
	sums := weirtest.NewSink[int]()
	op.Output("sums", op.Map("n", op.Input("structs", flow, files.NewCSVStructSource[rec](path).BatchSize(64)), func(r rec) int { return r.N }), sums)
	weirtest.Run(t, flow, 2)

	if got := rows.Items(); len(got) != 500 || got[0] != "k0=0" || got[499] != "k2=499" {
		t.Fatalf("%d rows: %q ... %q", len(got), got[0], got[len(got)-1])
	}
	total := 0
	for _, n := range sums.Items() {
		total += n
	}
	if total != 499*500/2 {
		t.Fatalf("sum %d", total)
	}
}

// FuzzCSVResume checks the CSV source's offsets against encoding/csv reading the whole
// file: resuming after every row gives the same rows, and the same error at the same line.
func FuzzCSVResume(f *testing.F) {
	for _, s := range []string{
		"a,b\n1,2\n", "a\n\"x\ny\"\n2\n", "a,b\r\n1,2\r\n\r\n3,4", "\ufeffa\n1", "a\n\"\n", "a\nb\"c\n", "a,b\n1\n",
		"a\n\"\r\n\"\n\n\"\"\"\"\n", "\n\na\n\n", "a\n\r\n\r", "a\n1\r", "a\n\"1\"x\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, content string) {
		path := writeCSV(t, content)
		src := files.NewCSVSource(path).BatchSize(1)
		whole, _, werr := readPart(t, src, path, nil, false)
		resumed, _, rerr := readPart(t, src, path, nil, true)
		if !slices.EqualFunc(whole, resumed, maps.Equal) {
			t.Fatalf("read %q, resumed %q", whole, resumed)
		}
		if fmt.Sprint(werr) != fmt.Sprint(rerr) {
			t.Fatalf("errors differ: read %v, resumed %v", werr, rerr)
		}

		// The reference: encoding/csv over the whole file.
		r := csv.NewReader(strings.NewReader(content))
		header, err := r.Read()
		var want []row
		for err == nil {
			var rec []string
			rec, err = r.Read()
			if err == nil {
				m := row{}
				for i, h := range header {
					if i == 0 { // a byte-order mark opens the file, not a later field
						h = strings.TrimPrefix(h, "\ufeff")
					}
					m[h] = rec[i]
				}
				want = append(want, m)
			}
		}
		if !slices.EqualFunc(whole, want, maps.Equal) {
			t.Fatalf("read %q, encoding/csv %q", whole, want)
		}
		if (err == io.EOF) != (werr == nil) {
			t.Fatalf("error %v, encoding/csv %v", werr, err)
		}
		var pe *csv.ParseError
		var ce *files.CSVError
		if errors.As(err, &pe) && errors.As(werr, &ce) && (pe.Line != ce.Line || pe.Column != ce.Column) {
			t.Fatalf("error at %d:%d, encoding/csv at %d:%d", ce.Line, ce.Column, pe.Line, pe.Column)
		}
	})
}

// FuzzCSVDecode checks that decoding any cells into a struct either works or gives a
// *CSVError naming the cell, and never panics.
func FuzzCSVDecode(f *testing.F) {
	f.Add("oslo", "1.5", "3", "true", "2026-01-02T03:04:05Z", "-7")
	f.Add("", "", "", "", "", "")
	f.Add("x", "NaN", "99999999999999999999", "T", "2026-13-01T00:00:00Z", "1e3")
	f.Add("\"", " 1 ", "0x10", "yes", "now", "\n")
	f.Fuzz(func(t *testing.T, s, fl, i, b, tm, i8 string) {
		var buf bytes.Buffer
		w := csv.NewWriter(&buf)
		w.Write([]string{"s", "f", "i", "b", "t", "i8"})
		w.Write([]string{s, fl, i, b, tm, i8})
		w.Flush()
		path := writeCSV(t, buf.String())
		type rec struct {
			S  string    `csv:"s"`
			F  float64   `csv:"f"`
			I  int       `csv:"i"`
			B  bool      `csv:"b"`
			T  time.Time `csv:"t"`
			I8 int8      `csv:"i8"`
		}
		got, _, err := readPart(t, files.NewCSVStructSource[rec](path), path, nil, false)
		if err != nil {
			var ce *files.CSVError
			if !errors.As(err, &ce) || ce.Line < 2 || ce.Column < 1 || ce.Header == "" || ce.Path != path {
				t.Fatalf("error %#v, want a *CSVError naming a cell", err)
			}
			return
		}
		if len(got) != 1 || got[0].S != s {
			t.Fatalf("rows %+v, want one with S %q", got, s)
		}
	})
}

func ExampleNewCSVStructSource() {
	dir, err := os.MkdirTemp("", "weir-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "temps.csv")
	data := "station,temp_c,at\noslo,-3.5,2026-11-24T10:00:00Z\nrome,14,2026-11-24T10:00:00Z\n"
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		fmt.Println(err)
		return
	}

	type Reading struct {
		Station string
		Temp    float64   `csv:"temp_c"`
		At      time.Time `csv:"at"`
	}
	flow := weir.NewDataflow("flow")
	readings := op.Input("readings", flow, files.NewCSVStructSource[Reading](path))
	out := weirtest.NewSink[string]()
	op.Output("out", op.Map("fmt", readings, func(r Reading) string {
		return fmt.Sprintf("%s %.1f°F at %s", r.Station, r.Temp*9/5+32, r.At.Format(time.Kitchen))
	}), out)
	if err := run.Run(context.Background(), flow); err != nil {
		fmt.Println(err)
	}
	fmt.Println(strings.Join(out.Items(), "\n"))
	// Output:
	// oslo 25.7°F at 10:00AM
	// rome 57.2°F at 10:00AM
}

func ExampleNewCSVSource() {
	dir, err := os.MkdirTemp("", "weir-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "orders.csv")
	data := "customer,item,note\nada,tea,\"two bags,\nno sugar\"\nbob,coffee,\n"
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		fmt.Println(err)
		return
	}

	flow := weir.NewDataflow("flow")
	orders := op.Input("orders", flow, files.NewCSVSource(path))
	out := weirtest.NewSink[string]()
	op.Output("out", op.Map("fmt", orders, func(r map[string]string) string {
		return fmt.Sprintf("%s wants %s (%q)", r["customer"], r["item"], r["note"])
	}), out)
	if err := run.Run(context.Background(), flow); err != nil {
		fmt.Println(err)
	}
	fmt.Println(strings.Join(out.Items(), "\n"))
	// Output:
	// ada wants tea ("two bags,\nno sugar")
	// bob wants coffee ("")
}
