package files_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/connectors/files"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/run"
	"github.com/weirflow/weir/sink"
	"github.com/weirflow/weir/weirtest"
)

type kv = weir.KV[int]

func kvs(keys string, from int) []kv {
	var out []kv
	for i, k := range strings.Split(keys, "") {
		out = append(out, kv{Key: k, Value: from + i})
	}
	return out
}

func buildSink(t *testing.T, s sink.Sink[kv], partition string, resume []byte) sink.Partition[kv] {
	t.Helper()
	p, err := s.Build(context.Background(), sink.Part{Step: "flow.out", Partition: partition, Workers: 1}, resume)
	if err != nil {
		t.Fatalf("Build(%q, %x): %v", partition, resume, err)
	}
	return p
}

func readString(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestFileSinkExactlyOnce writes batches, "crashing" after each one past a snapshot
// (the batch is written and flushed by Close, but not snapshotted), then resumes from the
// snapshot and writes the batch again: the file must hold each batch once.
func TestFileSinkExactlyOnce(t *testing.T) {
	batches := [][]kv{kvs("ab", 0), nil, kvs("c", 2), kvs("defg", 3)}
	format := func(buf []byte, item kv) []byte {
		return strconv.AppendInt(append(append(buf, item.Key...), '='), int64(item.Value), 10)
	}
	tests := []struct {
		name   string
		sink   func(path string) sink.Sink[kv]
		format func(kv) string
	}{
		{"default format", func(p string) sink.Sink[kv] { return files.NewFileSink[kv](p) }, func(i kv) string { return fmt.Sprint(i) }},
		{"format func", func(p string) sink.Sink[kv] { return files.NewFileSink[kv](p).Format(format) }, func(i kv) string { return string(format(nil, i)) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "out.txt")
			// Old content: a fresh start overwrites it.
			if err := os.WriteFile(path, []byte("stale\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			s := tt.sink(path)
			var resume []byte
			var want strings.Builder
			for _, b := range batches {
				// The crashed attempt: written, closed, never snapshotted.
				p := buildSink(t, s, "out.txt", resume)
				if err := p.Write(b); err != nil {
					t.Fatal(err)
				}
				if err := p.Close(); err != nil {
					t.Fatal(err)
				}
				// The resumed attempt truncates, writes again and completes its epoch.
				p = buildSink(t, s, "out.txt", resume)
				if err := p.Write(b); err != nil {
					t.Fatal(err)
				}
				resume = p.Snapshot()
				for _, item := range b {
					want.WriteString(tt.format(item) + "\n")
				}
				// The snapshot is the flushed length of the file.
				if got := readString(t, path); got != want.String() {
					t.Fatalf("after the snapshot the file holds %q, want %q", got, want.String())
				}
				if err := p.Close(); err != nil {
					t.Fatal(err)
				}
			}
			if got := readString(t, path); got != want.String() {
				t.Fatalf("file %q, want %q", got, want.String())
			}
		})
	}
}

// TestFileSinksFlush checks that Flush, called at every epoch close of a run without a
// recovery store, puts the lines written so far in the file for other readers to see.
func TestFileSinksFlush(t *testing.T) {
	tests := []struct {
		name string
		sink func(dir string) (s sink.Sink[kv], partition, path string)
	}{
		{"file sink", func(dir string) (sink.Sink[kv], string, string) {
			path := filepath.Join(dir, "out.txt")
			return files.NewFileSink[kv](path), "out.txt", path
		}},
		{"dir sink", func(dir string) (sink.Sink[kv], string, string) {
			return files.NewDirSink[kv](dir, 1), "part-0", filepath.Join(dir, "part-0")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, partition, path := tt.sink(t.TempDir())
			p := buildSink(t, s, partition, nil)
			f, ok := p.(sink.Flusher)
			if !ok {
				t.Fatalf("%T has no Flush method", p)
			}
			var want strings.Builder
			for _, b := range [][]kv{kvs("ab", 0), nil, kvs("cde", 2)} {
				if err := p.Write(b); err != nil {
					t.Fatal(err)
				}
				if err := f.Flush(); err != nil {
					t.Fatal(err)
				}
				for _, item := range b {
					fmt.Fprintln(&want, item)
				}
				if got := readString(t, path); got != want.String() {
					t.Fatalf("after Flush the file holds %q, want %q", got, want.String())
				}
			}
			if err := p.Close(); err != nil {
				t.Fatal(err)
			}
			if got := readString(t, path); got != want.String() {
				t.Fatalf("after Close the file holds %q, want %q", got, want.String())
			}
		})
	}
}

// TestFileSinksWriteAsEpochsClose runs a flow without a recovery store whose source
// pauses for an hour after its first items: with epochs of a second, the files hold those
// items during the pause, for any reader to see, and everything once the run ends.
func TestFileSinksWriteAsEpochsClose(t *testing.T) {
	tests := []struct {
		name    string
		workers int
		output  func(dir string) (sink.Sink[kv], []string) // the sink and its files
	}{
		{"file sink", 1, func(dir string) (sink.Sink[kv], []string) {
			path := filepath.Join(dir, "out.txt")
			return files.NewFileSink[kv](path), []string{path}
		}},
		{"dir sink", 2, func(dir string) (sink.Sink[kv], []string) {
			return files.NewDirSink[kv](dir, 3), []string{filepath.Join(dir, "part-0"), filepath.Join(dir, "part-1"), filepath.Join(dir, "part-2")}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				out, paths := tt.output(t.TempDir())
				first, rest := kvs("abcdef", 0), kvs("gh", 6)
				flow := weir.NewDataflow("flow")
				in := op.Input("in", flow, weirtest.NewSource(first...).BatchSize(2).Pause(time.Hour).Then(rest...))
				op.Output("out", in, out)
				done := make(chan error)
				go func() {
					done <- run.Run(context.Background(), flow, run.Workers(tt.workers), run.EpochInterval(time.Second))
				}()

				time.Sleep(time.Minute) // within the pause, many epochs later
				if got, want := readLines(t, paths), itemLines(first); !slices.Equal(got, want) {
					t.Errorf("during the pause the files hold %q, want %q", got, want) // and let the run end
				}
				if err := <-done; err != nil {
					t.Fatal(err)
				}
				if got, want := readLines(t, paths), itemLines(append(first, rest...)); !slices.Equal(got, want) {
					t.Fatalf("after the run the files hold %q, want %q", got, want)
				}
			})
		})
	}
}

