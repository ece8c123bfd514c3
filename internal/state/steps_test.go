package state

import (
	"errors"
	"slices"
	"testing"
)

// memoryWith returns a Memory holding one completed execution that wrote key k of each
// of steps.
func memoryWith(t *testing.T, steps ...string) *Memory {
	t.Helper()
	m := NewMemory()
	if _, err := m.Begin(1); err != nil {
		t.Fatal(err)
	}
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	var snaps []Snapshot
	for _, s := range steps {
		snaps = append(snaps, Snapshot{Step: s, Changes: []Change{{Key: "k", State: []byte(s)}}})
	}
	if err := m.Write(0, []Epoch{{Epoch: 1, Snaps: snaps, Final: true}}); err != nil {
		t.Fatal(err)
	}
	return m
}

func loadSteps(t *testing.T, s Store) ([]string, error) {
	t.Helper()
	if _, err := s.Begin(1); err != nil {
		t.Fatal(err)
	}
	var got []string
	err := s.Load(func(step, key string, state []byte) error {
		got = append(got, step)
		return nil
	})
	return got, err
}

// State of steps the dataflow no longer has refuses the execution with every such step
// named, and changes nothing; with drop, it is skipped, deleted at Start and reported.
func TestKnownSteps(t *testing.T) {
	m := memoryWith(t, "f.a", "f.gone", "f.old")
	_, err := loadSteps(t, KnownSteps(m, []string{"f.a", "f.b"}, false, nil))
	var re *RemovedStepError
	if !errors.As(err, &re) || !slices.Equal(re.Steps, []string{"f.gone", "f.old"}) || re.Foreign {
		t.Fatalf("load = %v, want a *RemovedStepError of f.gone and f.old", err)
	}
	want := "weir: recovery: the store has state for steps f.gone, f.old, which this dataflow does not have: restore the steps, or run with --drop-removed-steps (run.DropRemovedSteps) to delete their state and go on"
	if err.Error() != want {
		t.Errorf("message\n%s\nwant\n%s", err, want)
	}
	if n := len(m.Writes()[0].Snaps); n != 3 {
		t.Errorf("a refused execution left %d snapshots of 3", n)
	}

	var reported []string
	s := KnownSteps(m, []string{"f.a", "f.b"}, true, func(steps []string) { reported = steps })
	got, err := loadSteps(t, s)
	if err != nil || !slices.Equal(got, []string{"f.a"}) {
		t.Fatalf("load with drop = %v, %v; want f.a alone", got, err)
	}
	if reported != nil {
		t.Errorf("dropped %v before Start", reported)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(reported, []string{"f.gone", "f.old"}) {
		t.Errorf("reported %v as dropped", reported)
	}
	// The next execution, without the option, finds nothing to refuse.
	if got, err := loadSteps(t, KnownSteps(m, []string{"f.a"}, false, nil)); err != nil || !slices.Equal(got, []string{"f.a"}) {
		t.Errorf("load after the drop = %v, %v; want f.a alone", got, err)
	}
}

// A store with no state of any step of the dataflow is likely another dataflow's.
func TestKnownStepsForeign(t *testing.T) {
	_, err := loadSteps(t, KnownSteps(memoryWith(t, "other.x"), []string{"f.a"}, false, nil))
	want := "weir: recovery: the store has state for step other.x, which this dataflow does not have (it has no state of any step of this dataflow: is it another dataflow's directory?): restore the steps, or run with --drop-removed-steps (run.DropRemovedSteps) to delete their state and go on"
	if err == nil || err.Error() != want {
		t.Errorf("load = %v\nwant %s", err, want)
	}
}

// A program that does not link a store is told what to import.
func TestOpenDirWithoutStore(t *testing.T) {
	_, err := OpenDir(t.TempDir(), 0)
	want := `weir: a recovery directory (-r, run.Recovery) needs the recovery store, which this program does not include: add  import _ "github.com/weirflow/weir/recovery"  to its main package`
	if !errors.Is(err, ErrNoStore) || err.Error() != want {
		t.Errorf("open = %v, want %s", err, want)
	}
}
