package weir

import "fmt"

// StepError is the error of a failed step: a panic or error in user code or a connector.
// It names the step's full id and, where there is one, the key or partition; errors.Is
// and errors.As reach its Cause.
type StepError struct {
	Step      string // the step's full id, "flow.step" or "flow.step.inner"
	Key       string // the key of a stateful step's logic, when known
	Partition string // the partition of a source or sink, when known
	Cause     error
}

func (e *StepError) Error() string {
	s := "weir: step " + e.Step
	if e.Key != "" {
		s += fmt.Sprintf(" (key %q)", e.Key)
	}
	if e.Partition != "" {
		s += fmt.Sprintf(" (partition %q)", e.Partition)
	}
	return s + ": " + e.Cause.Error()
}

// Unwrap returns the cause, so that errors.Is and errors.As look through the step.
func (e *StepError) Unwrap() error { return e.Cause }

// PanicError holds a value recovered from a panic in user code and the stack of the
// goroutine that panicked, which run.Main prints.
type PanicError struct {
	Value any
	Stack []byte
}

func (e *PanicError) Error() string { return fmt.Sprintf("panic: %v", e.Value) }

// Unwrap returns the panic value when it is an error, so errors.Is/As reach it.
func (e *PanicError) Unwrap() error {
	if err, ok := e.Value.(error); ok {
		return err
	}
	return nil
}
