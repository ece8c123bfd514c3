package sqlitestore

import (
	"errors"
	"path/filepath"
	"sync"
	"testing"

	"github.com/weirflow/weir/internal/state"
)

// Of two runs that open a new directory at once with a partition count, one creates it
// and the other is refused as locked: never a directory of partitions made by both.
func TestOpenOrInitOnce(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "rec")
	var wg sync.WaitGroup
	stores := make([]*Store, 2)
	errs := make([]error, 2)
	for i := range 2 {
		wg.Go(func() { stores[i], errs[i] = OpenOrInit(dir, 3) })
	}
	wg.Wait()
	opened := 0
	for i, s := range stores {
		switch {
		case errs[i] == nil:
			opened++
			if s.Partitions() != 3 {
				t.Errorf("store %d has %d partitions", i, s.Partitions())
			}
			defer s.Close()
		case !errors.Is(errs[i], state.ErrLocked):
			t.Errorf("open %d: %v", i, errs[i])
		}
	}
	if opened != 1 {
		t.Fatalf("%d opens succeeded, want 1: %v", opened, errs)
	}
	found, err := listPartitions(dir)
	if err != nil || len(found) != 3 {
		t.Errorf("partitions %v, %v", found, err)
	}
}

// A directory that has partitions is opened as it is, whatever count is given.
func TestOpenOrInitExisting(t *testing.T) {
	dir := t.TempDir()
	initT(t, dir, 2)
	fill(t, dir, 1)
	s, err := OpenOrInit(dir, 5)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Partitions() != 2 {
		t.Errorf("%d partitions, want the directory's 2", s.Partitions())
	}
	if resume, err := s.Verify(); err != nil || resume != 2 {
		t.Errorf("verify = %d, %v; want the filled directory's epoch 2", resume, err)
	}
}
