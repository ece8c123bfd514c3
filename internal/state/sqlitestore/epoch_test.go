package sqlitestore

import (
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/weirflow/weir/internal/state"
)

// BenchmarkEpochCycle writes an epoch of 100k rows (every key of the state rewritten, as
// in the report's running aggregate) to 4 partitions, then collects it, and reports the
// time of each: what a snapshot costs the store per epoch. It also reports the process's
// CPU time in each (write-cpu-ms, collect-cpu-ms): on a machine shared with other work the
// wall-clock times measure the machine as much as the store, while the CPU the store
// takes from the workers varies little.
func BenchmarkEpochCycle(b *testing.B) {
	s := startT(b, b.TempDir(), 4)
	var write, collect, writeCPU, collectCPU time.Duration
	e := uint64(1)
	for b.Loop() {
		ep := epochOf(0, e, 50_000)
		start, cpu0 := time.Now(), processCPU(b)
		if err := s.Write(0, []state.Epoch{ep}); err != nil {
			b.Fatal(err)
		}
		mid, cpu1 := time.Now(), processCPU(b)
		if err := s.GC(0); err != nil {
			b.Fatal(err)
		}
		write, collect = write+mid.Sub(start), collect+time.Since(mid)
		writeCPU, collectCPU = writeCPU+cpu1-cpu0, collectCPU+processCPU(b)-cpu1
		e++
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1e3 / float64(b.N) }
	b.ReportMetric(ms(write), "write-ms")
	b.ReportMetric(ms(collect), "collect-ms")
	b.ReportMetric(ms(writeCPU), "write-cpu-ms")
	b.ReportMetric(ms(collectCPU), "collect-cpu-ms")
}

// BenchmarkCollectTwoEpochs writes two epochs of 100k rows (every key of the state
// rewritten in each) to 4 partitions, then collects both at once, as the end of a run does
// when the collection after the last epoch but one has not reached every partition, and
// reports the CPU time of the collection: 1.2 to 1.35 times one epoch's
// (BenchmarkEpochCycle's collect-cpu-ms), since the first epoch's rows are all superseded
// and do not move, only checked (1.8 to 1.9 times when they moved too).
func BenchmarkCollectTwoEpochs(b *testing.B) {
	s := startT(b, b.TempDir(), 4)
	var collectCPU time.Duration
	e := uint64(1)
	for b.Loop() {
		if err := s.Write(0, []state.Epoch{epochOf(0, e, 50_000), epochOf(0, e+1, 50_000)}); err != nil {
			b.Fatal(err)
		}
		cpu0 := processCPU(b)
		if err := s.GC(0); err != nil {
			b.Fatal(err)
		}
		collectCPU += processCPU(b) - cpu0
		e += 2
	}
	b.ReportMetric(float64(collectCPU.Microseconds())/1e3/float64(b.N), "collect-cpu-ms")
}

