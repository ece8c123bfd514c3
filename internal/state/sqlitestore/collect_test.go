package sqlitestore

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/weirflow/weir/internal/state"
)

// Without a backup interval, the collector runs after each write rather than only at its
// interval, so that the GC at the end of a run finds little left to collect.
func TestCollectAfterWrite(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	initT(t, dir, 2)
	s := openT(t, dir)
	if _, err := s.Begin(1); err != nil {
		t.Fatal(err)
	}
	stop := s.CollectEvery(time.Hour, 0)
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	writes := [][]string{1: {"a=1", "b=1"}, 2: {"a=2", "b"}, 3: {"a=3"}}
	for e := uint64(1); e <= 3; e++ {
		if err := s.Write(0, []state.Epoch{{Epoch: e, Snaps: snaps(write{0, e, "s", writes[e]})}}); err != nil {
			t.Fatal(err)
		}
	}
	// Everything below 4 is committed: the latest row of each key moves to compacted, and
	// b's deletion goes with what it hid.
	want := []string{"s/a@3"}
	deadline := time.Now().Add(30 * time.Second)
	for {
		got := allRows(t, s)
		if cmp.Equal(want, got) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("rows %v 30 s after the writes, want %v: no collection after a write", got, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"s/a=3"}, loadAll(t, s)); diff != "" {
		t.Errorf("load after collection (-want +got):\n%s", diff)
	}
}

// A row written twice for the same epoch (a write retried after a failure) is collected
// as its last copy, as a resume reads it.
func TestCollectRepeatedRows(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := startT(t, dir, 1)
	for _, kv := range []string{"a=first", "a=second"} {
		if err := s.Write(0, []state.Epoch{{Epoch: 1, Snaps: snaps(write{0, 1, "s", []string{kv}})}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.GC(0); err != nil {
		t.Fatal(err)
	}
	if n := countRows(t, s, 0, "true"); n != 0 {
		t.Errorf("%d rows left in snapshots, want 0", n)
	}
	if diff := cmp.Diff([]string{"s/a=second"}, loadAll(t, s)); diff != "" {
		t.Errorf("load after collection (-want +got):\n%s", diff)
	}
}

// Collection checks every row it moves or drops: a superseded row whose key was damaged
// into another key's must fail it, not hide that key's latest state or vanish.
func TestCollectChecksEveryRow(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	initT(t, dir, 1)
	fill(t, dir, 1, 2)
	damageDB(t, dir, 0, `UPDATE snapshots SET key = 'key002' WHERE key = 'key001' AND epoch = 1`)
	s := beginT(t, dir)
	err := s.GC(0)
	var ce *state.CorruptError
	if !errors.As(err, &ce) || !errors.Is(err, state.ErrChecksum) || ce.Key != "key002" {
		t.Fatalf("GC of a damaged row: %v, want a *CorruptError of ErrChecksum naming key002", err)
	}
}

// The collection after a write gives way to writes under way: a store behind the flow
// writes first.
func TestCollectAfterWriteYields(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := startT(t, dir, 2)
	write := func(e uint64, kvs ...string) {
		t.Helper()
		if err := s.Write(0, []state.Epoch{{Epoch: e, Snaps: snaps(write{0, e, "s", kvs})}}); err != nil {
			t.Fatal(err)
		}
	}
	// uncollected is the number of rows in snapshots, which collection empties.
	uncollected := func() int {
		n := 0
		for p := range s.parts {
			n += countRows(t, s, p, "true")
		}
		return n
	}
	waitCollected := func() {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for uncollected() > 0 {
			if time.Now().After(deadline) {
				t.Fatalf("rows %v not collected", allRows(t, s))
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	write(1, "a=1")
	stop := s.CollectEvery(time.Hour, 0)
	defer stop()
	waitCollected()  // the first collection, at the start
	s.writing.Add(1) // as if a write were under way
	write(2, "a=2")
	time.Sleep(300 * time.Millisecond)
	if n := uncollected(); n != 1 {
		t.Fatalf("%d rows in snapshots after a collection while a write is under way, want 1 (a@2, uncollected)", n)
	}
	s.writing.Add(-1)
	write(3, "a=3")
	waitCollected()
	if diff := cmp.Diff([]string{"s/a@3"}, allRows(t, s)); diff != "" {
		t.Errorf("rows after collection (-want +got):\n%s", diff)
	}
}
