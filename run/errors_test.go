package run

import (
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/internal/graph"
)

func TestPublicErrors(t *testing.T) {
	boom := errors.New("boom")
	engineErr := func() error {
		return &graph.StepError{Step: "f.s", Key: "k", Partition: "p", Cause: &graph.PanicError{Value: boom, Stack: []byte("stack")}}
	}
	tests := []struct {
		name string
		err  error
		msg  string
	}{
		{"bare", engineErr(), `weir: step f.s (key "k") (partition "p"): panic: boom`},
		{"wrapped", fmt.Errorf("recovery dir d: %w", engineErr()), `recovery dir d: weir: step f.s (key "k") (partition "p"): panic: boom`},
		{"joined", errors.Join(io.ErrUnexpectedEOF, engineErr()), "unexpected EOF\n" + `weir: step f.s (key "k") (partition "p"): panic: boom`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := public(tt.err)
			if err.Error() != tt.msg {
				t.Errorf("message %q, want %q", err, tt.msg)
			}
			var se *weir.StepError
			if !errors.As(err, &se) {
				t.Fatalf("%v: no *weir.StepError in the chain", err)
			}
			if se.Step != "f.s" || se.Key != "k" || se.Partition != "p" {
				t.Errorf("step %q key %q partition %q", se.Step, se.Key, se.Partition)
			}
			var pe *weir.PanicError
			if !errors.As(err, &pe) || pe.Value != boom || string(pe.Stack) != "stack" {
				t.Errorf("%v: panic error %+v, want the value and stack", err, pe)
			}
			if !errors.Is(err, boom) {
				t.Errorf("errors.Is(%v, boom) is false", err)
			}
			var ge *graph.StepError
			if errors.As(err, &ge) {
				t.Errorf("%v: the engine's *graph.StepError is still in the chain", err)
			}
		})
	}
	if err := public(nil); err != nil {
		t.Errorf("public(nil) = %v", err)
	}
	// Errors without the engine's types are returned as they are, so that == still holds.
	plain := fmt.Errorf("wrapped: %w", io.EOF)
	if err := public(plain); err != plain {
		t.Errorf("public(%v) = %v, want it unchanged", plain, err)
	}
}
