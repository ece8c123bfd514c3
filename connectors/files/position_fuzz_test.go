package files_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/weirflow/weir/connectors/files"
	"github.com/weirflow/weir/sink"
)

// A resume position comes from the recovery store, which a damaged disk or another
// program's directory may fill with anything, for a file that may have changed since.
// Every source and sink of the package takes any position for any content without a
// panic or a read that never ends, refusing what it cannot use with an error of its own.
func FuzzFilePosition(f *testing.F) {
	f.Add("a,b\n1,2\n3,4\n", []byte{4}, uint8(0))
	f.Add("a,b\n1,2\n3,4\n", []byte{8, 2}, uint8(1))
	f.Add("x\ny\n", []byte{2, 1}, uint8(2))
	f.Add("x\ny\n", []byte{0x80}, uint8(3))
	f.Add("x", []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}, uint8(4))
	f.Add("a\n\"q\nq\"\n", []byte{2, 9}, uint8(1))
	f.Fuzz(func(t *testing.T, content string, resume []byte, which uint8) {
		dir := writeTree(t, map[string]string{"f": content})
		path := filepath.Join(dir, "f")
		var err error
		switch which % 5 {
		case 0:
			_, _, err = readPart(t, files.NewLineSource(path).BatchSize(2), "f", resume, false)
		case 1:
			_, _, err = readPart(t, files.NewCSVSource(path).BatchSize(2), path, resume, false)
		case 2:
			parse := func(l string) (int, error) { return strconv.Atoi(l) }
			src := files.ParseLines(files.NewDirSource(dir, "f"), parse).OnError(files.Skip)
			_, _, err = readPart(t, src, "f", resume, false)
		case 3:
			_, _, err = readPart(t, files.NewDirSource(dir, "f").BatchSize(3), "f", resume, false)
		case 4:
			var p sink.Partition[string]
			p, err = files.NewFileSink[string](path).Build(context.Background(), sink.Part{Step: "flow.out", Partition: "f", Workers: 1}, resume)
			if err == nil {
				if err = p.Write([]string{"z"}); err == nil {
					err = p.Close()
				}
				b, rerr := os.ReadFile(path)
				if rerr != nil {
					t.Fatal(rerr)
				}
				if err == nil && !strings.HasSuffix(string(b), "z\n") {
					t.Fatalf("resumed at %x over %q, wrote %q", resume, content, b)
				}
			}
		}
		if err != nil && !strings.HasPrefix(err.Error(), "weir: ") {
			t.Fatalf("resume %x over %q: %v: not an error of weir's", resume, content, err)
		}
	})
}
