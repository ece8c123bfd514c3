package files

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/weirflow/weir/source"
)

// readResults reads a dead-letter partition to its end, closing it and building it
// again from its snapshot after every batch when resumeEach is set.
func readResults[T any](t *testing.T, src source.Source[result[T]], partition string, resumeEach bool) ([]result[T], error) {
	t.Helper()
	ctx := context.Background()
	var got []result[T]
	var resume []byte
	for builds := 0; builds < 1<<20; builds++ {
		p, err := src.Build(ctx, source.Part{Partition: partition}, resume)
		if err != nil {
			return got, err
		}
		for {
			items, err := p.Next(ctx)
			got = append(got, items...)
			resume = p.Snapshot()
			if err != nil || resumeEach {
				p.Close()
				if err == io.EOF {
					return got, nil
				}
				if err != nil {
					return got, err
				}
				break
			}
		}
	}
	t.Fatal("the partition never ends")
	return nil, nil
}

func describe(rs []result[map[string]string]) []string {
	var out []string
	for _, r := range rs {
		if r.bad != nil {
			out = append(out, fmt.Sprintf("bad %d %d %q %v", r.bad.Line, r.bad.Offset, r.bad.Raw, r.bad.Err))
		} else {
			out = append(out, fmt.Sprintf("row %q", r.row))
		}
	}
	return out
}

// FuzzCSVDeadLetters checks Read's results against encoding/csv reading the whole file
// and going on after each error: the same rows, a bad row for each error, each at the
// offset and line where its text is in the file; and the same results when resumed
// after every row.
func FuzzCSVDeadLetters(f *testing.F) {
	for _, s := range []string{
		"a,b\n1,2\n", "a,b\n1\n2,3\n", "a\nb\"c\n\nd\n", "a,b\n\"x\ny\",1,2\r\n3,4", "a\n\"open\n1\n2\n",
		"a,b\n\n\r\n1\n", "a\n\"1\"x\n2\n", "\ufeffa,b\n1,2,3", "a\n\r\n\r",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, content string) {
		path := filepath.Join(t.TempDir(), "data.csv")
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		partition, _ := partitionName(path)
		src := NewCSVSource(path).BatchSize(1).deadLetters()
		whole, werr := readResults(t, src, partition, false)
		resumed, rerr := readResults(t, src, partition, true)
		if fmt.Sprint(werr) != fmt.Sprint(rerr) || !slices.Equal(describe(whole), describe(resumed)) {
			t.Fatalf("read %q (%v), resumed %q (%v)", describe(whole), werr, describe(resumed), rerr)
		}
		if werr != nil {
			return // a bad header: no rows at all
		}

		// The reference: encoding/csv over the whole file, going on after errors.
		r := csv.NewReader(strings.NewReader(content))
		header, err := r.Read()
		if err != nil {
			if len(whole) != 0 {
				t.Fatalf("no header, but read %q", describe(whole))
			}
			return
		}
		r.FieldsPerRecord = len(header)
		var want []string
		for {
			rec, err := r.Read()
			if err == io.EOF {
				break
			}
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				want = append(want, "bad")
				continue
			}
			m := map[string]string{}
			for i, h := range header {
				if i == 0 { // a byte-order mark opens the file, not a later field
					h = strings.TrimPrefix(h, "\ufeff")
				}
				m[h] = rec[i]
			}
			want = append(want, fmt.Sprintf("row %q", m))
		}
		if len(whole) != len(want) {
			t.Fatalf("read %q, encoding/csv %q", describe(whole), want)
		}
		end := int64(0)
		for i, res := range whole {
			if res.bad == nil {
				if want[i] != fmt.Sprintf("row %q", res.row) {
					t.Fatalf("result %d: %q, encoding/csv %s", i, res.row, want[i])
				}
				continue
			}
			b := res.bad
			if want[i] != "bad" || res.row != nil {
				t.Fatalf("result %d: bad row %+v, encoding/csv %s", i, b, want[i])
			}
			if b.Offset < end || !strings.HasPrefix(content[b.Offset:], b.Raw) {
				t.Fatalf("bad row %+v: not in the file at its offset (after %d)", b, end)
			}
			if line := 1 + strings.Count(content[:b.Offset], "\n"); b.Line != line {
				t.Fatalf("bad row %+v: on line %d", b, line)
			}
			end = b.Offset + int64(len(b.Raw))
		}
	})
}
