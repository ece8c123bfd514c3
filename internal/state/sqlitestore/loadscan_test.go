package sqlitestore

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/weirflow/weir/internal/state"
)

// loadInOrder loads every row of s as "step/key=state", in Load's order.
func loadInOrder(t testing.TB, s *Store) []string {
	t.Helper()
	var got []string
	err := s.Load(func(step, key string, st []byte) error {
		got = append(got, step+"/"+key+"="+string(st))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// loadingStores are the two ways a store loads compacted's rows: a run's store on
// connections of the readers' own (rawscan.go), and one that reads without the lock
// through weir_load. Each returns the directory's store, begun.
var loadingStores = []struct {
	name string
	open func(t *testing.T, dir string) *Store
}{
	{"run", func(t *testing.T, dir string) *Store { return beginT(t, dir) }},
	{"read", func(t *testing.T, dir string) *Store {
		t.Helper()
		s, err := Read(dir)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		if _, err := s.Begin(1); err != nil {
			t.Fatal(err)
		}
		return s
	}},
}

// A sound directory's compacted rows are all read inside SQLite, on the readers'
// connections or through weir_load: none is read again in Go (scanCompactedRows), which
// cost twice as much a row.
func TestLoadReadsInSQLite(t *testing.T) {
	dir := t.TempDir()
	initT(t, dir, 2)
	var cs []state.Change
	for i := range 5000 {
		cs = append(cs, state.Change{Key: fmt.Sprintf("k%05d", i), State: fmt.Appendf(nil, "%d", i)})
	}
	cs[7].State = []byte{} // empty, not deleted
	writeExecution(t, dir, true, state.Epoch{Epoch: 1, Snaps: []state.Snapshot{{Step: "s", Changes: cs}, {Step: "t", Changes: cs[:10]}}})
	writeExecution(t, dir, false, state.Epoch{Epoch: 2, Snaps: []state.Snapshot{{Step: "s", Changes: []state.Change{
		{Key: "k00003", Deleted: true}, {Key: "k00004", State: []byte("new")}, {Key: "k99999", State: []byte("last")},
	}}}})
	for _, ls := range loadingStores {
		s := ls.open(t, dir)
		before := loadFallbacks.Load()
		got := loadInOrder(t, s)
		if n := loadFallbacks.Load() - before; n != 0 {
			t.Errorf("%s: %d scans of compacted read again in Go, want none", ls.name, n)
		}
		if len(got) != 5000+10 || got[3] != "s/k00004=new" || got[6] != "s/k00007=" || got[4999] != "s/k99999=last" || got[5000] != "t/k00000=0" {
			t.Errorf("%s: load: %d rows, %q %q %q %q", ls.name, len(got), got[3], got[6], got[4999], got[5000])
		}
		s.Close()
	}
}

// A compacted row SQLite's readers refuse but Go reads (a state stored as TEXT, which sums
// as its bytes) is loaded as before, either way: the step's rows after the ones taken are
// read in Go, the recent rows merged with them as with the others.
func TestLoadReadsRefusedRowsInGo(t *testing.T) {
	dir := t.TempDir()
	initT(t, dir, 1)
	var cs []state.Change
	for i := range 3000 {
		cs = append(cs, state.Change{Key: fmt.Sprintf("k%05d", i), State: fmt.Appendf(nil, "%d", i)})
	}
	writeExecution(t, dir, true, state.Epoch{Epoch: 1, Snaps: []state.Snapshot{{Step: "s", Changes: cs}}})
	writeExecution(t, dir, false, state.Epoch{Epoch: 2, Snaps: []state.Snapshot{{Step: "s", Changes: []state.Change{
		{Key: "k00010", State: []byte("before")}, {Key: "k02000", Deleted: true},
		{Key: "k02001", State: []byte("after")}, {Key: "k02000x", State: []byte("added")},
	}}}})
	s := beginT(t, dir)
	want := loadInOrder(t, s)
	s.Close()
	damageDB(t, dir, 0, `UPDATE compacted SET state = CAST(state AS TEXT) WHERE key = 'k01500'`)
	for _, ls := range loadingStores {
		s := ls.open(t, dir)
		before := loadFallbacks.Load()
		got := loadInOrder(t, s)
		if n := loadFallbacks.Load() - before; n != 1 {
			t.Errorf("%s: %d scans of compacted read again in Go, want 1", ls.name, n)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: load after a state turned TEXT: %d rows, want the same %d as before", ls.name, len(got), len(want))
		}
		s.Close()
	}
	if len(want) != 3000 || want[2000] != "s/k02000x=added" || want[2001] != "s/k02001=after" {
		t.Errorf("load: %d rows, %q %q", len(want), want[2000], want[2001])
	}
}

// BenchmarkLoad loads 200k keys of one step from 4 partitions, with their recent rows
// collected: the store's part of a resume. It reports the time per row.
func BenchmarkLoad(b *testing.B) {
	dir := filepath.Join(b.TempDir(), "recovery")
	if err := Init(dir, 4); err != nil {
		b.Fatal(err)
	}
	const n = 200_000
	s, err := Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.Begin(1); err != nil {
		b.Fatal(err)
	}
	if err := s.Start(); err != nil {
		b.Fatal(err)
	}
	cs := make([]state.Change, n)
	for i := range cs {
		cs[i] = state.Change{Key: fmt.Sprint(i), State: []byte("\x01\x19\x01\x00")}
	}
	if err := s.Write(0, []state.Epoch{{Epoch: 1, Snaps: []state.Snapshot{{Step: "s", Changes: cs}}}}); err != nil {
		b.Fatal(err)
	}
	if err := s.GC(0); err != nil {
		b.Fatal(err)
	}
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	if s, err = Open(dir); err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Begin(1); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		rows := 0
		if err := s.Load(func(step, key string, st []byte) error { rows++; return nil }); err != nil || rows != n {
			b.Fatalf("load: %d rows, %v", rows, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/row")
}

// A run's partitions are read through a memory mapping (see dsn): opening a directory of
// 1M keys took three times the CPU without it, and closing it a hundred times.
func TestPartitionsMapped(t *testing.T) {
	dir := t.TempDir()
	initT(t, dir, 2)
	s := openT(t, dir)
	defer s.Close()
	for p, db := range s.parts {
		var size int64
		if err := db.QueryRow(`PRAGMA mmap_size`).Scan(&size); err != nil {
			t.Fatal(err)
		}
		if size < 1<<30 {
			t.Errorf("partition %d: mmap_size %d, want at least 1 GiB", p, size)
		}
	}
}
