package stdio

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"testing/synctest"
	"time"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/sink"
	"github.com/weirflow/weir/source"
	"github.com/weirflow/weir/weirtest"
)

type point struct{ X, Y int }

func (p point) String() string { return fmt.Sprintf("(%d,%d)", p.X, p.Y) }

// printed writes batches through one partition of a sink and returns the output.
func printed[T any](t *testing.T, batches ...[]T) string {
	t.Helper()
	var buf bytes.Buffer
	p, err := newSink[T](&buf).Build(context.Background(), sink.Part{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range batches {
		if err := p.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestSinkFormatsLikePrintln(t *testing.T) {
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"strings", printed(t, []string{"a", "", "b c"}, []string{"d"}), "a\n\nb c\nd\n"},
		{"ints", printed(t, []int{1, -2, 0}), "1\n-2\n0\n"},
		{"floats", printed(t, []float64{1.5, 1e21}), fmt.Sprintln(1.5) + fmt.Sprintln(1e21)},
		{"stringers", printed(t, []point{{1, 2}}), "(1,2)\n"},
		{"keyed", printed(t, []weir.KV[int]{{Key: "k", Value: 1}}), fmt.Sprintln(weir.KV[int]{Key: "k", Value: 1})},
		{"empty batch", printed(t, []string{}), ""},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: printed %q, want %q", tt.name, tt.got, tt.want)
		}
	}
}

// TestSinkWorkersDoNotMixLines writes long lines from several partitions at once: every
// line must come out whole.
func TestSinkWorkersDoNotMixLines(t *testing.T) {
	var buf bytes.Buffer
	s := newSink[string](&buf)
	const workers, batches, perBatch = 4, 50, 20
	var wg sync.WaitGroup
	for w := range workers {
		p, _ := s.Build(context.Background(), sink.Part{Worker: w, Workers: workers}, nil)
		line := strings.Repeat(string(rune('a'+w)), 500)
		wg.Go(func() {
			batch := slices.Repeat([]string{line}, perBatch)
			for range batches {
				if err := p.Write(batch); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != workers*batches*perBatch {
		t.Fatalf("%d lines, want %d", len(lines), workers*batches*perBatch)
	}
	for i, l := range lines {
		if len(l) != 500 || strings.Count(l, l[:1]) != 500 {
			t.Fatalf("line %d is mixed: %.40q...", i, l)
		}
	}
}

func TestSinkWriteError(t *testing.T) {
	boom := errors.New("boom")
	p, _ := newSink[int](errWriter{boom}).Build(context.Background(), sink.Part{}, nil)
	if err := p.Write([]int{1}); !errors.Is(err, boom) || !strings.HasPrefix(err.Error(), "weir: stdio: ") {
		t.Fatalf("Write error %v, want one wrapping boom", err)
	}
}

type errWriter struct{ err error }

func (w errWriter) Write([]byte) (int, error) { return 0, w.err }

// readLines reads a line source to its end, sleeping (in the synctest bubble) whenever
// the partition has nothing yet, and returns the batches.
func readLines(t *testing.T, r io.Reader) ([][]string, error) {
	t.Helper()
	p, err := newLineSource(r).Build(context.Background(), source.Part{Partition: "stdin"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var got [][]string
	for {
		items, err := p.Next(context.Background())
		if len(items) > 0 {
			got = append(got, slices.Clone(items))
		}
		if err != nil {
			return got, err
		}
		if len(items) == 0 {
			time.Sleep(time.Until(p.(source.Awaker).NextAwake()))
		}
	}
}

func TestLineSource(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"a", []string{"a"}},
		{"a\n", []string{"a"}},
		{"a\r\nb\n\nc", []string{"a", "b", "", "c"}},
		{"\n\n", []string{"", ""}},
		{"x\ry\n", []string{"x\ry"}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q", tt.in), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				batches, err := readLines(t, strings.NewReader(tt.in))
				if err != io.EOF {
					t.Fatalf("ended with %v, want io.EOF", err)
				}
				if got := slices.Concat(batches...); !slices.Equal(got, tt.want) {
					t.Fatalf("lines %q, want %q", got, tt.want)
				}
			})
		})
	}
}

func TestLineSourceBatches(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var in strings.Builder
		for i := range 3000 {
			fmt.Fprintln(&in, i)
		}
		batches, err := readLines(t, strings.NewReader(in.String()))
		if err != io.EOF {
			t.Fatalf("ended with %v, want io.EOF", err)
		}
		var n int
		for _, b := range batches {
			if len(b) > batchLines {
				t.Fatalf("a batch of %d lines, want at most %d", len(b), batchLines)
			}
			for _, l := range b {
				if l != fmt.Sprint(n) {
					t.Fatalf("line %q, want %d", l, n)
				}
				n++
			}
		}
		if n != 3000 {
			t.Fatalf("%d lines, want 3000", n)
		}
	})
}

