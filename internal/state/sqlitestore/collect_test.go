package sqlitestore

import (
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

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

// checkRaw passes exactly the partitions whose rows below the horizon weir_state_ok
// passes, with checkFast's account of them: one with a row it does not find sound goes to
// checkFast, which decides. A row at the horizon or later is not looked at.
func TestCheckRawAgreesWithCheckFast(t *testing.T) {
	t.Parallel()
	const where = ` WHERE key = 'key001' AND epoch = 1`
	for _, c := range []struct {
		name, damage string
		h            int64
		sound        bool
	}{
		{"sound", "", 3, true},
		{"sound, one epoch below", "", 2, true},
		{"damaged at the horizon", `UPDATE snapshots SET crc = crc + 1 WHERE epoch = 2`, 2, true},
		{"other checksum", `UPDATE snapshots SET crc = crc + 1` + where, 3, false},
		{"text checksum", `UPDATE snapshots SET crc = 'x'` + where, 3, false},
		{"other state", `UPDATE snapshots SET state = x'00'` + where, 3, false},
		{"text state", `UPDATE snapshots SET state = CAST(state AS TEXT)` + where, 3, false},
		{"state as a deletion", `UPDATE snapshots SET state = NULL` + where, 3, false},
		{"blob key", `UPDATE snapshots SET key = CAST(key AS BLOB)` + where, 3, false},
		{"other key", `UPDATE snapshots SET key = 'key002'` + where, 3, false},
		{"float epoch", `UPDATE snapshots SET epoch = 1.5` + where, 3, false},
		{"negative epoch", `UPDATE snapshots SET epoch = -1` + where, 3, false},
		{"unknown step", `UPDATE snapshots SET step = 99` + where, 3, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			initT(t, dir, 1)
			fill(t, dir, 1, 2)
			if c.damage != "" {
				damageDB(t, dir, 0, c.damage)
			}
			path := state.PartitionPath(dir, 0)
			db, err := openDB(path, readWrite)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			raw, ok := checkRawT(t, db, dir, c.h, false)
			if ok != c.sound {
				t.Fatalf("checkRaw: sound %v, want %v", ok, c.sound)
			}
			err = tx(db, func(tx *sql.Tx) error {
				// checkFast, reading a row weir_state_ok fails into Go, may pass one
				// of another type (a blob key, a text state): checkRaw leaves it that.
				if fast, err := checkFast(tx, c.h); ok && (err != nil || fast != raw) {
					t.Errorf("checkRaw: %+v, checkFast: %+v, %v", raw, fast, err)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

// Collection checks the rows on a connection of its own (checkRaw), kept from one
// collection to the next, not through
// weir_state_ok, whose arguments the driver boxes: 500-514 ns of CPU a row against
// 278-285 (BenchmarkCheckRows), and a collection of 100k rows on 4 partitions 186-189 ms
// against 163-169 (BenchmarkEpochCycle).
func TestCollectChecksRaw(t *testing.T) {
	dir := t.TempDir()
	s := startT(t, dir, 4)
	if err := s.Write(0, []state.Epoch{epochOf(0, 1, 100)}); err != nil {
		t.Fatal(err)
	}
	before := rawChecks.Load()
	if err := s.GC(0); err != nil {
		t.Fatal(err)
	}
	if n := rawChecks.Load() - before; n < 4 {
		t.Errorf("%d partitions checked by checkRaw, want 4", n)
	}
	// Each partition keeps its connection for the next collection: opening one for each
	// cost more than checking a small epoch's rows.
	conns := make([]*rawConn, 4)
	for p := range conns {
		if conns[p] = s.ids[p].raw; conns[p] == nil {
			t.Fatalf("partition %d kept no connection for checkRaw", p)
		}
	}
	if err := s.Write(0, []state.Epoch{epochOf(0, 2, 100)}); err != nil {
		t.Fatal(err)
	}
	if err := s.GC(0); err != nil {
		t.Fatal(err)
	}
	for p, c := range conns {
		if s.ids[p].raw != c {
			t.Errorf("partition %d opened another connection for checkRaw", p)
		}
	}
}

// A row of an epoch already collected (a write retried after a failure, written again
// once a later epoch was collected) must not replace the newer row its key has in
// compacted; rows all newer than every collected epoch are moved without that guard
// (replaceInOrder, replaceLatest), which costs SQLite less.
func TestCollectKeepsNewerRow(t *testing.T) {
	dir := t.TempDir()
	s := startT(t, dir, 1)
	writeGC := func(e uint64, kvs ...string) {
		t.Helper()
		if err := s.Write(0, []state.Epoch{{Epoch: e, Snaps: snaps(write{0, e, "s", kvs})}}); err != nil {
			t.Fatal(err)
		}
		if err := s.GC(0); err != nil {
			t.Fatal(err)
		}
	}
	before := replaced.Load()
	writeGC(1, "a=1", "b=1")
	writeGC(2, "a=2", "c=2")
	if n := replaced.Load() - before; n != 2 {
		t.Errorf("%d of 2 collections of rows newer than compacted's moved them without the guard", n)
	}
	if diff := cmp.Diff([]string{"s/a@2", "s/b@1", "s/c@2"}, allRows(t, s)); diff != "" {
		t.Fatalf("rows after epoch 2's collection (-want +got):\n%s", diff)
	}
	// Epoch 1 written again, then epoch 3: both are collected at once, and a's row of
	// epoch 1 is older than the one compacted holds.
	if err := s.Write(0, []state.Epoch{{Epoch: 1, Snaps: snaps(write{0, 1, "s", []string{"a=stale", "b=1"}})}}); err != nil {
		t.Fatal(err)
	}
	before = replaced.Load()
	writeGC(3, "c=3")
	if n := replaced.Load() - before; n != 0 {
		t.Errorf("a collection with a row older than compacted's moved it without the guard")
	}
	if diff := cmp.Diff([]string{"s/a@2", "s/b@1", "s/c@3"}, allRows(t, s)); diff != "" {
		t.Errorf("rows after epoch 3's collection (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"s/a=2", "s/b=1", "s/c=3"}, loadAll(t, s)); diff != "" {
		t.Errorf("load (-want +got):\n%s", diff)
	}
}

// checkRaw's query reads snapshots alone, each row once: checkRaw names the steps from
// the few rows of steps read before it, and tells the rows below the horizon itself.
// Joining steps searched its table for every row (a quarter of the check's CPU).
func TestCheckRawReadsOnlySnapshots(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	initT(t, dir, 1)
	s := openT(t, dir)
	plan := queryPlan(t, s.parts[0], rawCheckSQL)
	if len(plan) != 1 || plan[0] != "SCAN snapshots" {
		t.Errorf("checkRaw's query plan %q, want a scan of snapshots alone", plan)
	}
}

// Collecting several epochs at once leaves out those whose every row has a later row of
// its key (below.from), and compacted ends as it would have had every row moved: each
// key's last row, deletions dropped.
func TestCollectLeavesSupersededEpochs(t *testing.T) {
	t.Parallel()
	type epoch map[string][]string // step: "key=state" or "key" (a deletion)
	for _, c := range []struct {
		name   string
		epochs []epoch // epoch i+1 is epochs[i]
		from   int64
	}{
		{"every key every epoch", []epoch{{"s": {"a=1", "b=1"}}, {"s": {"a=2", "b=2"}}, {"s": {"a=3", "b=3"}}}, 3},
		{"a key not written again", []epoch{{"s": {"a=1", "b=1"}}, {"s": {"a=2"}}}, 1},
		{"a superseded epoch, then one that is not", []epoch{{"s": {"a=1", "b=1"}}, {"s": {"a=2", "b=2", "c=2"}}, {"s": {"a=3"}}}, 2},
		{"a deletion last", []epoch{{"s": {"a=1", "b=1"}}, {"s": {"a=2", "b"}}}, 2},
		{"a deletion superseded", []epoch{{"s": {"a=1"}}, {"s": {"a"}}, {"s": {"a=3"}}}, 3},
		{"the same key in another step", []epoch{{"s": {"a=1"}, "t": {"a=1"}}, {"s": {"a=2"}}}, 1},
		{"both steps again", []epoch{{"s": {"a=1"}, "t": {"a=1"}}, {"s": {"a=2"}, "t": {"a=2"}}}, 2},
		{"an epoch written twice", []epoch{{"s": {"a=1"}}, {"s": {"a=2"}}, {"s": {"a=2b"}}}, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			s := startT(t, dir, 1)
			type last struct {
				epoch int
				state string
				del   bool
			}
			model := map[string]last{}
			for i, ep := range c.epochs {
				e := uint64(i + 1)
				if c.name == "an epoch written twice" && i == 2 {
					e = 2
				}
				var ss []state.Snapshot
				for _, step := range slices.Sorted(maps.Keys(ep)) {
					ss = append(ss, snaps(write{0, e, step, ep[step]})...)
					for _, kv := range ep[step] {
						k, st, ok := strings.Cut(kv, "=")
						model[step+"/"+k] = last{int(e), st, !ok}
					}
				}
				if err := s.Write(0, []state.Epoch{{Epoch: e, Snaps: ss}}); err != nil {
					t.Fatal(err)
				}
			}
			// The check with tracking finds the epochs to leave out.
			b, ok := checkRawT(t, s.parts[0], dir, 100, true)
			if !ok || b.from != c.from || b.least != 1 {
				t.Errorf("checkRaw: %+v, %v; want from %d, least 1", b, ok, c.from)
			}
			if err := s.GC(0); err != nil {
				t.Fatal(err)
			}
			var rows, load []string
			for k, l := range model {
				if !l.del {
					rows = append(rows, fmt.Sprintf("%s@%d", k, l.epoch))
					load = append(load, k+"="+l.state)
				}
			}
			slices.Sort(rows)
			slices.Sort(load)
			if diff := cmp.Diff(rows, allRows(t, s), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("rows after collection (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(load, loadAll(t, s), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("load after collection (-want +got):\n%s", diff)
			}
		})
	}
}

// Collection, whatever epochs it finds (one, several, some keys rewritten in each, some
// not, deletions, an epoch written twice, two steps with the same keys), leaves the state
// a resume loads as it was: each key's last write. Random scenarios, seeded, checked
// after every collection against a model of the writes.
func TestCollectMatchesModel(t *testing.T) {
	t.Parallel()
	for seed := range 40 {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(uint64(seed), 1))
			dir := t.TempDir()
			s := startT(t, dir, 1+rng.IntN(2))
			model := map[string]string{} // step/key: state, absent when deleted
			// check resumes the directory, as the next run would, and goes on in that run.
			check := func(when string) {
				t.Helper()
				want := map[string]string{}
				for k, v := range model {
					step, key, _ := strings.Cut(k, "/")
					want[step+"\x00"+key] = v
				}
				s.Close()
				got, err := resumeAll(dir)
				if err != nil {
					t.Fatalf("resume %s: %v", when, err)
				}
				if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
					t.Fatalf("load %s (-want +got):\n%s", when, diff)
				}
				s = beginT(t, dir)
			}
			epochs := 2 + rng.IntN(6)
			for e := uint64(1); e <= uint64(epochs); e++ {
				for range 1 + rng.IntN(2) { // an epoch written twice: a write retried
					var ss []state.Snapshot
					for _, step := range []string{"s", "t"} {
						var kvs []string
						for _, k := range []string{"a", "b", "c", "d", "e"} {
							switch r := rng.IntN(10); {
							case r < 5: // unchanged
							case r < 9:
								v := fmt.Sprintf("%d.%d", e, rng.IntN(100))
								kvs = append(kvs, k+"="+v)
								model[step+"/"+k] = v
							default:
								kvs = append(kvs, k)
								delete(model, step+"/"+k)
							}
						}
						ss = append(ss, snaps(write{0, e, step, kvs})...)
					}
					if err := s.Write(0, []state.Epoch{{Epoch: e, Snaps: ss}}); err != nil {
						t.Fatal(err)
					}
				}
				if rng.IntN(3) == 0 {
					if err := s.GC(0); err != nil {
						t.Fatal(err)
					}
					check(fmt.Sprintf("after collecting at epoch %d", e))
				}
			}
			check("before the last collection")
			if err := s.GC(0); err != nil {
				t.Fatal(err)
			}
			check("after the last collection")
		})
	}
}

// Past maxSuperseded keys the check stops tracking them, and every epoch moves: the
// collection's result is the same.
func TestCollectSupersededGivesUp(t *testing.T) {
	old := maxSuperseded
	maxSuperseded = 2
	t.Cleanup(func() { maxSuperseded = old })
	dir := t.TempDir()
	s := startT(t, dir, 1)
	for e, kvs := range [][]string{{"a=1", "b=1", "c=1"}, {"a=2", "b=2", "c=2"}} {
		if err := s.Write(0, []state.Epoch{{Epoch: uint64(e + 1), Snaps: snaps(write{0, uint64(e + 1), "s", kvs})}}); err != nil {
			t.Fatal(err)
		}
	}
	b, ok := checkRawT(t, s.parts[0], dir, 3, true)
	if !ok || b.from != 1 || b.oneEpoch {
		t.Errorf("checkRaw past the limit: %+v, %v; want from 1, not one epoch", b, ok)
	}
	if err := s.GC(0); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"s/a=2", "s/b=2", "s/c=2"}, loadAll(t, s)); diff != "" {
		t.Errorf("load (-want +got):\n%s", diff)
	}
}

// checkRawT runs checkRaw on partition 0 of dir, the steps' names read through db.
func checkRawT(t *testing.T, db *sql.DB, dir string, h int64, track bool) (below, bool) {
	t.Helper()
	names, err := stepNames(db)
	if err != nil {
		t.Fatal(err)
	}
	conn := openRawQuery(state.PartitionPath(dir, 0), rawCheckSQL)
	if conn == nil {
		t.Fatal("cannot open the partition for checkRaw")
	}
	defer conn.close()
	return checkRaw(conn, h, names, track)
}
