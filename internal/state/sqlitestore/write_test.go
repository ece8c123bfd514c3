package sqlitestore

import (
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"modernc.org/libc"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/weirflow/weir/internal/state"
)

// A write splits its rows by partition into slices made once, at about their size: grown
// by appends, they were the write's largest garbage (17 MB for 100k rows). A worker's
// next write fills the same slices again, allocating nothing.
func TestSplitAllocs(t *testing.T) {
	s := &Store{parts: []*sql.DB{{}, {}, {}, {}}}
	epochs := []state.Epoch{epochOf(0, 1, 50_000)}
	count := func(byPart [][]row) (rows int) {
		for _, r := range byPart {
			rows += len(r)
		}
		return rows
	}
	first := s.split(epochs, nil)
	if rows := count(first); rows != 100_000 {
		t.Fatalf("split placed %d rows, want 100000", rows)
	}
	if a := testing.AllocsPerRun(3, func() { s.split(epochs, nil) }); a > 5 {
		t.Errorf("split of 100k rows in 4 partitions: %v allocations, want at most 5", a)
	}
	want := make([][]row, len(first))
	for p := range first {
		want[p] = append([]row(nil), first[p]...)
	}
	spare := first // not emptied: split must empty the lists it reuses
	a := testing.AllocsPerRun(3, func() { spare = s.split(epochs, spare) })
	if a > 0 {
		t.Errorf("split of 100k rows into the last write's lists: %v allocations, want none", a)
	}
	if diff := cmp.Diff(want, spare, cmp.AllowUnexported(row{}), cmp.Comparer(func(a, b *state.Change) bool { return a == b })); diff != "" {
		t.Errorf("rows placed into the last write's lists (-want +got):\n%s", diff)
	}
}

// A write much smaller than the one before does not fill, and so keep, that write's
// lists: one large write leaves nothing large behind for the later ones.
func TestSplitLetsLargeListsGo(t *testing.T) {
	s := &Store{parts: []*sql.DB{{}, {}, {}, {}}}
	large := s.split([]state.Epoch{epochOf(0, 1, 50_000)}, nil)
	small := s.split([]state.Epoch{epochOf(0, 2, 20)}, large)
	rows := 0
	for p, r := range small {
		rows += len(r)
		if cap(r) > 1000 {
			t.Errorf("partition %d: a write of 40 rows kept a list with room for %d", p, cap(r))
		}
	}
	if rows != 40 {
		t.Errorf("split placed %d rows, want 40", rows)
	}
}

