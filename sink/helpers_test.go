package sink_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/run"
	"github.com/weirflow/weir/sink"
	"github.com/weirflow/weir/weirtest"
)

func TestFunc(t *testing.T) {
	tests := []struct {
		name    string
		workers int
		batch   int
	}{
		{"one worker", 1, 1},
		{"one worker, batches of 3", 1, 3},
		{"three workers", 3, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex // fn runs on every worker at once
			var got []int
			calls := 0
			out := sink.Func(func(items []int) error {
				mu.Lock()
				defer mu.Unlock()
				calls++
				got = append(got, items...)
				return nil
			})
			flow := weir.NewDataflow("flow")
			in := op.Input("in", flow, weirtest.NewSource(1, 2, 3, 4, 5, 6).BatchSize(tt.batch))
			op.Output("out", op.Redistribute("spread", in), out)
			weirtest.Run(t, flow, tt.workers)
			slices.Sort(got)
			if !slices.Equal(got, []int{1, 2, 3, 4, 5, 6}) {
				t.Fatalf("items %v, want 1 to 6", got)
			}
			if calls == 0 || calls > 6 {
				t.Fatalf("fn called %d times for 6 items", calls)
			}
		})
	}
}

func TestFuncError(t *testing.T) {
	boom := errors.New("boom")
	flow := weir.NewDataflow("flow")
	op.Output("out", op.Input("in", flow, weirtest.NewSource(1)), sink.Func(func([]int) error { return boom }))
	err := run.Run(context.Background(), flow)
	var se *weir.StepError
	if !errors.Is(err, boom) || !errors.As(err, &se) {
		t.Fatalf("run error %v, want a step error wrapping boom", err)
	}
}

func TestFuncPartition(t *testing.T) {
	var got []string
	p, err := sink.Func(func(items []string) error { got = append(got, items...); return nil }).
		Build(context.Background(), sink.Part{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Write([]string{"a", "b"}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []string{"a", "b"}) || p.Snapshot() != nil || p.Close() != nil {
		t.Fatalf("wrote %v, snapshot %v", got, p.Snapshot())
	}
}

func ExampleFunc() {
	flow := weir.NewDataflow("flow")
	in := op.Input("in", flow, weirtest.NewSource("a", "b", "c").BatchSize(2))
	op.Output("out", in, sink.Func(func(items []string) error {
		fmt.Println("batch:", items)
		return nil
	}))
	if err := run.Run(context.Background(), flow); err != nil {
		fmt.Println(err)
	}
	// Output:
	// batch: [a b]
	// batch: [c]
}
