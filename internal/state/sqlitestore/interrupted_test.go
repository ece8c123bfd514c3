package sqlitestore

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/weirflow/weir/internal/state"
)

// interruptedDir makes dir as a process killed while making it with 4 partitions leaves
// it: every partition marked, those below whole made and their markers removed, then,
// with half, partition whole's file created but empty. whole 4 with half: the last
// partition made but still marked.
func interruptedDir(t *testing.T, whole int, half bool) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "rec")
	if err := Init(dir, 4); err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		if i >= whole {
			os.Remove(state.PartitionPath(dir, i))
			if err := os.WriteFile(state.PartitionPath(dir, i)+".init", []byte("4"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	if half && whole < 4 {
		if err := os.WriteFile(state.PartitionPath(dir, whole), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if half && whole == 4 {
		if err := os.WriteFile(state.PartitionPath(dir, 3)+".init", []byte("4"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// A run killed while it made its recovery directory leaves it half-made; the next run
// with a partition count finishes it, as a single run (OpenOrInit) and as a cluster's
// process making its share (Create). The kill loops in systemtest found this: a job
// killed before its first snapshot was refused ever after with missing partitions.
func TestInterruptedCreate(t *testing.T) {
	for _, c := range []struct {
		name  string
		whole int
		half  bool
	}{
		{"markers only", 0, false},
		{"killed making partition 2", 2, true},
		{"killed before partition 3", 3, false},
		{"killed before the last marker's removal", 4, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := interruptedDir(t, c.whole, c.half)
			s, err := OpenOrInit(dir, 4)
			if err != nil {
				t.Fatalf("OpenOrInit: %v", err)
			}
			if s.Partitions() != 4 {
				t.Errorf("%d partitions, want 4", s.Partitions())
			}
			s.Close()
			if ms, _ := filepath.Glob(filepath.Join(dir, "*.init")); len(ms) > 0 {
				t.Errorf("markers left: %v", ms)
			}

			// A cluster's processes scan the directory before they make their shares: one
			// whose making was cut short is to be made, as one with no partitions.
			dir = interruptedDir(t, c.whole, c.half)
			found, err := PartOpener(dir).Scan()
			if err != nil {
				t.Fatalf("Scan: %v", err)
			}
			if len(found) != 0 {
				t.Errorf("Scan found %d partitions in a directory whose making was cut short: %v", len(found), found)
			}
			for _, share := range [][]int{{0, 2}, {1, 3}} {
				if err := Create(dir, 4, share); err != nil {
					t.Fatalf("Create: %v", err)
				}
			}
			if found, err = PartOpener(dir).Scan(); err != nil || len(found) != 4 {
				t.Fatalf("Scan after Create: %v, %v", found, err)
			}
			s, err = Open(dir)
			if err != nil {
				t.Fatalf("Open after Create: %v", err)
			}
			s.Close()
		})
	}
}

// Without a marker, a missing partition is damage, refused as before.
func TestMissingPartitionNotRemade(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "rec")
	if err := Init(dir, 4); err != nil {
		t.Fatal(err)
	}
	os.Remove(state.PartitionPath(dir, 3))
	_, err := OpenOrInit(dir, 4)
	var missing *state.MissingPartitionsError
	if !errors.As(err, &missing) {
		t.Fatalf("OpenOrInit: %v, want a *state.MissingPartitionsError", err)
	}
}