func TestLineSourceSlowInput(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, w := io.Pipe()
		go func() {
			for _, s := range []string{"a\nb", "\n", "c\n"} {
				time.Sleep(time.Second)
				io.WriteString(w, s)
			}
			w.Close()
		}()
		batches, err := readLines(t, r)
		if err != io.EOF {
			t.Fatalf("ended with %v, want io.EOF", err)
		}
		if got := slices.Concat(batches...); !slices.Equal(got, []string{"a", "b", "c"}) {
			t.Fatalf("lines %q", got)
		}
	})
}

func TestLineSourceIdleBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, w := io.Pipe()
		p, _ := newLineSource(r).Build(context.Background(), source.Part{Partition: "stdin"}, nil)
		var waits []time.Duration
		for range 7 {
			items, err := p.Next(context.Background())
			if len(items) != 0 || err != nil {
				t.Fatalf("Next on a quiet input = %v, %v", items, err)
			}
			waits = append(waits, time.Until(p.(source.Awaker).NextAwake()))
		}
		ms := time.Millisecond
		if want := []time.Duration{ms, 2 * ms, 4 * ms, 8 * ms, 16 * ms, 16 * ms, 16 * ms}; !slices.Equal(waits, want) {
			t.Fatalf("waits %v, want %v", waits, want)
		}
		p.Close()
		w.Close() // lets the reader goroutine return
	})
}

func TestLineSourceError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		boom := errors.New("boom")
		batches, err := readLines(t, io.MultiReader(strings.NewReader("a\nb"), iotest.ErrReader(boom)))
		if !errors.Is(err, boom) || !strings.HasPrefix(err.Error(), "weir: stdio: ") {
			t.Fatalf("ended with %v, want an error wrapping boom", err)
		}
		if got := slices.Concat(batches...); !slices.Equal(got, []string{"a", "b"}) {
			t.Fatalf("lines %q, want [a b]", got)
		}
	})
}

// TestLineSourceCloseStopsReader closes the partition while its reader waits for room:
// the goroutine must end (synctest fails the test if it is left blocked).
func TestLineSourceCloseStopsReader(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		in := strings.Repeat("x\n", 3*aheadLines)
		p, _ := newLineSource(strings.NewReader(in)).Build(context.Background(), source.Part{Partition: "stdin"}, nil)
		synctest.Wait()
		if items, err := p.Next(context.Background()); len(items) != batchLines || err != nil {
			t.Fatalf("Next = %d lines, %v", len(items), err)
		}
		p.Close()
	})
}

func TestStdioInAFlow(t *testing.T) {
	var in strings.Builder
	for i := range 2500 {
		fmt.Fprintf(&in, "line %d\r\n", i)
	}
	var out bytes.Buffer
	flow := weir.NewDataflow("flow")
	op.Output("out", op.Input("in", flow, source.Source[string](newLineSource(strings.NewReader(in.String())))), sink.Sink[string](newSink[string](&out)))
	weirtest.Run(t, flow, 2)
	if got, want := out.String(), strings.ReplaceAll(in.String(), "\r\n", "\n"); got != want {
		t.Fatalf("output differs from input: %d bytes, want %d", len(got), len(want))
	}
}