// TestFileSinksWriteOutOnCancel stops a run without a recovery store by cancelling its
// context, as Ctrl-C does: the files hold every item the run had written.
func TestFileSinksWriteOutOnCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		items := kvs("abc", 0)
		flow := weir.NewDataflow("flow")
		in := op.Input("in", flow, weirtest.NewSource(items...).Pause(time.Hour).Then(kvs("z", 9)...))
		op.Output("out", in, files.NewDirSink[kv](dir, 2))
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		// Epochs of an hour: nothing is flushed at an epoch close before the cancel.
		go func() { done <- run.Run(ctx, flow, run.Workers(2), run.EpochInterval(time.Hour)) }()
		time.Sleep(time.Minute)
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Fatal(err)
		}
		if got, want := readLines(t, []string{filepath.Join(dir, "part-0"), filepath.Join(dir, "part-1")}), itemLines(items); !slices.Equal(got, want) {
			t.Fatalf("after the cancel the files hold %q, want %q", got, want)
		}
	})
}

// readLines returns the lines of the files at paths, sorted; a missing file has none.
func readLines(t *testing.T, paths []string) []string {
	t.Helper()
	var lines []string
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")...)
	}
	lines = slices.DeleteFunc(lines, func(l string) bool { return l == "" })
	slices.Sort(lines)
	return lines
}

// itemLines returns the lines the sinks write for items, by default, sorted.
func itemLines(items []kv) []string {
	var lines []string
	for _, item := range items {
		lines = append(lines, fmt.Sprint(item))
	}
	slices.Sort(lines)
	return lines
}

func TestFileSinkBuildErrors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.txt")
	os.WriteFile(path, []byte("abc\n"), 0o644)
	tests := []struct {
		name      string
		partition string
		resume    []byte
		want      string
	}{
		{"unknown partition", "other", nil, `unknown partition "other"`},
		{"corrupt resume", "out.txt", []byte{0x80}, "corrupt resume position"},
		{"file shorter than its snapshot", "out.txt", []byte{9}, "the file has 4 bytes, fewer than the 9 of its snapshot"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := files.NewFileSink[kv](path).Build(context.Background(), sink.Part{Partition: tt.partition}, tt.resume)
			if err == nil || !strings.HasPrefix(err.Error(), "weir: files: ") || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Build error %v, want one containing %q", err, tt.want)
			}
		})
	}
	if got := readString(t, path); got != "abc\n" {
		t.Fatalf("a failed Build changed the file: %q", got)
	}
	if _, err := files.NewFileSink[kv](filepath.Join(path, "x")).Build(context.Background(), sink.Part{Partition: "x"}, nil); err == nil {
		t.Fatal("no error opening a file under a file")
	}
}

func TestDirSinkPartitions(t *testing.T) {
	tests := []struct {
		n    int
		want []string
	}{
		{0, []string{"part-0"}},
		{1, []string{"part-0"}},
		{3, []string{"part-0", "part-1", "part-2"}},
		{11, []string{"part-00", "part-01", "part-02", "part-03", "part-04", "part-05", "part-06", "part-07", "part-08", "part-09", "part-10"}},
	}
	for _, tt := range tests {
		got, err := files.NewDirSink[kv]("d", tt.n).Partitions(context.Background())
		if err != nil || !slices.Equal(got, tt.want) || !slices.IsSorted(got) {
			t.Errorf("n=%d: Partitions = %q, %v; want %q", tt.n, got, err, tt.want)
		}
	}
	if _, err := files.NewDirSink[kv]("d", 3).Build(context.Background(), sink.Part{Partition: "part-3"}, nil); err == nil || !strings.Contains(err.Error(), `unknown partition "part-3"`) {
		t.Errorf("unknown partition: %v", err)
	}
}

