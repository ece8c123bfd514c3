package sqlitestore

import (
	"errors"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

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

// Start's transactions, which mostly wait for the disk, run in every partition at once
// (setupSem), even on two CPUs: one partition at a time queued their syncs one behind
// another. Partition 1 is held by another connection's write lock; the others' executions
// are recorded meanwhile.
func TestStartPartitionsAtOnce(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	dir := t.TempDir()
	initT(t, dir, 4)
	s := openT(t, dir)
	if _, err := s.Begin(1); err != nil {
		t.Fatal(err)
	}
	blocker, err := openDB(state.PartitionPath(dir, 1), readWrite)
	if err != nil {
		t.Fatal(err)
	}
	defer blocker.Close()
	hold, err := blocker.Begin() // _txlock=immediate: the write lock
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan error, 1)
	go func() { started <- s.Start() }()
	recorded := func(p int) bool {
		db, err := openDB(state.PartitionPath(dir, p), readOnly)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM executions`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n > 0
	}
	deadline := time.Now().Add(5 * time.Second)
	for !(recorded(0) && recorded(2) && recorded(3)) {
		if time.Now().After(deadline) {
			hold.Rollback()
			<-started
			t.Fatal("with partition 1 locked, Start did not record the execution in partitions 0, 2 and 3 within 5 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := hold.Rollback(); err != nil {
		t.Fatal(err)
	}
	if err := <-started; err != nil {
		t.Fatal(err)
	}
	if !recorded(1) {
		t.Error("partition 1: no execution once its lock was released")
	}
}
