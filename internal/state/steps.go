package state

import (
	"fmt"
	"slices"
	"strings"
)

// Dropper is a Store that can delete the state of steps a dataflow no longer has. Steps
// given to DropAtStart are deleted by the next Start, in the same transactions that
// record the execution: a run refused before it starts leaves them in place.
type Dropper interface {
	DropAtStart(steps []string)
}

// RemovedStepError: the store holds state of steps that the dataflow does not have, as
// when a step was removed or renamed since the store was written. Resuming without them
// would lose their state silently, so the run is refused unless it was told to drop it.
type RemovedStepError struct {
	Dir   string   // the recovery directory, when known
	Steps []string // the steps with state the dataflow does not have, sorted
	// Foreign: no step of the dataflow has state in the store, as when the directory is
	// another dataflow's.
	Foreign bool
}

func (e *RemovedStepError) Error() string {
	var b strings.Builder
	writeWhere(&b, e.Dir)
	if len(e.Steps) == 1 {
		fmt.Fprintf(&b, ": the store has state for step %s, which this dataflow does not have", e.Steps[0])
	} else {
		fmt.Fprintf(&b, ": the store has state for steps %s, which this dataflow does not have", strings.Join(e.Steps, ", "))
	}
	if e.Foreign {
		b.WriteString(" (it has no state of any step of this dataflow: is it another dataflow's directory?)")
	}
	b.WriteString(": restore the steps, or run with --drop-removed-steps (run.DropRemovedSteps) to delete their state and go on")
	return b.String()
}

// KnownSteps wraps s so that an execution loads only the state of the steps named in
// steps (the ids of the dataflow's steps). The state of any other step makes Load fail
// with a *RemovedStepError listing every such step, after reading the whole store; with
// drop, Load skips that state instead, and Start first calls dropped with those steps,
// then has s delete their state when s is a Dropper (else the state stays, unread).
func KnownSteps(s Store, steps []string, drop bool, dropped func(steps []string)) Store {
	known := make(map[string]bool, len(steps))
	for _, st := range steps {
		known[st] = true
	}
	return &knownSteps{Store: s, known: known, drop: drop, dropped: dropped}
}

type knownSteps struct {
	Store
	known   map[string]bool
	drop    bool
	dropped func([]string)
	removed []string // by the last Load, sorted
}

// Size passes on the size on disk of the store it wraps, when that store can tell (the
// SQLite store), for the run's metrics.
func (k *knownSteps) Size() (bytes int64, ok bool) {
	if s, can := k.Store.(interface{ Size() (int64, bool) }); can {
		return s.Size()
	}
	return 0, false
}

// CopiesWrites passes on whether the store it wraps copies what it writes (Copier).
func (k *knownSteps) CopiesWrites() bool {
	c, ok := k.Store.(Copier)
	return ok && c.CopiesWrites()
}

func (k *knownSteps) Load(fn func(step, key string, state []byte) error) error {
	removed := map[string]bool{}
	kept := false
	err := k.Store.Load(func(step, key string, state []byte) error {
		if !k.known[step] {
			removed[step] = true
			return nil
		}
		kept = true
		if len(removed) > 0 && !k.drop {
			return nil // refused anyway: spare the caller the work
		}
		return fn(step, key, state)
	})
	if err != nil {
		return err
	}
	k.removed = make([]string, 0, len(removed))
	for st := range removed {
		k.removed = append(k.removed, st)
	}
	slices.Sort(k.removed)
	if len(k.removed) > 0 && !k.drop {
		return &RemovedStepError{Steps: k.removed, Foreign: !kept}
	}
	return nil
}

func (k *knownSteps) Start() error {
	if len(k.removed) == 0 {
		return k.Store.Start()
	}
	if d, ok := k.Store.(Dropper); ok {
		d.DropAtStart(k.removed)
	}
	if err := k.Store.Start(); err != nil {
		return err
	}
	if k.dropped != nil {
		k.dropped(k.removed)
	}
	return nil
}
