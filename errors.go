package weir

import "github.com/weirflow/weir/internal/graph"

// StepError is the error of a failed step: a panic or error in user code or a connector.
// It names the step's full id and, where there is one, the key or partition; errors.Is
// and errors.As reach its Cause.
type StepError struct {
	Step      string // the step's full id, "flow.step" or "flow.step.inner"
	Key       string // the key of a stateful step's logic, when known
	Partition string // the partition of a source or sink, when known
	Cause     error
}

// Error reads "weir: step flow.step (key "k"): cause", as the engine's own error does:
// the two types have the same fields, and the message is written once, in the engine's.
func (e *StepError) Error() string { return (*graph.StepError)(e).Error() }

// Unwrap returns the cause, so that errors.Is and errors.As look through the step.
func (e *StepError) Unwrap() error { return e.Cause }

// PanicError holds a value recovered from a panic in user code and the stack of the
// goroutine that panicked, which run.Main prints.
type PanicError struct {
	Value any
	Stack []byte
}

func (e *PanicError) Error() string { return (*graph.PanicError)(e).Error() }

// Unwrap returns the panic value when it is an error, so errors.Is/As reach it.
func (e *PanicError) Unwrap() error { return (*graph.PanicError)(e).Unwrap() }