func TestDirSinkTruncatesEachFileOnResume(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out") // created by Build
	s := files.NewDirSink[kv](dir, 2)
	a := buildSink(t, s, "part-0", nil)
	b := buildSink(t, s, "part-1", nil)
	a.Write(kvs("a", 0))
	b.Write(kvs("bb", 1))
	ra, rb := a.Snapshot(), b.Snapshot()
	a.Write(kvs("x", 9)) // after the snapshots: lost in the crash
	b.Write(kvs("y", 9))
	a.Close()
	b.Close()

	a = buildSink(t, s, "part-0", ra)
	b = buildSink(t, s, "part-1", rb)
	a.Write(kvs("c", 3))
	a.Close()
	b.Close()
	if got := readString(t, filepath.Join(dir, "part-0")); got != "(a, 0)\n(c, 3)\n" {
		t.Errorf("part-0: %q", got)
	}
	if got := readString(t, filepath.Join(dir, "part-1")); got != "(b, 1)\n(b, 2)\n" {
		t.Errorf("part-1: %q", got)
	}
	// A fresh start overwrites.
	buildSink(t, s, "part-1", nil).Close()
	if got := readString(t, filepath.Join(dir, "part-1")); got != "" {
		t.Errorf("part-1 after a fresh start: %q", got)
	}
}

func TestFileSinksInAFlow(t *testing.T) {
	dir := t.TempDir()
	var items []kv
	for i := range 300 {
		items = append(items, kv{Key: fmt.Sprint("k", i%10), Value: i})
	}
	flow := weir.NewDataflow("flow")
	in := op.Input("in", flow, weirtest.NewSource(items...).BatchSize(16))
	one := filepath.Join(dir, "all.txt")
	op.Output("file", in, files.NewFileSink[kv](one))
	op.Output("dir", in, files.NewDirSink[kv](filepath.Join(dir, "parts"), 4))
	weirtest.Run(t, flow, 3)

	all := strings.Split(strings.TrimSuffix(readString(t, one), "\n"), "\n")
	if len(all) != 300 {
		t.Fatalf("%s: %d lines, want 300", one, len(all))
	}
	// Every key is in exactly one part, with its items in order.
	seen := map[string]string{}
	total := 0
	for i := range 4 {
		name := fmt.Sprint("part-", i)
		content := readString(t, filepath.Join(dir, "parts", name))
		last := map[string]int{}
		for _, line := range strings.Split(strings.TrimSuffix(content, "\n"), "\n") {
			if line == "" {
				continue
			}
			k, vs, _ := strings.Cut(strings.Trim(line, "()"), ", ")
			v, err := strconv.Atoi(vs)
			if err != nil {
				t.Fatalf("%s: line %q: %v", name, line, err)
			}
			if p, ok := seen[k]; ok && p != name {
				t.Fatalf("key %s in %s and %s", k, p, name)
			}
			if prev, ok := last[k]; ok && prev >= v {
				t.Fatalf("%s: key %s out of order: %d after %d", name, k, v, prev)
			}
			seen[k], last[k] = name, v
			total++
		}
	}
	if total != 300 || len(seen) != 10 {
		t.Fatalf("%d items over %d keys, want 300 over 10", total, len(seen))
	}
}

func ExampleNewFileSink() {
	dir, err := os.MkdirTemp("", "weir-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "counts.txt")

	flow := weir.NewDataflow("flow")
	words := op.Input("words", flow, weirtest.NewSource("to", "be", "or", "not"))
	keyed := op.Map("key", words, func(w string) weir.KV[int] { return weir.KV[int]{Key: w, Value: len(w)} })
	op.Output("out", keyed, files.NewFileSink[weir.KV[int]](path).Format(func(buf []byte, kv weir.KV[int]) []byte {
		buf = append(buf, kv.Key...)
		buf = append(buf, '\t')
		return strconv.AppendInt(buf, int64(kv.Value), 10)
	}))
	if err := run.Run(context.Background(), flow); err != nil {
		fmt.Println(err)
	}
	b, _ := os.ReadFile(path)
	fmt.Print(string(b))
	// Output:
	// to	2
	// be	2
	// or	2
	// not	3
}

func ExampleNewDirSink() {
	dir, err := os.MkdirTemp("", "weir-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "out")

	flow := weir.NewDataflow("flow")
	words := op.Input("words", flow, weirtest.NewSource("apple", "avocado", "banana", "blueberry", "cherry"))
	// Keyed by first letter: all the words of a letter go to one file, in order.
	keyed := op.Map("key", words, func(w string) weir.KV[string] { return weir.KV[string]{Key: w[:1], Value: w} })
	op.Output("out", keyed, files.NewDirSink[weir.KV[string]](out, 2).Format(func(buf []byte, kv weir.KV[string]) []byte {
		return append(buf, kv.Value...)
	}))
	if err := run.Run(context.Background(), flow, run.Workers(2)); err != nil {
		fmt.Println(err)
	}
	for _, name := range []string{"part-0", "part-1"} {
		b, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%s: %q\n", name, b)
	}
	// Output:
	// part-0: "apple\navocado\ncherry\n"
	// part-1: "banana\nblueberry\n"
}
