package source_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/run"
	"github.com/weirflow/weir/source"
	"github.com/weirflow/weir/weirtest"
)

// batches calls Next until io.EOF and returns every batch, copied.
func batches[T any](t *testing.T, p source.Partition[T]) [][]T {
	t.Helper()
	var got [][]T
	for range 1000 {
		items, err := p.Next(context.Background())
		if len(items) > 0 {
			got = append(got, slices.Clone(items))
		}
		if err == io.EOF {
			return got
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
	}
	t.Fatal("partition never ended")
	return nil
}

func build[T any](t *testing.T, src source.Source[T], partition string, resume []byte) source.Partition[T] {
	t.Helper()
	p, err := src.Build(context.Background(), source.Part{Step: "flow.in", Partition: partition, Workers: 1}, resume)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return p
}

func partitions(t *testing.T, src source.Partitioned) []string {
	t.Helper()
	names, err := src.Partitions(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return names
}

func equal[T comparable](a, b [][]T) bool {
	return slices.EqualFunc(a, b, func(x, y []T) bool { return slices.Equal(x, y) })
}

// resumeEverywhere reads src one batch at a time, rebuilding the partition from its
// snapshot before every batch, as if each batch were the last of a run, and returns
// the items in order.
func resumeEverywhere[T any](t *testing.T, src source.Source[T], partition string) []T {
	t.Helper()
	var got []T
	var resume []byte
	for range 1000 {
		p := build(t, src, partition, resume)
		items, err := p.Next(context.Background())
		got = append(got, items...)
		resume = p.Snapshot()
		p.Close()
		if err == io.EOF {
			return got
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
	}
	t.Fatal("partition never ended")
	return nil
}

func TestFromSlice(t *testing.T) {
	tests := []struct {
		items []int
		batch int
		want  [][]int
	}{
		{nil, 0, nil},
		{[]int{1, 2, 3, 4, 5}, 0, [][]int{{1, 2, 3, 4, 5}}},
		{[]int{1, 2, 3, 4, 5}, 2, [][]int{{1, 2}, {3, 4}, {5}}},
		{[]int{1, 2, 3, 4}, 2, [][]int{{1, 2}, {3, 4}}},
		{[]int{1, 2, 3}, 1, [][]int{{1}, {2}, {3}}},
		{[]int{1, 2, 3}, -5, [][]int{{1}, {2}, {3}}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.items, tt.batch), func(t *testing.T) {
			src := source.FromSlice(tt.items...)
			if tt.batch != 0 {
				src.BatchSize(tt.batch)
			}
			if got := batches(t, build(t, src, "slice", nil)); !equal(got, tt.want) {
				t.Errorf("batches %v, want %v", got, tt.want)
			}
			if got := resumeEverywhere(t, src, "slice"); !slices.Equal(got, tt.items) {
				t.Errorf("resumed at every batch: %v, want %v", got, tt.items)
			}
		})
	}
}

func TestFromSliceDefaultBatchAndCopy(t *testing.T) {
	items := make([]int, 2*source.DefaultBatchSize+1)
	src := source.FromSlice(items...)
	p := build(t, src, "slice", nil)
	batch, err := p.Next(context.Background())
	if len(batch) != source.DefaultBatchSize || err != nil {
		t.Fatalf("first batch has %d items (err %v), want %d", len(batch), err, source.DefaultBatchSize)
	}
	batch[0] = 42 // a downstream step scribbling on its borrowed batch
	if items[0] != 0 {
		t.Fatal("the batch shares memory with the caller's slice")
	}
	if got := partitions(t, src); !slices.Equal(got, []string{"slice"}) {
		t.Fatalf("partitions %v, want [slice]", got)
	}
}

func TestFromSeq(t *testing.T) {
	count := func(n int) iter.Seq[int] {
		return func(yield func(int) bool) {
			for i := range n {
				if !yield(i) {
					return
				}
			}
		}
	}
	tests := []struct {
		n     int
		batch int
		want  [][]int
	}{
		{0, 2, nil},
		{5, 2, [][]int{{0, 1}, {2, 3}, {4}}},
		{4, 2, [][]int{{0, 1}, {2, 3}}},
		{3, 0, [][]int{{0, 1, 2}}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.n, tt.batch), func(t *testing.T) {
			src := source.FromSeq(count(tt.n))
			if tt.batch != 0 {
				src.BatchSize(tt.batch)
			}
			if got := batches(t, build(t, src, "seq", nil)); !equal(got, tt.want) {
				t.Errorf("batches %v, want %v", got, tt.want)
			}
			if got, want := resumeEverywhere(t, src, "seq"), slices.Collect(count(tt.n)); !slices.Equal(got, want) {
				t.Errorf("resumed at every batch: %v, want %v", got, want)
			}
		})
	}
}

func TestFromSeqCloseStopsTheIterator(t *testing.T) {
	stopped := false
	src := source.FromSeq(func(yield func(int) bool) {
		defer func() { stopped = true }()
		for i := 0; ; i++ {
			if !yield(i) {
				return
			}
		}
	}).BatchSize(3)
	p := build(t, src, "seq", nil)
	if items, err := p.Next(context.Background()); !slices.Equal(items, []int{0, 1, 2}) || err != nil {
		t.Fatalf("Next = %v, %v", items, err)
	}
	p.Close()
	if !stopped {
		t.Fatal("Close did not stop the iterator")
	}
}

func TestLines(t *testing.T) {
	tests := []struct {
		text string
		want []string
	}{
		{"", nil},
		{"a", []string{"a"}},
		{"a\n", []string{"a"}},
		{"a\nb", []string{"a", "b"}},
		{"a\r\nb\r\n", []string{"a", "b"}},
		{"\n", []string{""}},
		{"a\n\n\nb\n", []string{"a", "", "", "b"}},
		{"a\rb\r", []string{"a\rb\r"}}, // a lone \r is not a line ending
		{"é\r\n\r\n", []string{"é", ""}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q", tt.text), func(t *testing.T) {
			for _, batch := range []int{1, 2, 1024} {
				src := source.Lines(tt.text).BatchSize(batch)
				got := slices.Concat(batches(t, build(t, src, "lines", nil))...)
				if !slices.Equal(got, tt.want) {
					t.Errorf("batch %d: lines %q, want %q", batch, got, tt.want)
				}
				if got := resumeEverywhere(t, source.Source[string](src), "lines"); !slices.Equal(got, tt.want) {
					t.Errorf("batch %d, resumed at every batch: %q, want %q", batch, got, tt.want)
				}
			}
		})
	}
}

