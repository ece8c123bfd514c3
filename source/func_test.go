package source_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/run"
	"github.com/weirflow/weir/sink"
	"github.com/weirflow/weir/source"
	"github.com/weirflow/weir/weirtest"
)

// counter returns a FromFunc function that returns 0, 1, ... n-1, sleeping every before
// each, then io.EOF.
func counter(n int, every time.Duration) func(context.Context) (int, error) {
	i := 0
	return func(ctx context.Context) (int, error) {
		if every > 0 {
			select {
			case <-time.After(every):
			case <-ctx.Done():
				return 0, ctx.Err()
			}
		}
		if i == n {
			return 0, io.EOF
		}
		i++
		return i - 1, nil
	}
}

// TestFromFuncBatches checks when batches are due, on a fake clock: full batches at
// once, a partial one when its first item has waited MaxWait, and what NextAwake says in
// between.
func TestFromFuncBatches(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// An item every 3 ms, batches of up to 4, MaxWait 10 ms.
		p := build[int](t, source.FromFunc(counter(10, 3*time.Millisecond)).BatchSize(4).MaxWait(10*time.Millisecond), "func", nil)
		aw := p.(source.Awaker)
		start := time.Now()
		var got [][]int
		var at []time.Duration
		for len(got) < 10 {
			items, err := p.Next(context.Background())
			if len(items) > 0 {
				got = append(got, slices.Clone(items))
				at = append(at, time.Since(start))
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			wake := aw.NextAwake()
			if !wake.After(time.Now()) && len(items) == 0 {
				t.Fatalf("NextAwake %v after an empty batch at %v: a busy loop", wake.Sub(start), time.Since(start))
			}
			time.Sleep(time.Until(wake))
			synctest.Wait()
		}
		if !slices.EqualFunc(got, [][]int{{0, 1, 2, 3}, {4, 5, 6, 7}, {8, 9}}, slices.Equal) {
			t.Fatalf("batches %v", got)
		}
		// Item k comes at 3(k+1) ms. The worker looks at 0 ms, 10 ms later, then when the
		// batch will be full at the rate so far (3 items in 7 ms: at 12.33 ms, before 0
		// has waited 10 ms) and takes 0 to 3. It comes back 9 ms later (the time that
		// batch took to fill), at 21.33 ms, then at 23.44 ms (the rate's guess), and at 25
		// ms, when 4 has waited 10 ms and 7 has come. 8 and 9 come at 27 and 30 ms, EOF
		// at 33 ms, and the worker looks again at 34 ms, 9 ms after the last batch.
		third := time.Millisecond / 3
		if want := []time.Duration{12*time.Millisecond + third, 25 * time.Millisecond, 34 * time.Millisecond}; !slices.Equal(at, want) {
			t.Fatalf("batches at %v, want %v", at, want)
		}
		if err := p.Close(); err != nil {
			t.Fatal(err)
		}
	})
}

func TestFromFuncMaxWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// One item every 25 ms, batches of up to 100, MaxWait 10 ms: each item is passed
		// on alone, 10 ms after fn returned it.
		p := build[int](t, source.FromFunc(counter(3, 25*time.Millisecond)).BatchSize(100).MaxWait(10*time.Millisecond), "func", nil)
		aw := p.(source.Awaker)
		start := time.Now()
		polls := 0
		var at []time.Duration
		for {
			items, err := p.Next(context.Background())
			polls++
			for range items {
				at = append(at, time.Since(start))
			}
			if err == io.EOF {
				break
			}
			time.Sleep(time.Until(aw.NextAwake()))
			synctest.Wait()
		}
		if want := []time.Duration{35 * time.Millisecond, 60 * time.Millisecond, 85 * time.Millisecond}; !slices.Equal(at, want) {
			t.Fatalf("items passed on at %v, want %v", at, want)
		}
		// Idle, the partition is looked at every MaxWait or so, not in a busy loop.
		if polls > 15 {
			t.Fatalf("%d calls of Next in 100 ms", polls)
		}
		p.Close()
	})
}

// TestFromFuncKeepsUp: a fn that makes items as fast as they are taken has its batches
// taken as they fill, not one per MaxWait.
func TestFromFuncKeepsUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := build[int](t, source.FromFunc(counter(1000, 0)).BatchSize(100).MaxWait(10*time.Millisecond), "func", nil)
		aw := p.(source.Awaker)
		start := time.Now()
		n := 0
		for {
			synctest.Wait()
			items, err := p.Next(context.Background())
			n += len(items)
			if err == io.EOF {
				break
			}
			time.Sleep(time.Until(aw.NextAwake()))
		}
		// Ten batches, the first found 10 ms after the worker first looked (it knew of no
		// rate then), the others at most 50 µs apart.
		if took := time.Since(start); n != 1000 || took > 10*time.Millisecond+10*50*time.Microsecond {
			t.Fatalf("%d items in %v", n, took)
		}
		p.Close()
	})
}