// processCPU is the CPU time the process has used, user and system.
func processCPU(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Collection's work is the rows collected, not the state: no statement of it reads the
// whole of compacted, which holds every key's state (before, dropping the deletions
// scanned it at every collection). Each statement's query plan may scan snapshots, which
// holds only the rows not yet collected, and must look compacted up by its key.
func TestCollectSearchesCompacted(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	initT(t, dir, 1)
	s := openT(t, dir)
	stmts := map[string]string{
		"compactLatest":  compactLatest,
		"compactInOrder": compactInOrder,
		"replaceLatest":  replaceLatest,
		"replaceInOrder": replaceInOrder,
		"dropDeletions":  dropDeletions,
		"deleteMoved":    deleteMoved,
		"deleteAll":      deleteAll,
		"check":          checkQuery,
	}
	for name, q := range stmts {
		args := []any{5}
		if strings.Contains(q, "?2") {
			args = append(args, 3) // the moves' lower bound
		}
		plan := queryPlan(t, s.parts[0], q, args...)
		for _, d := range plan {
			if strings.HasPrefix(d, "SCAN compacted") || strings.HasPrefix(d, "SCAN steps") {
				t.Errorf("%s reads a whole table (plan %q)", name, plan)
			}
		}
	}
}

// weir_state_ok passes exactly the rows whose columns are of the store's types and agree
// with their checksum, so that collection reads in Go only the partitions with a row to
// report.
func TestStateOK(t *testing.T) {
	sum := new(summer).state("s", "k", 3, []byte("v"), false)
	del := new(summer).state("s", "k", 3, nil, true)
	empty := new(summer).state("s", "k", 3, nil, false)
	for _, c := range []struct {
		name string
		args []driver.Value
		want bool
	}{
		{"sound", []driver.Value{"s", "k", int64(3), []byte("v"), sum}, true},
		{"deletion", []driver.Value{"s", "k", int64(3), nil, del}, true},
		{"empty state", []driver.Value{"s", "k", int64(3), []byte{}, empty}, true},
		{"empty state as a deletion", []driver.Value{"s", "k", int64(3), nil, empty}, false},
		{"other step", []driver.Value{"t", "k", int64(3), []byte("v"), sum}, false},
		{"unknown step", []driver.Value{nil, "k", int64(3), []byte("v"), sum}, false},
		{"other key", []driver.Value{"s", "K", int64(3), []byte("v"), sum}, false},
		{"other epoch", []driver.Value{"s", "k", int64(4), []byte("v"), sum}, false},
		{"negative epoch", []driver.Value{"s", "k", int64(-3), []byte("v"), sum}, false},
		{"other state", []driver.Value{"s", "k", int64(3), []byte("w"), sum}, false},
		{"text state", []driver.Value{"s", "k", int64(3), "v", sum}, false},
		{"text key", []driver.Value{"s", []byte("k"), int64(3), []byte("v"), sum}, false},
		{"float epoch", []driver.Value{"s", "k", float64(3), []byte("v"), sum}, false},
		{"other checksum", []driver.Value{"s", "k", int64(3), []byte("v"), sum + 1}, false},
		{"text checksum", []driver.Value{"s", "k", int64(3), []byte("v"), "1"}, false},
	} {
		if got := stateOK(c.args); got != c.want {
			t.Errorf("%s: stateOK = %v, want %v", c.name, got, c.want)
		}
	}
}

// A write of several epochs, each with runs of a step's rows longer and shorter than a
// statement takes, keeps every key's rows in epoch order by rowid (as a resume and
// collection read them) and writes every row once.
func TestWriteKeepsEpochOrder(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := startT(t, dir, 2)
	epoch := func(e uint64) state.Epoch {
		var snaps []state.Snapshot
		for _, st := range []struct {
			step string
			keys int
		}{{"long", 3*rowsPerInsert + 5}, {"short", 7}, {"exact", 2 * rowsPerInsert}} {
			var cs []state.Change
			for i := range st.keys {
				cs = append(cs, state.Change{Key: fmt.Sprintf("k%03d", i), State: fmt.Appendf(nil, "%d", e)})
			}
			snaps = append(snaps, state.Snapshot{Step: st.step, Changes: cs})
		}
		return state.Epoch{Epoch: e, Snaps: snaps}
	}
	if err := s.Write(0, []state.Epoch{epoch(1), epoch(2), epoch(3)}); err != nil {
		t.Fatal(err)
	}
	rows := 0
	for p := range s.parts {
		last := map[string]uint64{}
		r, err := s.parts[p].Query(`SELECT steps.name, key, epoch, state FROM snapshots JOIN steps ON steps.id = step ORDER BY snapshots.rowid`)
		if err != nil {
			t.Fatal(err)
		}
		for r.Next() {
			var step, key, st string
			var e uint64
			if err := r.Scan(&step, &key, &e, &st); err != nil {
				t.Fatal(err)
			}
			if e <= last[step+"/"+key] {
				t.Errorf("partition %d: %s/%s's row of epoch %d after its row of epoch %d", p, step, key, e, last[step+"/"+key])
			}
			if st != fmt.Sprint(e) {
				t.Errorf("partition %d: %s/%s's row of epoch %d holds %q", p, step, key, e, st)
			}
			last[step+"/"+key] = e
			rows++
		}
		r.Close()
	}
	if want := 3 * (3*rowsPerInsert + 5 + 7 + 2*rowsPerInsert); rows != want {
		t.Errorf("%d rows written, want %d", rows, want)
	}
}

// A write's allocations a row: none but a write's own few (its split, a goroutine and a
// map a partition), as the writer binds each row's values through SQLite's C API. Through
// database/sql (writeTx) the boxing of the key, state and checksum each row binds, with
// database/sql's and the driver's share of each statement, came to 3.26.
func TestWriteAllocs(t *testing.T) {
	dir := t.TempDir()
	s := startT(t, dir, 4)
	const keys = 5_000 // two steps: 10k rows
	e := uint64(0)
	epochs := make([]state.Epoch, 8)
	for i := range epochs {
		epochs[i] = epochOf(0, uint64(i+1), keys)
	}
	allocs := testing.AllocsPerRun(len(epochs)-1, func() {
		if err := s.Write(0, epochs[e:e+1]); err != nil {
			t.Fatal(err)
		}
		e++
	})
	perRow := allocs / (2 * keys)
	t.Logf("%.2f allocations a row written", perRow)
	if perRow > maxWriteAllocs {
		t.Errorf("a write: %.2f allocations a row, want at most %v", perRow, maxWriteAllocs)
	}
}

// maxWriteAllocs bounds TestWriteAllocs: 0.01 measured through the writer, 3.26 through
// database/sql.
const maxWriteAllocs = 0.1

// Collection empties snapshots at once only when every row is below its horizon: a row a
// worker wrote beyond another's frontier stays.
func TestCollectKeepsRowsAboveHorizon(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	initT(t, dir, 1)
	s := openT(t, dir)
	if _, err := s.Begin(2); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	for _, w := range []write{{0, 1, "s", []string{"a=1", "b=1"}}, {1, 1, "s", []string{"c=1"}}, {0, 2, "s", []string{"a=2", "b"}}} {
		if err := s.Write(w.worker, []state.Epoch{{Epoch: w.epoch, Snaps: snaps(w)}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.GC(0); err != nil { // every worker has completed epoch 1 only
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"s/a@1", "s/a@2", "s/b@1", "s/b@2-", "s/c@1"}, sorted(allRows(t, s))); diff != "" {
		t.Errorf("rows after collecting below epoch 2 (-want +got):\n%s", diff)
	}
	if err := s.Write(1, []state.Epoch{{Epoch: 2, Snaps: snaps(write{1, 2, "s", nil})}}); err != nil {
		t.Fatal(err)
	}
	if err := s.GC(0); err != nil { // now below epoch 3: every row
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"s/a@2", "s/c@1"}, sorted(allRows(t, s))); diff != "" {
		t.Errorf("rows after collecting below epoch 3 (-want +got):\n%s", diff)
	}
	if n := countRows(t, s, 0, "true"); n != 0 {
		t.Errorf("%d rows left in snapshots, want 0", n)
	}
}

func sorted(s []string) []string { slices.Sort(s); return s }

// Collection refuses every damaged row it would move or drop, whichever column the damage
// is in, with the *CorruptError a check in Go gives (the rows are read into Go for it once
// weir_state_ok fails one); a row of other types that still sums right is collected.
func TestCollectRefusesDamage(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, set string
		refused   bool
	}{
		{"key", `key = 'key002'`, true},
		{"state to a deletion", `state = NULL`, true},
		{"state", `state = X'00'`, true},
		{"epoch", `epoch = 0`, true},
		{"negative epoch", `epoch = -1`, true},
		{"unknown step", `step = 99`, true},
		{"checksum", `crc = crc + 1`, true},
		{"text checksum", `crc = 'x'`, true},
		{"text state", `state = CAST(state AS TEXT)`, false},
		{"blob key", `key = CAST(key AS BLOB)`, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			initT(t, dir, 1)
			fill(t, dir, 1, 2)
			damageDB(t, dir, 0, `UPDATE snapshots SET `+c.set+` WHERE key = 'key001' AND epoch = 1`)
			s := beginT(t, dir)
			err := s.GC(0)
			var ce *state.CorruptError
			switch {
			case c.refused && !errors.As(err, &ce):
				t.Fatalf("collection of a damaged row: %v, want a *CorruptError", err)
			case !c.refused && err != nil:
				t.Fatalf("collection: %v", err)
			case !c.refused:
				if n := countRows(t, s, 0, "true"); n != 0 {
					t.Errorf("%d rows left in snapshots, want 0", n)
				}
			}
		})
	}
}