func TestLinesBatchSize(t *testing.T) {
	text := strings.Repeat("x\n", 5)
	got := batches(t, build(t, source.Source[string](source.Lines(text).BatchSize(2)), "lines", nil))
	if want := [][]string{{"x", "x"}, {"x", "x"}, {"x"}}; !equal(got, want) {
		t.Fatalf("batches %q, want %q", got, want)
	}
}

func TestResumeErrors(t *testing.T) {
	srcs := []struct {
		src       source.Source[string]
		partition string
	}{
		{source.FromSlice("a", "b"), "slice"},
		{source.FromSeq(slices.Values([]string{"a", "b"})), "seq"},
		{source.Lines("a\nb\n"), "lines"},
	}
	tests := []struct {
		name   string
		resume []byte
		want   string
	}{
		{"truncated varint", []byte{0x80}, "corrupt resume position"},
		{"trailing bytes", []byte{1, 0}, "corrupt resume position"},
		{"empty", []byte{}, "corrupt resume position"},
		{"past the end", []byte{10}, "past the end"},
	}
	for _, s := range srcs {
		for _, tt := range tests {
			t.Run(s.partition+"/"+tt.name, func(t *testing.T) {
				_, err := s.src.Build(context.Background(), source.Part{Partition: s.partition}, tt.resume)
				want := tt.want
				if want == "past the end" && s.partition != "seq" {
					want = "corrupt resume position"
				}
				if err == nil || !strings.HasPrefix(err.Error(), "weir: source "+s.partition+": ") || !strings.Contains(err.Error(), want) {
					t.Fatalf("Build error = %v, want one containing %q", err, want)
				}
			})
		}
		t.Run(s.partition+"/unknown partition", func(t *testing.T) {
			if _, err := s.src.Build(context.Background(), source.Part{Partition: "x"}, nil); err == nil {
				t.Fatal("Build of an unknown partition succeeded")
			}
		})
	}
}

