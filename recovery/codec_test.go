package recovery_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/recovery"
	"github.com/weirflow/weir/run"
	"github.com/weirflow/weir/weirtest"
)

// total is a running sum with its own codec: "sum/count" as text.
type total struct{ Sum, Count int }

type totalCodec struct{ encoded, decoded *atomic.Int64 }

func (c totalCodec) Encode(t total) ([]byte, error) {
	c.encoded.Add(1)
	return fmt.Appendf(nil, "%d/%d", t.Sum, t.Count), nil
}

func (c totalCodec) Decode(b []byte) (total, error) {
	c.decoded.Add(1)
	s, n, ok := strings.Cut(string(b), "/")
	if !ok {
		return total{}, fmt.Errorf("no / in %q", b)
	}
	sum, err1 := strconv.Atoi(s)
	count, err2 := strconv.Atoi(n)
	return total{sum, count}, errors.Join(err1, err2)
}

// totalV2 stands for total after an incompatible change of its encoding: a new name.
type totalV2 total

type totalV2Codec struct{}

func (totalV2Codec) Encode(t totalV2) ([]byte, error) { return []byte("v2"), nil }
func (totalV2Codec) Decode([]byte) (totalV2, error)   { return totalV2{}, nil }

// pair is a state type without a codec of its own: CBOR.
type pair struct{ A, B int }

var totalCalls = totalCodec{encoded: new(atomic.Int64), decoded: new(atomic.Int64)}

func init() {
	recovery.RegisterCodec("total-v1", totalCalls)
	recovery.RegisterCodec("total-v2", totalV2Codec{})
}

// sumStep is the full id of the StatefulMap step "sum" of sumFlow.
const sumStep = "sums.sum.stateful_flat_map.stateful.stateful_batch"

// sumFlow sums src's items under one key, "k", in a state of type S that add updates, and
// emits the running sums.
func sumFlow[S any](src *weirtest.Source[int], out *weirtest.Sink[weir.KV[int]], add func(s S, v int) (S, int)) *weir.Dataflow {
	flow := weir.NewDataflow("sums")
	keyed := op.KeyOn("key", op.Input("inp", flow, src), func(int) string { return "k" })
	op.Output("out", op.StatefulMap("sum", keyed, func(st *op.State[S], v int) int {
		s, _ := st.Get()
		s, sum := add(s, v)
		st.Set(s)
		return sum
	}), out)
	return flow
}

func addTotal(t total, v int) (total, int)       { return total{t.Sum + v, t.Count + 1}, t.Sum + v }
func addTotalV2(t totalV2, v int) (totalV2, int) { return totalV2{t.Sum + v, t.Count + 1}, t.Sum + v }
func addInt(s, v int) (int, int)                 { return s + v, s + v }
func addPair(p pair, v int) (pair, int)          { return pair{p.A + v, p.B + 1}, p.A + v }

func newDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "rec")
	if err := recovery.Init(dir, 2); err != nil {
		t.Fatal(err)
	}
	return dir
}

func values(items []weir.KV[int]) []int {
	out := make([]int, len(items))
	for i, kv := range items {
		out[i] = kv.Value
	}
	return out
}

// A state with a registered codec is written with it at every epoch close and read back
// with it on resume: the run after the abort continues the sum.
func TestRegisteredCodecResumes(t *testing.T) {
	dir := newDir(t)
	src := weirtest.NewSource(1, 2, 3).Abort().Then(4, 5, 6)
	out := weirtest.NewSink[weir.KV[int]]()
	flow := sumFlow(src, out, addTotal)
	encoded, decoded := totalCalls.encoded.Load(), totalCalls.decoded.Load()
	want := [][]int{{1, 3, 6}, {10, 15, 21}}
	for i := range 2 {
		out.Clear()
		if err := run.Run(t.Context(), flow, run.Workers(1), run.EpochInterval(0), run.Recovery(dir)); err != nil {
			t.Fatalf("run %d: %v", i+1, err)
		}
		if got := values(out.Items()); fmt.Sprint(got) != fmt.Sprint(want[i]) {
			t.Errorf("run %d emitted %v, want %v", i+1, got, want[i])
		}
	}
	// Run 1 snapshots the key after each of its 3 epochs, run 2 decodes it once.
	if n := totalCalls.encoded.Load() - encoded; n < 3 {
		t.Errorf("codec encoded %d states, want at least 3", n)
	}
	if n := totalCalls.decoded.Load() - decoded; n != 1 {
		t.Errorf("codec decoded %d states, want 1", n)
	}
}

