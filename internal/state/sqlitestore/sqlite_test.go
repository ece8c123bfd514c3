package sqlitestore

import (
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/weirflow/weir/internal/state"
)

// write is one Store.Write of a scenario; changes are "key=state" or "key" to delete, and
// the change "<final>" marks the worker's final epoch.
type write struct {
	worker int
	epoch  uint64
	step   string
	keys   []string
}

// execution is one run against the store: Begin(workers), then the expected resume and
// Load, then its writes.
type execution struct {
	workers int
	resume  uint64
	load    []string // "step/key=state"
	writes  []write
}

const finalMark = "<final>"

func snaps(w write) []state.Snapshot {
	var cs []state.Change
	for _, k := range w.keys {
		if k == finalMark {
			continue
		}
		if key, st, ok := strings.Cut(k, "="); ok {
			cs = append(cs, state.Change{Key: key, State: []byte(st)})
		} else {
			cs = append(cs, state.Change{Key: k, Deleted: true})
		}
	}
	return []state.Snapshot{{Step: w.step, Changes: cs}}
}

func loadAll(t *testing.T, s state.Store) []string {
	t.Helper()
	var got []string
	err := s.Load(func(step, key string, state []byte) error {
		got = append(got, step+"/"+key+"="+string(state))
		return nil
	})
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	slices.Sort(got) // Load gives no order
	return got
}

// runScenario plays execs against a store; open returns the store for the next execution
// (the SQLite one reopens its files, so every execution also checks durability).
func runScenario(t *testing.T, execs []execution, open func() state.Store, done func(state.Store)) {
	t.Helper()
	for i, ex := range execs {
		s := open()
		resume, err := s.Begin(ex.workers)
		if err != nil {
			t.Fatalf("execution %d: begin: %v", i, err)
		}
		if resume != ex.resume {
			t.Errorf("execution %d: resume = %d, want %d", i, resume, ex.resume)
		}
		if diff := cmp.Diff(ex.load, loadAll(t, s)); diff != "" {
			t.Errorf("execution %d: load (-want +got):\n%s", i, diff)
		}
		if err := s.Start(); err != nil {
			t.Fatalf("execution %d: start: %v", i, err)
		}
		for _, w := range ex.writes {
			e := state.Epoch{Epoch: w.epoch, Snaps: snaps(w), Final: slices.Contains(w.keys, finalMark)}
			if err := s.Write(w.worker, []state.Epoch{e}); err != nil {
				t.Fatalf("execution %d: write: %v", i, err)
			}
		}
		done(s)
	}
}

func manyKeys(prefix string, n int) []string {
	var ks []string
	for i := range n {
		ks = append(ks, fmt.Sprintf("%s%02d=v%d", prefix, i, i))
	}
	return ks
}

func loaded(step string, kvs ...string) []string {
	var out []string
	for _, kv := range kvs {
		out = append(out, step+"/"+kv)
	}
	return out
}

