package sqlitestore

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/weirflow/weir/internal/state"
)

// writeExecution runs one execution of one worker on dir writing epochs, and collects
// everything committed when collect is set.
func writeExecution(t *testing.T, dir string, collect bool, epochs ...state.Epoch) {
	t.Helper()
	s := beginT(t, dir)
	if err := s.Write(0, epochs); err != nil {
		t.Fatal(err)
	}
	if collect {
		if err := s.GC(0); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// Load merges the partitions into one order, steps by name and each step's keys byte-wise,
// with the recent rows of snapshots overriding, deleting and adding to those of compacted:
// the order the keyed runtime takes keys in without sorting.
func TestLoadOrder(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	initT(t, dir, 4)
	rnd := rand.New(rand.NewPCG(1, 2))
	// Step ids follow first writes, so that their order is not their names' order; keys
	// share prefixes, differ in bytes above 0x7f and are empty.
	steps := []string{"m.step", "b.step", "z", "a"}
	key := func() string {
		const alphabet = "ab\x00\xff\x80~"
		b := make([]byte, rnd.IntN(6))
		for i := range b {
			b[i] = alphabet[rnd.IntN(len(alphabet))]
		}
		return string(b)
	}
	want := map[string]string{} // step + "/" + key -> state
	epoch := func(e uint64, deletes bool) state.Epoch {
		ep := state.Epoch{Epoch: e}
		for _, step := range steps {
			sn := state.Snapshot{Step: step}
			seen := map[string]bool{}
			for range 300 {
				k := key()
				if seen[k] {
					continue
				}
				seen[k] = true
				c := state.Change{Key: k, State: fmt.Appendf(nil, "%d", rnd.IntN(1000))}
				if rnd.IntN(10) == 0 {
					c.State = []byte{} // empty, not deleted
				}
				if deletes && rnd.IntN(4) == 0 {
					c = state.Change{Key: k, Deleted: true}
					delete(want, step+"/"+k)
				} else {
					want[step+"/"+k] = string(c.State)
				}
				sn.Changes = append(sn.Changes, c)
			}
			ep.Snaps = append(ep.Snaps, sn)
		}
		return ep
	}
	writeExecution(t, dir, true, epoch(1, false), epoch(2, true)) // moved to compacted
	writeExecution(t, dir, false, epoch(3, true), epoch(4, true)) // left in snapshots

	s := openT(t, dir)
	if _, err := s.Begin(2); err != nil {
		t.Fatal(err)
	}
	if countRows(t, s, 0, "1") == 0 {
		t.Fatal("the test needs rows in snapshots")
	}
	var got []string
	var prev [2]string
	err := s.Load(func(step, key string, st []byte) error {
		if len(got) > 0 && (step < prev[0] || step == prev[0] && key <= prev[1]) {
			t.Errorf("step %q key %q after step %q key %q", step, key, prev[0], prev[1])
		}
		if st == nil {
			t.Errorf("step %q key %q: nil state", step, key)
		}
		prev = [2]string{step, key}
		got = append(got, step+"/"+key+"="+string(st))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var wantRows []string
	for k, v := range want {
		wantRows = append(wantRows, k+"="+v)
	}
	slices.Sort(got)
	slices.Sort(wantRows)
	if diff := cmp.Diff(wantRows, got); diff != "" {
		t.Errorf("load (-want +got):\n%s", diff)
	}
}

// An error of Load's callback is returned as it is, and stops the load at once; a damaged
// partition fails it with the lowest damaged partition's *CorruptError, whichever the
// merge needed first.
func TestLoadErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	initT(t, dir, 4)
	var cs []state.Change
	for i := range 10_000 {
		cs = append(cs, state.Change{Key: fmt.Sprintf("key%05d", i), State: []byte("x")})
	}
	writeExecution(t, dir, true, state.Epoch{Epoch: 1, Snaps: []state.Snapshot{{Step: "s", Changes: cs}}})

	s := openT(t, dir)
	if _, err := s.Begin(1); err != nil {
		t.Fatal(err)
	}
	stop := errors.New("enough")
	calls := 0
	err := s.Load(func(step, key string, st []byte) error {
		calls++
		if calls == 10 {
			return stop
		}
		return nil
	})
	if err != stop || calls != 10 {
		t.Errorf("load: %v after %d calls, want the callback's error after 10", err, calls)
	}
	s.Close()

	// The last key of partition 3 and the first of partition 1 are damaged.
	var first1, last3 string
	for _, c := range cs {
		switch partitionOf("s", c.Key, 4) {
		case 1:
			if first1 == "" {
				first1 = c.Key
			}
		case 3:
			last3 = c.Key
		}
	}
	flipBit("compacted", last3, "")(t, dir, 3)
	damageDB(t, dir, 1, `UPDATE compacted SET key = 'other' WHERE key = ?`, first1)
	s = openT(t, dir)
	if _, err := s.Begin(1); err != nil {
		t.Fatal(err)
	}
	err = s.Load(func(step, key string, st []byte) error { return nil })
	var ce *state.CorruptError
	if !errors.As(err, &ce) || ce.Partition != 1 || !strings.Contains(err.Error(), "checksum") {
		t.Errorf("load: %v, want partition 1's *CorruptError", err)
	}
}

// Load allocates next to nothing a row: keys and states share blocks (keyArena,
// stateArena), the merge hands rows over in reused chunks, and a run's store reads rows
// on connections of its own (rawscan.go). It was 7 allocations a row before issue 18,
// 5.02 read through database/sql, 4.02 with a string of its own for each key, 3.02 through
// weir_load (the driver boxed each row's key, state and checksum as driver.Values); it is
// 0.02.
func TestLoadAllocs(t *testing.T) {
	if testing.CoverMode() != "" {
		t.Skip("coverage counters allocate")
	}
	dir := t.TempDir()
	initT(t, dir, 4)
	const n = 20_000
	var cs []state.Change
	for i := range n {
		cs = append(cs, state.Change{Key: fmt.Sprintf("key%06d", i), State: []byte("\x01\x19\x01\x00")})
	}
	writeExecution(t, dir, true, state.Epoch{Epoch: 1, Snaps: []state.Snapshot{{Step: "s", Changes: cs}}})
	s := openT(t, dir)
	if _, err := s.Begin(1); err != nil {
		t.Fatal(err)
	}
	perRow := testing.AllocsPerRun(3, func() {
		got := 0
		if err := s.Load(func(step, key string, st []byte) error { got++; return nil }); err != nil || got != n {
			t.Fatalf("load: %d rows, %v", got, err)
		}
	}) / n
	t.Logf("%.2f allocations a row", perRow)
	if perRow > 0.25 {
		t.Errorf("load allocates %.2f objects a row, want at most 0.25", perRow)
	}
}

// The keys Load hands on share blocks (keyArena): each must stay as it was for as long as
// it is held, through the rest of the load and later loads, which fill blocks of their own.
func TestLoadKeysOutliveLoad(t *testing.T) {
	dir := t.TempDir()
	initT(t, dir, 2)
	const n = 3 * arenaBlock / 8 // keys of 9 bytes: several blocks per partition
	var cs []state.Change
	for i := range n {
		cs = append(cs, state.Change{Key: fmt.Sprintf("k%08d", i), State: []byte{byte(i)}})
	}
	writeExecution(t, dir, true, state.Epoch{Epoch: 1, Snaps: []state.Snapshot{{Step: "s", Changes: cs}}})
	s := openT(t, dir)
	if _, err := s.Begin(1); err != nil {
		t.Fatal(err)
	}
	var kept []string
	for range 2 {
		if err := s.Load(func(step, key string, st []byte) error { kept = append(kept, key); return nil }); err != nil {
			t.Fatal(err)
		}
	}
	if len(kept) != 2*n {
		t.Fatalf("%d keys loaded, want %d", len(kept), 2*n)
	}
	for i, k := range kept {
		if want := fmt.Sprintf("k%08d", i%n); k != want {
			t.Fatalf("key %d is %q after the loads, want %q", i, k, want)
		}
	}
}