// A state written by one codec or type and read by another stops the resumed run with a
// *recovery.DecodeError inside a *weir.StepError naming the step and the key: never a
// fresh start.
func TestChangedStateTypeIsRefused(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		write func(*weirtest.Source[int], *weirtest.Sink[weir.KV[int]]) *weir.Dataflow
		read  func(*weirtest.Source[int], *weirtest.Sink[weir.KV[int]]) *weir.Dataflow
		typ   string // DecodeError's Type and Codec
		codec string
		cause string
	}{
		{"int to struct", withState(addInt), withState(addPair), "recovery_test.pair", "cbor", "cannot unmarshal"},
		{"cbor to codec", withState(addInt), withState(addTotal), "recovery_test.total", "total-v1", `written by codec "cbor"`},
		{"codec to cbor", withState(addTotal), withState(addInt), "int", "cbor", `written by codec "total-v1"`},
		{"codec renamed", withState(addTotal), withState(addTotalV2), "recovery_test.totalV2", "total-v2", `written by codec "total-v1"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := newDir(t)
			opts := []run.Option{run.Workers(2), run.EpochInterval(0), run.Recovery(dir)}
			out := weirtest.NewSink[weir.KV[int]]()
			if err := run.Run(t.Context(), tt.write(weirtest.NewSource(1, 2), out), opts...); err != nil {
				t.Fatal(err)
			}
			out.Clear()
			err := run.Run(t.Context(), tt.read(weirtest.NewSource(1, 2, 3), out), opts...)
			var de *recovery.DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("run with the changed type: %v, want a *recovery.DecodeError", err)
			}
			if de.Type != tt.typ || de.Codec != tt.codec || !strings.Contains(de.Cause.Error(), tt.cause) {
				t.Errorf("DecodeError{Type: %q, Codec: %q, Cause: %q}, want %q, %q, %q", de.Type, de.Codec, de.Cause, tt.typ, tt.codec, tt.cause)
			}
			var se *weir.StepError
			if !errors.As(err, &se) || se.Step != sumStep || se.Key != "k" {
				t.Errorf("error %v is not a *weir.StepError for step %s, key k", err, sumStep)
			}
			if !strings.HasPrefix(err.Error(), "weir: step "+sumStep) || !strings.Contains(err.Error(), tt.typ) {
				t.Errorf("message %q names neither the step nor the type", err)
			}
			if items := out.Items(); len(items) != 0 {
				t.Errorf("the refused run emitted %v", items)
			}
		})
	}
}

func withState[S any](add func(S, int) (S, int)) func(*weirtest.Source[int], *weirtest.Sink[weir.KV[int]]) *weir.Dataflow {
	return func(src *weirtest.Source[int], out *weirtest.Sink[weir.KV[int]]) *weir.Dataflow {
		return sumFlow(src, out, add)
	}
}

// Registering a codec for a type that already has one is a programming error.
func TestRegisterCodecTwicePanics(t *testing.T) {
	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), `already has codec "total-v1"`) {
			t.Errorf("panic %v", r)
		}
	}()
	recovery.RegisterCodec("total-again", totalCalls)
}

// A state type gets its own codec by registering it in an init function of the program:
//
//	func init() { recovery.RegisterCodec("total-v1", totalCodec{}) }
//
// Every StatefulMap (or other stateful step) whose state is a total then stores it with
// that codec, and reads it back with it when the run resumes.
func ExampleRegisterCodec() {
	dir, err := os.MkdirTemp("", "weir-codec")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	if err := recovery.Init(dir, 1); err != nil {
		panic(err)
	}
	src := weirtest.NewSource(1, 2, 3).Abort().Then(4, 5)
	out := weirtest.NewSink[weir.KV[int]]()
	flow := weir.NewDataflow("sums")
	keyed := op.KeyOn("key", op.Input("inp", flow, src), func(int) string { return "k" })
	op.Output("out", op.StatefulMap("sum", keyed, func(st *op.State[total], v int) int {
		t, _ := st.Get()
		st.Set(total{Sum: t.Sum + v, Count: t.Count + 1})
		return t.Sum + v
	}), out)

	for range 2 { // the first run aborts; the second resumes from its snapshots
		out.Clear()
		if err := run.Run(context.Background(), flow, run.EpochInterval(0), run.Recovery(dir)); err != nil {
			fmt.Println(err)
		}
		fmt.Println(values(out.Items()))
	}
	// Output:
	// [1 3 6]
	// [10 15]
}