var scenarios = []struct {
	name  string
	execs []execution
}{
	// A worker that reads no input stays at its first epoch; at the end of the stream its
	// final frontier must not send the next run back before the readers' last epoch.
	{"workers that completed the stream", []execution{
		{workers: 2, resume: 1, writes: []write{
			{0, 1, "s", []string{"a=1"}}, {1, 1, "s", []string{"b=1"}},
			{0, 2, "s", []string{"a=2"}}, {0, 3, "s", []string{"a=3", finalMark}},
			{1, 2, "s", []string{finalMark}},
		}},
		{workers: 3, resume: 4, load: loaded("s", "a=3", "b=1"), writes: []write{
			{0, 4, "s", []string{"a=4", finalMark}}, {1, 4, "s", []string{"c=4"}},
		}},
		// Worker 1 did not complete epoch 5; worker 2 wrote nothing.
		{workers: 1, resume: 4, load: loaded("s", "a=3", "b=1")},
	}},
	{"fresh", []execution{{workers: 1, resume: 1}}},
	{"crash before the first epoch", []execution{
		{workers: 2, resume: 1, writes: []write{{0, 1, "s", []string{"a=1"}}}},
		{workers: 2, resume: 1},
		{workers: 1, resume: 1},
	}},
	{"resume after every worker's last epoch", []execution{
		{workers: 2, resume: 1, writes: []write{
			{0, 1, "s", []string{"a=1"}}, {1, 1, "s", []string{"b=1"}},
			{0, 2, "s", []string{"a=2"}}, {1, 2, "s", nil},
		}},
		{workers: 2, resume: 3, load: loaded("s", "a=2", "b=1")},
	}},
	{"lagging worker drops later epochs", []execution{
		{workers: 2, resume: 1, writes: []write{
			{0, 1, "s", []string{"a=1"}}, {1, 1, "s", []string{"b=1"}},
			{0, 2, "s", []string{"a=2"}}, {0, 3, "s", []string{"a=3", "c=3"}},
		}},
		{workers: 2, resume: 2, load: loaded("s", "a=1", "b=1"), writes: []write{
			{0, 2, "s", []string{"a=22"}}, {1, 2, "s", nil},
		}},
		{workers: 1, resume: 3, load: loaded("s", "a=22", "b=1")},
	}},
	{"deletions hide keys until rewritten", []execution{
		{workers: 1, resume: 1, writes: []write{
			{0, 1, "s", []string{"a=1", "b=1"}}, {0, 2, "s", []string{"a"}},
		}},
		{workers: 1, resume: 3, load: loaded("s", "b=1"), writes: []write{
			{0, 3, "s", []string{"a=3", "b"}},
		}},
		{workers: 1, resume: 4, load: loaded("s", "a=3")},
	}},
	{"rescale 3 then 5 then 1", []execution{
		{workers: 3, resume: 1, writes: []write{
			{0, 1, "s", []string{"a=1"}}, {1, 1, "t", []string{"a=1"}}, {2, 1, "s", []string{"z=1"}},
		}},
		{workers: 5, resume: 2, load: []string{"s/a=1", "s/z=1", "t/a=1"}, writes: []write{
			{0, 2, "s", []string{"a=2"}}, {1, 2, "s", nil}, {2, 2, "s", nil}, {3, 2, "t", []string{"b=2"}},
			// worker 4 completes nothing: the resume epoch stays 2
		}},
		{workers: 1, resume: 2, load: []string{"s/a=1", "s/z=1", "t/a=1"}, writes: []write{
			{0, 2, "s", []string{"a=3"}}, {0, 3, "s", manyKeys("k", 40)},
		}},
		{workers: 1, resume: 4, load: append(loaded("s", "a=3"), append(loaded("s", manyKeys("k", 40)...), "s/z=1", "t/a=1")...)},
	}},
	{"empty state is not a deletion", []execution{
		{workers: 1, resume: 1, writes: []write{{0, 1, "s", []string{"a="}}}},
		{workers: 1, resume: 2, load: loaded("s", "a=")},
	}},
}

// TestStoresAgree runs every scenario against Memory and SQLite: same resume epochs and loads.
func TestStoresAgree(t *testing.T) {
	t.Parallel()
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			t.Run("memory", func(t *testing.T) {
				t.Parallel()
				m := state.NewMemory()
				runScenario(t, sc.execs, func() state.Store { return m }, func(state.Store) {})
			})
			t.Run("sqlite", func(t *testing.T) {
				t.Parallel()
				dir := t.TempDir()
				initT(t, dir, 2)
				runScenario(t, sc.execs, func() state.Store {
					s, err := Open(dir)
					if err != nil {
						t.Fatal(err)
					}
					return s
				}, func(s state.Store) {
					if err := s.(*Store).Close(); err != nil {
						t.Fatal(err)
					}
				})
			})
		})
	}
}

var templates sync.Map // partition count -> *template

