package op_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/run"
	"github.com/weirflow/weir/weirtest"
)

func TestRoute(t *testing.T) {
	many := make([]string, 12) // more than a linear scan handles
	for i := range many {
		many[i] = fmt.Sprintf("n%d", i)
	}
	tests := []struct {
		name  string
		items []int
		names []string
		fn    func(int) string
		want  map[string][]int
	}{
		{
			name:  "sign",
			items: []int{3, -1, 0, 7, -5, 0},
			names: []string{"neg", "zero", "pos"},
			fn: func(x int) string {
				switch {
				case x < 0:
					return "neg"
				case x == 0:
					return "zero"
				}
				return "pos"
			},
			want: map[string][]int{"neg": {-1, -5}, "zero": {0, 0}, "pos": {3, 7}},
		},
		{
			name:  "one_output",
			items: []int{1, 2},
			names: []string{"all"},
			fn:    func(int) string { return "all" },
			want:  map[string][]int{"all": {1, 2}},
		},
		{
			name:  "unused_output",
			items: []int{1, 2},
			names: []string{"used", "unused"},
			fn:    func(int) string { return "used" },
			want:  map[string][]int{"used": {1, 2}},
		},
		{
			name:  "many_outputs",
			items: []int{0, 11, 5, 12, 23},
			names: many,
			fn:    func(x int) string { return fmt.Sprintf("n%d", x%12) },
			want:  map[string][]int{"n0": {0, 12}, "n11": {11, 23}, "n5": {5}},
		},
	}
	for _, tt := range tests {
		for _, batch := range []int{1, 3} {
			t.Run(fmt.Sprintf("%s/batch=%d", tt.name, batch), func(t *testing.T) {
				flow := weir.NewDataflow("f")
				r := op.Route("r", op.Input("in", flow, weirtest.NewSource(tt.items...).BatchSize(batch)), tt.names, tt.fn)
				sinks := map[string]*weirtest.Sink[int]{}
				for _, name := range tt.names {
					sinks[name] = weirtest.NewSink[int]()
					op.Output("out_"+name, r.Out(name), sinks[name])
				}
				weirtest.Run(t, flow, 1)
				got := map[string][]int{}
				for name, s := range sinks {
					if items := s.Items(); len(items) > 0 {
						got[name] = items
					}
				}
				if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("outputs (-want +got):\n%s", diff)
				}
			})
		}
	}
}

func TestRouteUnknownName(t *testing.T) {
	for _, names := range [][]string{{"a", "b"}, strings.Fields("a b c d e f g h i j")} {
		t.Run(fmt.Sprint(len(names)), func(t *testing.T) {
			flow := weir.NewDataflow("f")
			r := op.Route("split", op.Input("in", flow, weirtest.NewSource("a", "b", "nope")), names,
				func(x string) string { return x })
			dropAll("a", r.Out("a"))
			err := run.Run(context.Background(), flow)
			if !errors.Is(err, op.ErrUnknownRoute) {
				t.Fatalf("run error %v, want one wrapping op.ErrUnknownRoute", err)
			}
			if msg := err.Error(); !strings.Contains(msg, "f.split") || !strings.Contains(msg, `"nope"`) {
				t.Errorf("error %q should name step f.split and output \"nope\"", msg)
			}
		})
	}
}

func TestTryMap(t *testing.T) {
	tests := []struct {
		name       string
		items      []string
		wantOK     []int
		wantFailed []string
	}{
		{"mixed", []string{"1", "x", "3", "", "5"}, []int{1, 3, 5}, []string{"x", ""}},
		{"all_ok", []string{"7", "8"}, []int{7, 8}, nil},
		{"all_failed", []string{"a", "b"}, nil, []string{"a", "b"}},
	}
	for _, tt := range tests {
		for _, batch := range []int{1, 2, 10} {
			t.Run(fmt.Sprintf("%s/batch=%d", tt.name, batch), func(t *testing.T) {
				flow := weir.NewDataflow("f")
				okSink := weirtest.NewSink[int]()
				failedSink := weirtest.NewSink[op.Failure[string]]()
				ok, failed := op.TryMap("parse", op.Input("in", flow, weirtest.NewSource(tt.items...).BatchSize(batch)), strconv.Atoi)
				op.Output("ok", ok, okSink)
				op.Output("failed", failed, failedSink)
				weirtest.Run(t, flow, 1)

				if diff := cmp.Diff(tt.wantOK, okSink.Items(), cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("ok (-want +got):\n%s", diff)
				}
				var gotFailed []string
				for _, f := range failedSink.Items() {
					if !errors.Is(f.Err, strconv.ErrSyntax) {
						t.Errorf("failure %v: error does not wrap strconv.ErrSyntax", f)
					}
					gotFailed = append(gotFailed, f.Item)
				}
				if diff := cmp.Diff(tt.wantFailed, gotFailed, cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("failed items (-want +got):\n%s", diff)
				}
			})
		}
	}
}

func TestFailureString(t *testing.T) {
	f := op.Failure[int]{Item: 7, Err: errors.New("too big")}
	if got, want := f.String(), "7: too big"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}