// TestFromFuncHoldsBack: fn runs ahead of the flow by four batches, no more.
func TestFromFuncHoldsBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls atomic.Int64
		p := build[int](t, source.FromFunc(func(context.Context) (int, error) { return int(calls.Add(1)), nil }).BatchSize(5), "func", nil)
		synctest.Wait()
		if n := calls.Load(); n != 20 {
			t.Fatalf("fn called %d times with nobody taking items, want 20", n)
		}
		for want := 1; want <= 11; want += 5 {
			items, err := p.Next(context.Background())
			if err != nil || !slices.Equal(items, []int{want, want + 1, want + 2, want + 3, want + 4}) {
				t.Fatalf("Next: %v, %v", items, err)
			}
			synctest.Wait()
			if n := calls.Load(); n != int64(want+4+20) {
				t.Fatalf("fn called %d times, want %d", n, want+4+20)
			}
			// The batch returned is not touched by fn's goroutine while the flow holds it.
			if !slices.Equal(items, []int{want, want + 1, want + 2, want + 3, want + 4}) {
				t.Fatalf("the borrowed batch changed: %v", items)
			}
		}
		p.Close()
	})
}

func TestFromFuncClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// fn blocks until its context is cancelled: Close must end it and wait for it.
		stopped := false
		p := build[int](t, source.FromFunc(func(ctx context.Context) (int, error) {
			<-ctx.Done()
			stopped = true
			return 0, ctx.Err()
		}), "func", nil)
		if items, err := p.Next(context.Background()); items != nil || err != nil {
			t.Fatalf("Next: %v, %v", items, err)
		}
		if err := p.Close(); err != nil || !stopped {
			t.Fatalf("Close: %v, fn stopped: %v", err, stopped)
		}
	})
}

func TestFromFuncErrors(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name string
		fn   func(context.Context) (int, error)
		want string
		is   error
	}{
		{"error", func(context.Context) (int, error) { return 0, boom }, `weir: step flow.in (partition "func"): weir: source func: boom`, boom},
		{"panic", func(context.Context) (int, error) { panic("oops") }, "weir: source func: panic: oops", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			flow := weir.NewDataflow("flow")
			op.Output("out", op.Input("in", flow, source.FromFunc(tt.fn)), weirtest.NewSink[int]())
			err := run.Run(context.Background(), flow)
			if err == nil || !strings.Contains(err.Error(), tt.want) || (tt.is != nil && !errors.Is(err, tt.is)) {
				t.Fatalf("run error %v, want one containing %q", err, tt.want)
			}
		})
	}
	if _, err := source.FromFunc(counter(1, 0)).Build(context.Background(), source.Part{Partition: "chan"}, nil); err == nil {
		t.Fatal("built an unknown partition")
	}
}

func TestFromFuncAndChanInAFlow(t *testing.T) {
	for _, workers := range []int{1, 3} {
		t.Run(fmt.Sprint(workers, " workers"), func(t *testing.T) {
			ch := make(chan string)
			go func() {
				for i := range 1000 {
					ch <- fmt.Sprint("c", i)
				}
				close(ch)
			}()
			flow := weir.NewDataflow("flow")
			nums, strs := weirtest.NewSink[int](), weirtest.NewSink[string]()
			op.Output("nums", op.Input("func", flow, source.FromFunc(counter(1000, 0)).BatchSize(64)), nums)
			op.Output("strs", op.Input("chan", flow, source.FromChan(ch).BatchSize(64)), strs)
			weirtest.Run(t, flow, workers)
			for i, n := range nums.Items() {
				if n != i {
					t.Fatalf("item %d is %d", i, n)
				}
			}
			for i, s := range strs.Items() {
				if s != fmt.Sprint("c", i) {
					t.Fatalf("item %d is %q", i, s)
				}
			}
			if len(nums.Items()) != 1000 || len(strs.Items()) != 1000 {
				t.Fatalf("%d and %d items, want 1000 each", len(nums.Items()), len(strs.Items()))
			}
		})
	}
}

