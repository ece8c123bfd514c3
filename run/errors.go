package run

import (
	"errors"
	"slices"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/internal/graph"
)

// The engine reports failures with its own types (graph.StepError, graph.PanicError),
// since it cannot import package weir; users see weir's. public converts them here, at
// the boundary of every run, once per failed run: nothing per item or batch.

// public returns err with the engine's error types replaced by weir.StepError and
// weir.PanicError, wherever they are in its chain. A wrapper of another type is kept with
// its message and its chain converted, so that errors.Is and errors.As still reach every
// cause (a sentinel, a *recovery.DecodeError, ctx's error) and also find the weir types.
func public(err error) error {
	switch e := err.(type) {
	case nil:
		return nil
	case *graph.StepError:
		return &weir.StepError{Step: e.Step, Key: e.Key, Partition: e.Partition, Cause: public(e.Cause)}
	case *graph.PanicError:
		// The value is the user's own: it is kept as is, error or not.
		return &weir.PanicError{Value: e.Value, Stack: e.Stack}
	case *graph.KeyError:
		return &graph.KeyError{Key: e.Key, Cause: public(e.Cause)}
	}
	if !internal(err) {
		return err
	}
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		return &converted{err: err, causes: []error{public(u.Unwrap())}}
	case interface{ Unwrap() []error }:
		causes := slices.Clone(u.Unwrap())
		for i, c := range causes {
			causes[i] = public(c)
		}
		return &converted{err: err, causes: causes}
	}
	return err
}

// internal reports whether err's chain holds one of the engine's error types.
func internal(err error) bool {
	var se *graph.StepError
	var pe *graph.PanicError
	var ke *graph.KeyError
	return errors.As(err, &se) || errors.As(err, &pe) || errors.As(err, &ke)
}

// converted is a wrapper of an engine error that public could not rebuild: err's message,
// with its causes converted.
type converted struct {
	err    error
	causes []error
}

func (c *converted) Error() string   { return c.err.Error() }
func (c *converted) Unwrap() []error { return c.causes }