func TestPoll(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		start := time.Now()
		calls := 0
		script := []struct {
			item int
			ok   bool
			err  error
		}{{1, true, nil}, {0, false, nil}, {3, true, nil}, {4, true, nil}, {5, true, io.EOF}}
		src := source.Poll(time.Second, func(context.Context) (int, bool, error) {
			s := script[calls]
			calls++
			return s.item, s.ok, s.err
		})
		if got := partitions(t, src.(source.Partitioned)); !slices.Equal(got, []string{"poll"}) {
			t.Fatalf("partitions %v, want [poll]", got)
		}
		p := build(t, src, "poll", nil)
		aw := p.(source.Awaker)
		next := func(wantItems []int, wantErr error, wantAwake time.Duration) {
			t.Helper()
			items, err := p.Next(ctx)
			if !slices.Equal(items, wantItems) || err != wantErr || !aw.NextAwake().Equal(start.Add(wantAwake)) {
				t.Fatalf("at %v: Next = %v, %v, awake at %v; want %v, %v, %v", time.Since(start), items, err,
					aw.NextAwake().Sub(start), wantItems, wantErr, wantAwake)
			}
		}
		next([]int{1}, nil, time.Second) // the first call is at once
		next(nil, nil, time.Second)      // polled early: no call
		time.Sleep(time.Second)
		next(nil, nil, 2*time.Second) // fn had nothing
		time.Sleep(1500 * time.Millisecond)
		next([]int{3}, nil, 3*time.Second) // late, but the cadence holds
		time.Sleep(3500 * time.Millisecond)
		next([]int{4}, nil, 7*time.Second) // missed ticks are skipped
		time.Sleep(time.Hour)
		next([]int{5}, io.EOF, time.Hour+7*time.Second)
		if calls != 5 || p.Snapshot() != nil {
			t.Fatalf("%d calls, snapshot %v; want 5 calls and no position", calls, p.Snapshot())
		}
	})
}

func TestPollErrors(t *testing.T) {
	boom := errors.New("boom")
	src := source.Poll(time.Second, func(context.Context) (int, bool, error) { return 1, true, boom })
	p := build(t, src, "poll", nil)
	if items, err := p.Next(context.Background()); len(items) != 0 || !errors.Is(err, boom) {
		t.Fatalf("Next = %v, %v; want no items and boom", items, err)
	}
	bad := source.Poll(-time.Second, func(context.Context) (int, bool, error) { return 0, false, nil })
	if _, err := bad.Build(context.Background(), source.Part{Partition: "poll"}, nil); err == nil || !strings.Contains(err.Error(), "interval must not be negative") {
		t.Fatalf("Build with a negative interval: %v", err)
	}
}

// TestPollZeroInterval checks that an interval of 0 polls again at once, and leaves the
// wait after nothing to the runtime.
func TestPollZeroInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		calls := 0
		src := source.Poll(0, func(context.Context) (int, bool, error) { calls++; return calls, calls%2 == 1, nil })
		p := build(t, src, "poll", nil)
		for i, want := range [][]int{{1}, nil, {3}, nil, {5}} {
			items, err := p.Next(context.Background())
			if !slices.Equal(items, want) || err != nil || !p.(source.Awaker).NextAwake().IsZero() {
				t.Fatalf("call %d: Next = %v, %v, awake at %v; want %v at once", i+1, items, err, p.(source.Awaker).NextAwake(), want)
			}
		}
	})
}