// TestFromChanLatency runs a flow on a fake clock: an item sent on a quiet channel
// reaches the sink MaxWait after it was sent, and a run stopped by its context stops
// the goroutine that receives.
func TestFromChanLatency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ch := make(chan time.Time)
		var delays []time.Duration
		flow := weir.NewDataflow("flow")
		op.Output("out", op.Input("in", flow, source.FromChan(ch).MaxWait(5*time.Millisecond)), sink.Func(func(ts []time.Time) error {
			for _, t := range ts {
				delays = append(delays, time.Since(t))
			}
			return nil
		}))
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- run.Run(ctx, flow) }()
		for range 5 {
			time.Sleep(time.Second)
			ch <- time.Now()
		}
		time.Sleep(time.Second)
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatal(err)
		}
		if len(delays) != 5 {
			t.Fatalf("%d items passed on, want 5", len(delays))
		}
		for _, d := range delays {
			if d < 5*time.Millisecond || d > 6*time.Millisecond {
				t.Fatalf("delays %v, want 5 ms", delays)
			}
		}
	})
}

// TestFromFuncResume: with Resume, a run aborted after some rounds and resumed passes
// on every item once, in order, the resumed fn starting after the last item of the last
// completed epoch.
func TestFromFuncResume(t *testing.T) {
	for stop := range 4 {
		t.Run(fmt.Sprint("abort after ", stop), func(t *testing.T) {
			rec := weirtest.NewRecovery(t, 1)
			out := weirtest.NewSink[int]()
			crash := weirtest.NewSource(make([]int, stop)...).BatchSize(1).Abort()
			var starts []int
			for range 2 {
				next := 0 // the "log" position of the next item
				src := source.FromFunc(func(context.Context) (int, error) {
					if next == 50 {
						return 0, io.EOF
					}
					next++
					return next - 1, nil
				}).BatchSize(8).Resume(
					func(item int) []byte { return []byte(strconv.Itoa(item + 1)) },
					func(_ context.Context, after []byte) error {
						if after != nil {
							n, err := strconv.Atoi(string(after))
							next = n
							return err
						}
						return nil
					})
				flow := weir.NewDataflow("flow")
				op.Output("ticks", op.Input("crash", flow, crash), sink.Func(func([]int) error { return nil }))
				op.Output("out", op.Input("in", flow, src), out)
				rec.Run(t, flow, 1)
				starts = append(starts, next)
			}
			got := out.Items()
			if len(got) != 50 {
				t.Fatalf("%d items, want 50: %v", len(got), got)
			}
			for i, n := range got {
				if n != i {
					t.Fatalf("item %d is %d: %v", i, n, got)
				}
			}
		})
	}
	// A failing start fails the run.
	flow := weir.NewDataflow("flow")
	src := source.FromFunc(counter(1, 0)).Resume(func(int) []byte { return nil }, func(context.Context, []byte) error { return errors.New("no such offset") })
	op.Output("out", op.Input("in", flow, src), weirtest.NewSink[int]())
	if err := run.Run(context.Background(), flow); err == nil || !strings.Contains(err.Error(), "weir: source func: resuming after : no such offset") {
		t.Fatalf("run error %v", err)
	}
}

func ExampleFromFunc() {
	// A function that blocks until it has an item: here it makes three, then ends.
	next := 0
	fetch := func(ctx context.Context) (string, error) {
		if next == 3 {
			return "", io.EOF
		}
		next++
		return fmt.Sprint("message ", next), nil
	}
	flow := weir.NewDataflow("flow")
	in := op.Input("in", flow, source.FromFunc(fetch).BatchSize(100).MaxWait(50*time.Millisecond))
	op.Output("out", in, sink.Func(func(items []string) error {
		fmt.Println(items)
		return nil
	}))
	if err := run.Run(context.Background(), flow); err != nil {
		fmt.Println(err)
	}
	// Output:
	// [message 1 message 2 message 3]
}

func ExampleFromChan() {
	ch := make(chan int)
	go func() {
		defer close(ch)
		for i := range 5 {
			ch <- i * i
		}
	}()
	flow := weir.NewDataflow("flow")
	in := op.Input("in", flow, source.FromChan(ch))
	op.Output("out", in, sink.Func(func(items []int) error {
		for _, n := range items {
			fmt.Println(n)
		}
		return nil
	}))
	if err := run.Run(context.Background(), flow); err != nil {
		fmt.Println(err)
	}
	// Output:
	// 0
	// 1
	// 4
	// 9
	// 16
}