// BenchmarkCheckRows runs collection's check of an epoch of 100k snapshot rows of two steps
// in one partition (checkRows, which reads them on a connection of its own and sums them
// in Go) and reports the CPU time a row: the part of collection that the check is, apart
// from moving the rows.
func BenchmarkCheckRows(b *testing.B) {
	s := startT(b, b.TempDir(), 1)
	const keys = 50_000
	if err := s.Write(0, []state.Epoch{epochOf(0, 1, keys)}); err != nil {
		b.Fatal(err)
	}
	var cpu time.Duration
	var raw *rawConn
	defer func() { raw.close() }()
	for b.Loop() {
		err := tx(s.parts[0], func(tx *sql.Tx) error {
			cpu0 := processCPU(b)
			moved, err := checkRows(tx, &raw, state.PartitionPath(s.dir, 0), 2, false)
			cpu += processCPU(b) - cpu0
			if err == nil && !(moved.oneEpoch && moved.all) {
				err = fmt.Errorf("checked %+v, want one epoch, every row", moved)
			}
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N)/(2*keys), "cpu-ns/row")
}

// queryPlan returns the details of SQLite's plan for q with args, one a line of EXPLAIN
// QUERY PLAN.
func queryPlan(t *testing.T, db *sql.DB, q string, args ...any) []string {
	t.Helper()
	rows, err := db.Query(`EXPLAIN QUERY PLAN `+q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return plan
}
