package sqlitestore

import (
	"strings"
	"testing"

	"github.com/weirflow/weir/internal/state"
)

// Size counts the partitions' files and their write-ahead logs, and grows as a run
// writes; the KnownSteps wrapper a run uses passes it on.
func TestSize(t *testing.T) {
	dir := t.TempDir()
	if err := Init(dir, 2); err != nil {
		t.Fatal(err)
	}
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	wrapped := state.KnownSteps(s, []string{"f.count"}, false, nil)
	sizer := wrapped.(interface{ Size() (int64, bool) })
	empty, ok := sizer.Size()
	if !ok || empty <= 0 {
		t.Fatalf("size of a new directory: %d, %v", empty, ok)
	}
	if _, err := wrapped.Begin(1); err != nil {
		t.Fatal(err)
	}
	if err := wrapped.Start(); err != nil {
		t.Fatal(err)
	}
	big := strings.Repeat("x", 100<<10)
	var cs []state.Change
	for _, k := range []string{"a", "b", "c", "d"} {
		cs = append(cs, state.Change{Key: k, State: []byte(big)})
	}
	if err := wrapped.Write(0, []state.Epoch{{Epoch: 1, Snaps: []state.Snapshot{{Step: "f.count", Changes: cs}}}}); err != nil {
		t.Fatal(err)
	}
	if n, ok := sizer.Size(); !ok || n < empty+4*int64(len(big)) {
		t.Errorf("size after writing %d bytes of state: %d, %v (empty %d)", 4*len(big), n, ok, empty)
	}
	if _, ok := state.KnownSteps(state.NewMemory(), nil, false, nil).(interface{ Size() (int64, bool) }).Size(); ok {
		t.Error("a store in memory tells a size")
	}
}