type template struct {
	once  sync.Once
	files [][]byte
	err   error
}

// initT makes dir a new recovery directory of n partitions, copying the files of one
// made by Init: creating the schema costs more than the rest of a test.
func initT(t testing.TB, dir string, n int) {
	t.Helper()
	v, _ := templates.LoadOrStore(n, new(template))
	tp := v.(*template)
	tp.once.Do(func() {
		src, err := os.MkdirTemp("", "weir-state-test")
		if err != nil {
			tp.err = err
			return
		}
		defer os.RemoveAll(src)
		if tp.err = Init(src, n); tp.err != nil {
			return
		}
		for i := range n {
			b, err := os.ReadFile(state.PartitionPath(src, i))
			if err != nil {
				tp.err = err
				return
			}
			tp.files = append(tp.files, b)
		}
	})
	if tp.err != nil {
		t.Fatal(tp.err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, b := range tp.files {
		if err := os.WriteFile(state.PartitionPath(dir, i), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func openT(t testing.TB, dir string) *Store {
	t.Helper()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// startT makes a store of n partitions in dir and starts its first execution, as a run
// does before its first write.
func startT(t testing.TB, dir string, n int) *Store {
	t.Helper()
	initT(t, dir, n)
	return beginT(t, dir)
}

// beginT opens the store in dir and starts an execution, as a run does before its first
// write.
func beginT(t testing.TB, dir string) *Store {
	t.Helper()
	s := openT(t, dir)
	if _, err := s.Begin(1); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	return s
}

// fill runs one execution of one worker writing a few keys for each epoch given.
func fill(t *testing.T, dir string, epochs ...uint64) { fillN(t, dir, 4, epochs...) }

// fillN runs one execution of one worker writing n keys of 64 bytes for each epoch given.
func fillN(t *testing.T, dir string, n int, epochs ...uint64) {
	t.Helper()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Begin(1); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	for _, e := range epochs {
		var cs []state.Change
		for i := range n {
			cs = append(cs, state.Change{Key: fmt.Sprintf("key%03d", i), State: []byte(strings.Repeat("x", 64))})
		}
		if err := s.Write(0, []state.Epoch{{Epoch: e, Snaps: []state.Snapshot{{Step: "s", Changes: cs}}}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestInitTwice(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := Init(dir, 2); err != nil {
		t.Fatal(err)
	}
	if err := Init(dir, 2); !errors.Is(err, state.ErrExists) {
		t.Fatalf("second init: %v, want ErrExists", err)
	}
	if err := Init(t.TempDir(), 0); err == nil {
		t.Fatal("init with 0 partitions succeeded")
	}
}

func TestOpenErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		damage func(t *testing.T, dir string) // on an initialized store of 3 partitions
		check  func(t *testing.T, err error)
		msg    []string // substrings of the message besides the directory
	}{
		{"no directory", func(t *testing.T, dir string) { os.RemoveAll(dir) },
			func(t *testing.T, err error) {
				if !errors.Is(err, state.ErrNoPartitions) {
					t.Errorf("got %v, want ErrNoPartitions", err)
				}
			}, []string{"no recovery partitions found in"}},
		{"empty directory", func(t *testing.T, dir string) {
			for i := range 3 {
				os.Remove(state.PartitionPath(dir, i))
			}
		}, func(t *testing.T, err error) {
			if !errors.Is(err, state.ErrNoPartitions) {
				t.Errorf("got %v, want ErrNoPartitions", err)
			}
		}, []string{"no recovery partitions found in"}},
		{"missing middle", func(t *testing.T, dir string) { os.Remove(state.PartitionPath(dir, 1)) },
			missing([]int{1}), []string{"missing partitions [1] of 3"}},
		{"missing last", func(t *testing.T, dir string) { os.Remove(state.PartitionPath(dir, 2)) },
			missing([]int{2}), []string{"missing partitions [2] of 3"}},
		{"garbage", func(t *testing.T, dir string) {
			os.WriteFile(state.PartitionPath(dir, 1), []byte(strings.Repeat("not a database ", 500)), 0o644)
		}, corrupt(1), []string{"partition 1 (part-1.sqlite3) is corrupt"}},
		{"truncated to nothing", func(t *testing.T, dir string) { os.Truncate(state.PartitionPath(dir, 2), 0) },
			corrupt(2), []string{"partition 2 (part-2.sqlite3) is corrupt"}},
		{"truncated", func(t *testing.T, dir string) {
			fillN(t, dir, 100, 1, 2, 3)
			p := state.PartitionPath(dir, 0)
			fi, err := os.Stat(p)
			if err != nil || fi.Size() < 4*4096 {
				t.Fatalf("partition too small to truncate: %v %v", fi.Size(), err)
			}
			os.Truncate(p, fi.Size()/2)
		}, corrupt(0), []string{"partition 0 (part-0.sqlite3) is corrupt"}},
		{"partition file in the wrong place", func(t *testing.T, dir string) {
			copyFile(t, state.PartitionPath(dir, 0), state.PartitionPath(dir, 1))
		}, corrupt(1), []string{"holds partition 0"}},
		{"foreign partition", func(t *testing.T, dir string) {
			other := t.TempDir()
			initT(t, other, 5)
			copyFile(t, state.PartitionPath(other, 4), state.PartitionPath(dir, 4))
			copyFile(t, state.PartitionPath(other, 3), state.PartitionPath(dir, 3))
		}, corrupt(0), []string{"directory of 3 partitions, this one has 5"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "rec")
			initT(t, dir, 3)
			tt.damage(t, dir)
			s, err := Open(dir)
			if err == nil {
				s.Close()
				t.Fatal("open succeeded")
			}
			tt.check(t, err)
			for _, m := range append(tt.msg, dir, "weir: ") {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("message %q does not contain %q", err, m)
				}
			}
		})
	}
}

func missing(want []int) func(t *testing.T, err error) {
	return func(t *testing.T, err error) {
		var me *state.MissingPartitionsError
		if !errors.As(err, &me) {
			t.Fatalf("got %v, want *MissingPartitionsError", err)
		}
		if diff := cmp.Diff(want, me.Missing); diff != "" {
			t.Errorf("missing (-want +got):\n%s", diff)
		}
	}
}

func corrupt(p int) func(t *testing.T, err error) {
	return func(t *testing.T, err error) {
		var ce *state.CorruptError
		if !errors.As(err, &ce) {
			t.Fatalf("got %v, want *CorruptError", err)
		}
		if ce.Partition != p {
			t.Errorf("partition = %d, want %d", ce.Partition, p)
		}
	}
}

func TestInconsistent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// history runs executions on dir and returns a copy of partition 1 taken along the way.
		history func(t *testing.T, dir string) []byte
		has     uint64 // 0: consistent
		need    uint64
	}{
		{"older execution", func(t *testing.T, dir string) []byte {
			fill(t, dir, 1)
			old := readFile(t, state.PartitionPath(dir, 1))
			fill(t, dir, 2, 3) // resumes from 2, completes 2 and 3
			fill(t, dir)       // resumes from 4
			return old
		}, 2, 4},
		{"fresh copy", func(t *testing.T, dir string) []byte {
			old := readFile(t, state.PartitionPath(dir, 1))
			fill(t, dir, 1, 2)
			fill(t, dir)
			return old
		}, 1, 3},
		{"older epoch of the last execution", func(t *testing.T, dir string) []byte {
			fill(t, dir, 1, 2)
			old := readFile(t, state.PartitionPath(dir, 1))
			fill(t, dir, 3, 4, 5, 6)
			return old
		}, 0, 0}, // resumes from 3 and redoes 3 to 6
		{"older epoch but collected since", func(t *testing.T, dir string) []byte {
			fill(t, dir, 1, 2)
			old := readFile(t, state.PartitionPath(dir, 1))
			fill(t, dir, 3, 4, 5, 6)
			s := openT(t, dir)
			s.now = func() time.Time { return time.Now().Add(time.Hour) } // past the backup interval
			if err := s.GC(time.Minute); err != nil {
				t.Fatal(err)
			}
			s.Close()
			return old
		}, 3, 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			initT(t, dir, 2)
			old := tt.history(t, dir)
			if err := os.WriteFile(state.PartitionPath(dir, 1), old, 0o644); err != nil {
				t.Fatal(err)
			}
			s := openT(t, dir)
			resume, err := s.Begin(1)
			if tt.has == 0 {
				if err != nil || resume != 3 {
					t.Fatalf("begin = %d, %v; want 3", resume, err)
				}
				return
			}
			var ie *state.InconsistentError
			if !errors.As(err, &ie) {
				t.Fatalf("begin: %v, want *InconsistentError", err)
			}
			if ie.Partition != 1 || ie.Has != tt.has || ie.Need != tt.need {
				t.Errorf("got %+v, want partition 1 having %d needing %d", ie, tt.has, tt.need)
			}
			for _, m := range []string{dir, "partition 1 (part-1.sqlite3) is too old", fmt.Sprintf("epoch %d", tt.has), fmt.Sprintf("epoch %d", tt.need)} {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("message %q does not contain %q", err, m)
				}
			}
			if _, err := s.Verify(); !errors.As(err, &ie) {
				t.Errorf("verify: %v, want *InconsistentError", err)
			}
		})
	}
}

// TestPartialWrite: a crash between two partitions' transactions of one Write leaves one
// partition ahead; only what every partition holds counts.
func TestPartialWrite(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	initT(t, dir, 2)
	fill(t, dir, 1, 2)
	s := openT(t, dir)
	// Undo partition 1's part of epoch 2, as if the crash came before its commit.
	if _, err := s.parts[1].Exec(`DELETE FROM snapshots WHERE epoch = 2`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.parts[1].Exec(`UPDATE frontiers SET epoch = 2`); err != nil {
		t.Fatal(err)
	}
	resumFrontiers(t, s.parts[1])
	resume, err := s.Begin(1)
	if err != nil || resume != 2 {
		t.Fatalf("begin = %d, %v; want 2", resume, err)
	}
	if n := countRows(t, s, 0, "epoch >= 2"); n == 0 {
		t.Errorf("begin dropped partition 0's rows of the uncommitted epoch before start")
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	if n := countRows(t, s, 0, "epoch >= 2"); n != 0 {
		t.Errorf("partition 0 kept %d rows of the uncommitted epoch", n)
	}
}

// resumFrontiers recomputes the checksums of the frontiers a test changed by hand.
func resumFrontiers(t *testing.T, db *sql.DB) {
	t.Helper()
	rows, err := db.Query(`SELECT execution, worker, epoch, final FROM frontiers`)
	if err != nil {
		t.Fatal(err)
	}
	type fr struct {
		n, w  int64
		e     uint64
		final bool
	}
	var all []fr
	for rows.Next() {
		var f fr
		if err := rows.Scan(&f.n, &f.w, &f.e, &f.final); err != nil {
			t.Fatal(err)
		}
		all = append(all, f)
	}
	rows.Close()
	for _, f := range all {
		if _, err := db.Exec(`UPDATE frontiers SET crc = ? WHERE execution = ? AND worker = ?`, sumFrontier(f.n, f.w, f.e, f.final), f.n, f.w); err != nil {
			t.Fatal(err)
		}
	}
}

func countRows(t *testing.T, s *Store, p int, where string) int {
	t.Helper()
	var n int
	if err := s.parts[p].QueryRow(`SELECT count(*) FROM snapshots WHERE ` + where).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func allRows(t *testing.T, s *Store) []string {
	t.Helper()
	var out []string
	for p := range s.parts {
		rows, err := s.parts[p].Query(`SELECT steps.name, key, epoch, state IS NULL
			FROM (SELECT step, key, epoch, state FROM snapshots UNION ALL SELECT step, key, epoch, state FROM compacted) AS x
			JOIN steps ON steps.id = x.step`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var step, key string
			var epoch int
			var del bool
			rows.Scan(&step, &key, &epoch, &del)
			r := fmt.Sprintf("%s/%s@%d", step, key, epoch)
			if del {
				r += "-"
			}
			out = append(out, r)
		}
		rows.Close()
	}
	slices.Sort(out)
	return out
}

func TestGC(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	initT(t, dir, 2)
	s := openT(t, dir)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := t0
	s.now = func() time.Time { return now }
	if _, err := s.Begin(1); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	writes := [][]string{1: {"a=1", "b=1"}, 2: {"a=2", "b"}, 3: {"a=3"}, 4: {"a=4", "c=4"}}
	for e := 1; e <= 4; e++ {
		now = t0.Add(time.Duration(e) * time.Second)
		if err := s.Write(0, []state.Epoch{{Epoch: uint64(e), Snaps: snaps(write{0, uint64(e), "s", writes[e]})}}); err != nil {
			t.Fatal(err)
		}
	}
	all := []string{"s/a@1", "s/a@2", "s/a@3", "s/a@4", "s/b@1", "s/b@2-", "s/c@4"}
	steps := []struct {
		at     time.Duration
		backup time.Duration
		want   []string
	}{
		{5 * time.Second, 10 * time.Second, all}, // nothing is older than the backup interval
		// Epochs below 3 were complete at t0+3s: rows superseded before 3 go.
		{13 * time.Second, 10 * time.Second, []string{"s/a@2", "s/a@3", "s/a@4", "s/c@4"}},
		{time.Hour, 10 * time.Second, []string{"s/a@3", "s/a@4", "s/c@4"}},
	}
	for _, st := range steps {
		now = t0.Add(st.at)
		if err := s.GC(st.backup); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(st.want, allRows(t, s)); diff != "" {
			t.Errorf("after GC at %v (-want +got):\n%s", st.at, diff)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openT(t, dir)
	if resume, err := s.Begin(1); err != nil || resume != 5 {
		t.Fatalf("begin = %d, %v; want 5", resume, err)
	}
	if diff := cmp.Diff([]string{"s/a=4", "s/c=4"}, loadAll(t, s)); diff != "" {
		t.Errorf("load after GC (-want +got):\n%s", diff)
	}
}

func TestConcurrentWrites(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	initT(t, dir, 2)
	s := openT(t, dir)
	const workers = 3
	if _, err := s.Begin(workers); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for e := uint64(1); e <= 3; e++ {
				k := fmt.Sprintf("w%d=%d", w, e)
				if err := s.Write(w, []state.Epoch{{Epoch: e, Snaps: snaps(write{w, e, "s", []string{k}})}}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	s.Close()
	s = openT(t, dir)
	if resume, err := s.Begin(2); err != nil || resume != 4 {
		t.Fatalf("begin = %d, %v; want 4", resume, err)
	}
	want := loaded("s", "w0=3", "w1=3", "w2=3")
	if diff := cmp.Diff(want, loadAll(t, s)); diff != "" {
		t.Errorf("load (-want +got):\n%s", diff)
	}
}

func TestInspect(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	initT(t, dir, 2)
	fill(t, dir, 1, 2)
	fill(t, dir)
	s := openT(t, dir)
	info, err := s.Inspect()
	if err != nil {
		t.Fatal(err)
	}
	for i := range info.Executions {
		info.Executions[i].Began = time.Time{}
	}
	want := state.Info{
		Partitions: 2,
		Executions: []state.ExecutionInfo{
			{Number: 1, Workers: 1, Resume: 1, Frontiers: []uint64{3}},
			{Number: 2, Workers: 1, Resume: 3, Frontiers: []uint64{0}},
		},
		Steps: []state.StepInfo{{Step: "s", Keys: 4, Rows: 8, Bytes: 8 * 64}},
	}
	if diff := cmp.Diff(want, info); diff != "" {
		t.Errorf("inspect (-want +got):\n%s", diff)
	}
}

// BenchmarkResume writes 100k keys of 32 bytes in one epoch over 4 partitions, then
// measures reopening, Begin and Load.
func BenchmarkResume(b *testing.B) {
	dir := b.TempDir()
	if err := Init(dir, 4); err != nil {
		b.Fatal(err)
	}
	s, err := Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	s.Begin(1)
	s.Start()
	const n = 100_000
	cs := make([]state.Change, n)
	for i := range cs {
		cs[i] = state.Change{Key: fmt.Sprintf("key%07d", i), State: []byte(strings.Repeat("x", 32))}
	}
	start := time.Now()
	if err := s.Write(0, []state.Epoch{{Epoch: 1, Snaps: []state.Snapshot{{Step: "s", Changes: cs}}}}); err != nil {
		b.Fatal(err)
	}
	b.Logf("wrote %d rows in %v", n, time.Since(start))
	s.Close()
	for b.Loop() {
		s, err := Open(dir)
		if err != nil {
			b.Fatal(err)
		}
		resume, err := s.Begin(1)
		if err != nil || resume != 2 {
			b.Fatal(resume, err)
		}
		got := 0
		s.Load(func(step, key string, state []byte) error { got++; return nil })
		if got != n {
			b.Fatal(got)
		}
		s.Close()
	}
	b.ReportMetric(n, "keys")
}

// State finds what a resume would load for one key, before and after collection, and a
// Write of several epochs at once is the same as one Write per epoch.
func TestState(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := startT(t, dir, 3)
	epochs := []state.Epoch{
		{Epoch: 1, Snaps: snaps(write{0, 1, "s", []string{"a=1", "b=1", "e="}})},
		{Epoch: 2, Snaps: snaps(write{0, 2, "s", []string{"a=2", "b"}})},
		{Epoch: 3},
	}
	if err := s.Write(0, epochs); err != nil {
		t.Fatal(err)
	}
	// A write of epoch 3 by a second, later execution that never completes it is not seen.
	check := func(when string) {
		t.Helper()
		for _, c := range []struct {
			step, key string
			state     string
			epoch     uint64
		}{
			{"s", "a", "2", 2},
			{"s", "e", "", 1},
			{"s", "b", "", 0},
			{"s", "z", "", 0},
			{"t", "a", "", 0},
		} {
			st, e, err := s.State(c.step, c.key)
			if c.epoch == 0 {
				if !errors.Is(err, state.ErrNoState) {
					t.Errorf("%s: State(%s, %s) = %q, %v; want ErrNoState", when, c.step, c.key, st, err)
				}
				continue
			}
			if err != nil || string(st) != c.state || e != c.epoch || st == nil {
				t.Errorf("%s: State(%s, %s) = %q, %d, %v; want %q, %d", when, c.step, c.key, st, e, err, c.state, c.epoch)
			}
		}
	}
	check("before collection")
	if err := s.GC(0); err != nil {
		t.Fatal(err)
	}
	check("after collection")
	if steps, err := s.Steps(); err != nil || !slices.Equal(steps, []string{"s"}) {
		t.Errorf("Steps = %v, %v", steps, err)
	}
	if got := allRows(t, s); !slices.Equal(got, []string{"s/a@2", "s/e@1"}) {
		t.Errorf("rows after collection: %v", got)
	}
	s.Close()
	s = openT(t, dir)
	if resume, err := s.Begin(1); err != nil || resume != 4 {
		t.Fatalf("begin = %d, %v; want 4", resume, err)
	}
	if diff := cmp.Diff([]string{"s/a=2", "s/e="}, loadAll(t, s)); diff != "" {
		t.Errorf("load (-want +got):\n%s", diff)
	}
}