// TestPollZeroIntervalInAFlow runs Poll(0) in a flow: items come without delay, and a
// quiet fn is called once a millisecond, not in a busy loop.
func TestPollZeroIntervalInAFlow(t *testing.T) {
	tests := []struct {
		name  string
		quiet time.Duration // how long fn has nothing before its items
		items int           // items fn then returns, one a call, before io.EOF
	}{
		{"items at once", 0, 100},
		{"quiet then items", 100 * time.Millisecond, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				start := time.Now()
				calls, sent := 0, 0
				src := source.Poll(0, func(context.Context) (int, bool, error) {
					calls++
					if calls > 10000 {
						return 0, false, errors.New("fn called in a busy loop")
					}
					if time.Since(start) < tt.quiet {
						return 0, false, nil
					}
					sent++
					if sent == tt.items {
						return sent, true, io.EOF
					}
					return sent, true, nil
				})
				flow := weir.NewDataflow("flow")
				out := weirtest.NewSink[int]()
				op.Output("out", op.Input("in", flow, src), out)
				weirtest.Run(t, flow, 1)
				if got := out.Items(); len(got) != tt.items || got[len(got)-1] != tt.items {
					t.Fatalf("items %v, want 1 to %d", got, tt.items)
				}
				// One call a millisecond while quiet, then one per item, none delayed.
				quietCalls := calls - tt.items
				if want := int(tt.quiet / time.Millisecond); quietCalls < want || quietCalls > want+1 {
					t.Fatalf("%d calls with nothing over %v, want %d (one a millisecond)", quietCalls, tt.quiet, want)
				}
				if d := time.Since(start); d > tt.quiet+time.Millisecond {
					t.Fatalf("the run took %v, want at most %v", d, tt.quiet+time.Millisecond)
				}
			})
		})
	}
}

func TestHelpersInAFlow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		flow := weir.NewDataflow("flow")
		n := 0
		polled := op.Input("poll", flow, source.Poll(time.Minute, func(context.Context) (string, bool, error) {
			n++
			if n == 3 {
				return "p3", true, io.EOF
			}
			return fmt.Sprint("p", n), true, nil
		}))
		all := op.Merge("all",
			op.Input("slice", flow, source.FromSlice("s1", "s2", "s3").BatchSize(2)),
			op.Input("seq", flow, source.FromSeq(slices.Values([]string{"q1", "q2"}))),
			op.Input("lines", flow, source.Lines("l1\r\nl2\n")),
			polled,
		)
		out := weirtest.NewSink[string]()
		op.Output("out", all, out)
		start := time.Now()
		weirtest.Run(t, flow, 2, run.EpochInterval(time.Second))
		got := out.Items()
		slices.Sort(got)
		if want := []string{"l1", "l2", "p1", "p2", "p3", "q1", "q2", "s1", "s2", "s3"}; !slices.Equal(got, want) {
			t.Fatalf("items %v, want %v", got, want)
		}
		if d := time.Since(start); d != 2*time.Minute {
			t.Fatalf("the run took %v, want 2m (three polls a minute apart)", d)
		}
	})
}

func ExampleFromSlice() {
	flow := weir.NewDataflow("flow")
	in := op.Input("in", flow, source.FromSlice(1, 2, 3))
	out := weirtest.NewSink[int]()
	op.Output("out", op.Map("square", in, func(x int) int { return x * x }), out)
	if err := run.Run(context.Background(), flow); err != nil {
		fmt.Println(err)
	}
	fmt.Println(out.Items())
	// Output: [1 4 9]
}

func ExampleLines() {
	const text = "first line\r\nsecond line\n"
	flow := weir.NewDataflow("flow")
	out := weirtest.NewSink[string]()
	op.Output("out", op.Input("in", flow, source.Lines(text)), out)
	if err := run.Run(context.Background(), flow); err != nil {
		fmt.Println(err)
	}
	fmt.Printf("%q\n", out.Items())
	// Output: ["first line" "second line"]
}

func ExamplePoll() {
	// A queue drained as fast as the flow takes its items: an interval of 0 polls again at
	// once after an item, and waits a millisecond after a poll that found nothing.
	queue := []string{"job-1", "job-2", "job-3"}
	src := source.Poll(0, func(context.Context) (string, bool, error) {
		if len(queue) == 0 {
			return "", false, io.EOF
		}
		job := queue[0]
		queue = queue[1:]
		return job, true, nil
	})
	flow := weir.NewDataflow("flow")
	out := weirtest.NewSink[string]()
	op.Output("out", op.Input("jobs", flow, src), out)
	if err := run.Run(context.Background(), flow); err != nil {
		fmt.Println(err)
	}
	fmt.Println(out.Items())
	// Output: [job-1 job-2 job-3]
}