// The writer (rawWriter, SQLite's C API) and the database/sql path it replaced (writeTx,
// still taken when a writer cannot be opened) write the same rows, bit for bit: each row's
// columns with their types (an empty state is an empty blob, a deletion NULL), in the same
// rowid order, the same steps, frontiers and commit times.
func TestWriterMatchesDriver(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("v", 5000)
	change := func(key, st string) state.Change { return state.Change{Key: key, State: []byte(st)} }
	run := func(step string, n int, e uint64) state.Snapshot {
		sn := state.Snapshot{Step: step}
		for i := range n {
			sn.Changes = append(sn.Changes, change(fmt.Sprintf("%s%03d", step, i), fmt.Sprint(e*1000+uint64(i))))
		}
		return sn
	}
	writes := [][]state.Epoch{
		{{Epoch: 1, Snaps: []state.Snapshot{
			run("a", 2*rowsPerInsert+3, 1),
			{Step: "odd", Changes: []state.Change{
				change("", "empty key"),
				{Key: "nil state"},
				change("empty state", ""),
				{Key: "deleted", Deleted: true},
				{Key: "deleted with a state", State: []byte("x"), Deleted: true},
				change("zero\x00byte", "\x00\x01"),
				change("\xff\xfe not utf-8", long),
			}},
			run("b", rowsPerInsert, 1),
		}}},
		{ // several epochs in one write, a new step in the second
			{Epoch: 2, Snaps: []state.Snapshot{run("a", rowsPerInsert-1, 2), run("c", 1, 2)}},
			{Epoch: 3, Snaps: []state.Snapshot{run("a", 3*rowsPerInsert, 3), run("b", 5, 3)}},
		},
		{{Epoch: 4, Snaps: []state.Snapshot{run("c", 2*rowsPerInsert, 4), {Step: "odd", Changes: []state.Change{{Key: "", Deleted: true}}}}}},
	}
	dump := func(driver bool) []string {
		dir := t.TempDir()
		initT(t, dir, 2)
		s := openT(t, dir)
		s.driverWrites = driver
		s.now = func() time.Time { return time.Unix(1e9, 0) }
		if _, err := s.Begin(1); err != nil {
			t.Fatal(err)
		}
		if err := s.Start(); err != nil {
			t.Fatal(err)
		}
		for i, w := range writes {
			if err := s.Write(0, w); err != nil {
				t.Fatal(err)
			}
			if (s.ids[0].w != nil) == driver || (s.ids[1].w != nil) == driver {
				t.Fatalf("write %d went through the writer: %v, want %v", i, !driver, !driver)
			}
		}
		if err := s.Check(); err != nil {
			t.Fatal(err)
		}
		var out []string
		for p := range s.parts {
			for _, q := range []string{
				`SELECT rowid, epoch, step, typeof(key), hex(key), typeof(state), hex(state), crc FROM snapshots ORDER BY rowid`,
				`SELECT id, name, crc FROM steps ORDER BY id`,
				`SELECT execution, worker, epoch, typeof(final), final, crc FROM frontiers ORDER BY execution, worker`,
				`SELECT epoch, at, crc FROM commits ORDER BY epoch`,
			} {
				rows, err := s.parts[p].Query(q)
				if err != nil {
					t.Fatal(err)
				}
				cols, _ := rows.Columns()
				vals := make([]any, len(cols))
				ptrs := make([]any, len(cols))
				for i := range vals {
					ptrs[i] = &vals[i]
				}
				for rows.Next() {
					if err := rows.Scan(ptrs...); err != nil {
						t.Fatal(err)
					}
					out = append(out, fmt.Sprintf("%d %q %v", p, q[:20], vals))
				}
				if err := rows.Err(); err != nil {
					t.Fatal(err)
				}
				rows.Close()
			}
		}
		return out
	}
	raw, driver := dump(false), dump(true)
	if len(raw) < 2*rowsPerInsert {
		t.Fatalf("only %d rows", len(raw))
	}
	if diff := cmp.Diff(driver, raw); diff != "" {
		t.Errorf("the writer's rows differ from database/sql's (-driver +writer):\n%s", diff)
	}
}

// The writer's connection has the driver's settings: above all synchronous FULL in WAL
// mode, which makes its COMMIT durable before a write returns.
func TestWriterPragmas(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := startT(t, dir, 1)
	if err := s.Write(0, []state.Epoch{epochOf(0, 1, 3)}); err != nil {
		t.Fatal(err)
	}
	w := s.ids[0].w
	if w == nil {
		t.Fatal("no writer after a write")
	}
	for _, pr := range []string{"synchronous", "journal_mode", "busy_timeout", "cache_size", "mmap_size", "locking_mode", "foreign_keys", "secure_delete", "auto_vacuum", "wal_autocheckpoint"} {
		var want string
		if err := s.parts[0].QueryRow("PRAGMA " + pr).Scan(&want); err != nil {
			t.Fatal(err)
		}
		if got := w.pragma(t, pr); got != want {
			t.Errorf("PRAGMA %s: writer %q, database/sql %q", pr, got, want)
		}
	}
	if got := w.pragma(t, "synchronous"); got != "2" {
		t.Errorf("writer's synchronous = %s, want 2 (FULL)", got)
	}
}

// pragma reads PRAGMA name on w's connection.
func (w *rawWriter) pragma(t *testing.T, name string) string {
	t.Helper()
	stmt, ok := prepareC(w.tls, w.db, "PRAGMA "+name, 0)
	if !ok {
		t.Fatalf("PRAGMA %s: cannot prepare", name)
	}
	defer sqlite3.Xsqlite3_finalize(w.tls, stmt)
	if rc := sqlite3.Xsqlite3_step(w.tls, stmt); rc != sqlite3.SQLITE_ROW {
		t.Fatalf("PRAGMA %s: %v", name, w.err(rc))
	}
	return libc.GoString(sqlite3.Xsqlite3_column_text(w.tls, stmt, 0))
}

// The writer's errors are typed as the driver's are: classify reads SQLite's code from
// either.
func TestWriterErrorsClassified(t *testing.T) {
	for _, tc := range []struct {
		code int
		want any
	}{
		{11, new(*state.CorruptError)},      // SQLITE_CORRUPT
		{26, new(*state.CorruptError)},      // SQLITE_NOTADB
		{13, new(*state.DiskFullError)},     // SQLITE_FULL
		{8 | 2<<8, new(*state.AccessError)}, // SQLITE_READONLY_LOCKED
	} {
		err := classify(t.TempDir(), 1, &rawError{code: tc.code, msg: "m"}, false)
		if !errors.As(err, tc.want) {
			t.Errorf("code %d: %T %v, want %T", tc.code, err, err, tc.want)
		}
	}
}

// A write that fills the disk fails with a *state.DiskFullError and leaves the partition
// as it was (its transaction rolled back, the worker's frontier where the last write put
// it); once there is room again, the next write goes through.
func TestWriterDiskFull(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("a full disk needs root, to mount a small tmpfs")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", dir, err, out)
		}
	})
	s := startT(t, dir, 1)
	if err := s.Write(0, []state.Epoch{epochOf(0, 1, 10)}); err != nil {
		t.Fatal(err)
	}
	filler := filepath.Join(dir, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	for b := make([]byte, 4096); err == nil; {
		_, err = f.Write(b)
	}
	f.Close()
	big := epochOf(0, 2, 20_000)
	err = s.Write(0, []state.Epoch{big})
	var fe *state.DiskFullError
	if !errors.As(err, &fe) || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("write on a full disk: %v, want a *state.DiskFullError", err)
	}
	if s.ids[0].w != nil {
		t.Errorf("the failed writer was kept")
	}
	var epoch uint64
	if err := s.parts[0].QueryRow(`SELECT epoch FROM frontiers`).Scan(&epoch); err != nil || epoch != 2 {
		t.Errorf("frontier after the failed write: %d, %v; want 2", epoch, err)
	}
	if n := countRows(t, s, 0, "epoch = 2"); n != 0 {
		t.Errorf("the failed write left %d rows", n)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(0, []state.Epoch{big}); err != nil {
		t.Fatalf("write once there is room: %v", err)
	}
	if n := countRows(t, s, 0, "epoch = 2"); n != 40_000 {
		t.Errorf("%d rows of epoch 2, want 40000", n)
	}
	if err := s.Check(); err != nil {
		t.Error(err)
	}
}

// A write steps one statement per rowsPerInsert rows of an epoch's step, and one per row
// left over, besides the transaction's own few: stepping a statement per row cost half
// as much CPU again as the whole write does now (57-61 ms against 34-41 for 100k rows).
func TestWriterStatements(t *testing.T) {
	t.Parallel()
	s := startT(t, t.TempDir(), 1)
	const keys = 10*rowsPerInsert + 5 // two steps
	for e := uint64(1); e <= 3; e++ {
		w0 := 0
		if w := s.ids[0].w; w != nil {
			w0 = w.steps
		}
		if err := s.Write(0, []state.Epoch{epochOf(0, e, keys)}); err != nil {
			t.Fatal(err)
		}
		// BEGIN, 10 of 64 rows and 5 of one for each step, the frontier, the commit time,
		// COMMIT; the first write also reads the next step id and adds each step.
		want := 4 + 2*(10+5)
		if e == 1 {
			want += 2 * 2
		}
		if got := s.ids[0].w.steps - w0; got != want {
			t.Errorf("write %d: %d statements stepped, want %d", e, got, want)
		}
	}
}
