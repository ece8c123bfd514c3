package sqlitestore

import (
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/weirflow/weir/internal/state"
)

// process is one process of a simulated cluster: its share of a recovery directory.
type process struct {
	opener state.PartOpener
	held   []int
}

// openCluster opens each process's share of a directory of count partitions.
func openCluster(t *testing.T, count int, procs []process) []state.Parts {
	t.Helper()
	parts := make([]state.Parts, len(procs))
	for q, p := range procs {
		var err error
		if parts[q], err = p.opener.Open(count, p.held); err != nil {
			t.Fatalf("process %d: open %v: %v", q, p.held, err)
		}
		t.Cleanup(func() { parts[q].Close() })
	}
	return parts
}

// beginCluster plans the execution of workers over the processes' parts as a cluster
// does (PlanViews over every process's Views), loads and starts it, and returns its
// resume epoch and what the processes loaded together.
func beginCluster(t *testing.T, parts []state.Parts, workers int) (uint64, int64, []string) {
	t.Helper()
	var views []state.View
	for q, p := range parts {
		v, err := p.Views()
		if err != nil {
			t.Fatalf("process %d: views: %v", q, err)
		}
		views = append(views, v...)
	}
	resume, number, err := state.PlanViews("dir", views)
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	var loaded []string
	for q, p := range parts {
		if err := p.BeginAt(workers, resume, number); err != nil {
			t.Fatalf("process %d: begin: %v", q, err)
		}
		loaded = append(loaded, loadAll(t, p)...)
		if err := p.Start(); err != nil {
			t.Fatalf("process %d: start: %v", q, err)
		}
	}
	slices.Sort(loaded)
	return resume, number, loaded
}

// epochOf is worker's epoch e of a scenario: keys k<worker>-<i> of steps s and t.
func epochOf(worker int, e uint64, keys int) state.Epoch {
	var snaps []state.Snapshot
	for _, step := range []string{"s", "t"} {
		var cs []state.Change
		for i := range keys {
			cs = append(cs, state.Change{Key: fmt.Sprintf("k%d-%02d", worker, i), State: fmt.Appendf(nil, "%d", e)})
		}
		snaps = append(snaps, state.Snapshot{Step: step, Changes: cs})
	}
	return state.Epoch{Epoch: e, Snaps: snaps}
}

// rowsOf is what a resume after epoch e of workers (each at its last epoch last[w]) loads.
func rowsOf(last []uint64, keys int) []string {
	var out []string
	for w, e := range last {
		if e == 0 {
			continue
		}
		for _, step := range []string{"s", "t"} {
			for i := range keys {
				out = append(out, fmt.Sprintf("%s/k%d-%02d=%d", step, w, i, e))
			}
		}
	}
	slices.Sort(out)
	return out
}

// Two processes share one directory, each holding some of its partitions: each writes
// every worker's epochs through its Parts (a worker's rows of the other's partitions are
// ignored there), the plan of their Views is the one a single process makes of the
// directory afterwards, and a single process resumes with every row: a cluster's
// directory can be resumed by one process, and by another cluster split.
func TestPartsShareDirectory(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		count int
		held  [][]int // by process
		again [][]int // the split of the second cluster execution
	}{
		{"halves", 4, [][]int{{0, 1}, {2, 3}}, [][]int{{0, 2}, {1, 3}}},
		{"interleaved", 3, [][]int{{0, 2}, {1}}, [][]int{{0}, {1}, {2}}},
		{"one process holds none", 2, [][]int{{0, 1}, nil}, [][]int{{1}, {0}}},
	}
	const workers, keys = 2, 12
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "rec")
			procs := make([]process, len(tt.held))
			for q, h := range tt.held {
				procs[q] = process{PartOpener(dir), h}
				if err := procs[q].opener.Create(tt.count, h); err != nil {
					t.Fatalf("process %d: create: %v", q, err)
				}
			}
			parts := openCluster(t, tt.count, procs)
			for q, p := range parts {
				if p.Count() != tt.count || !slices.Equal(p.Held(), tt.held[q]) && len(tt.held[q]) > 0 {
					t.Errorf("process %d: count %d, held %v", q, p.Count(), p.Held())
				}
			}
			resume, number, loaded := beginCluster(t, parts, workers)
			if resume != 1 || number != 1 || loaded != nil {
				t.Fatalf("new directory: resume %d, execution %d, loaded %v", resume, number, loaded)
			}
			// Worker 0 writes epochs 1 to 3 everywhere; worker 1 writes epochs 1 and 2, and
			// its epoch 3 does not reach the process holding the last partition before the
			// crash.
			for e := uint64(1); e <= 3; e++ {
				for w := range workers {
					for q, p := range parts {
						if w == 1 && e == 3 && slices.Contains(p.Held(), tt.count-1) {
							continue
						}
						if err := p.Write(w, []state.Epoch{epochOf(w, e, keys)}); err != nil {
							t.Fatalf("process %d: write: %v", q, err)
						}
					}
				}
			}
			for _, p := range parts {
				if err := p.Close(); err != nil {
					t.Fatal(err)
				}
			}

			// Some partition lacks worker 1's epoch 3: 3 is where every partition agrees.
			parts = openCluster(t, tt.count, procs)
			var views []state.View
			for _, p := range parts {
				v, err := p.Views()
				if err != nil {
					t.Fatal(err)
				}
				views = append(views, v...)
			}
			resume, number, err := state.PlanViews(dir, views)
			if err != nil || resume != 3 || number != 2 {
				t.Fatalf("cluster plan: resume %d, execution %d, %v; want 3, 2", resume, number, err)
			}
			for _, p := range parts {
				p.Close()
			}
			s, err := Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := s.Verify(); err != nil || got != resume {
				t.Fatalf("single process: resume %d, %v; want the cluster's %d", got, err, resume)
			}
			if _, err := s.Begin(1); err != nil {
				t.Fatal(err)
			}
			want := rowsOf([]uint64{2, 2}, keys)
			if diff := cmp.Diff(want, loadAll(t, s)); diff != "" {
				t.Errorf("single process load (-want +got):\n%s", diff)
			}
			// The single process runs an epoch, then another split of the cluster resumes.
			if err := s.Start(); err != nil {
				t.Fatal(err)
			}
			if err := s.Write(0, []state.Epoch{epochOf(0, 3, keys)}); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			again := make([]process, len(tt.again))
			for q, h := range tt.again {
				again[q] = process{PartOpener(dir), h}
			}
			parts = openCluster(t, tt.count, again)
			resume, number, loaded = beginCluster(t, parts, 3)
			if resume != 4 || number != 3 {
				t.Errorf("after one process: resume %d, execution %d; want 4, 3", resume, number)
			}
			if diff := cmp.Diff(rowsOf([]uint64{3, 2}, keys), loaded); diff != "" {
				t.Errorf("second cluster's load (-want +got):\n%s", diff)
			}
		})
	}
}

// Each process has a directory of its own holding some of the partitions: Scan lists
// them with their count, and their IDs tell files apart: the same file scanned twice, or
// through another path, has one ID; another directory's files and a copy have others.
func TestPartsDirectoryPerProcess(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	dirs := []string{filepath.Join(root, "a"), filepath.Join(root, "b")}
	held := [][]int{{0, 2}, {1, 3, 4}}
	for q, d := range dirs {
		if err := PartOpener(d).Create(5, held[q]); err != nil {
			t.Fatal(err)
		}
	}
	scan := func(dir string) []state.Found {
		t.Helper()
		f, err := PartOpener(dir).Scan()
		if err != nil {
			t.Fatalf("scan %s: %v", dir, err)
		}
		return f
	}
	// Scanning leaves the files as they are, and makes none.
	listing := func(dir string) []string {
		t.Helper()
		ents, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range ents {
			fi, err := e.Info()
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, fmt.Sprintf("%s %d %v", e.Name(), fi.Size(), fi.ModTime()))
		}
		return out
	}
	before := listing(dirs[0])
	scan(dirs[0])
	if diff := cmp.Diff(before, listing(dirs[0])); diff != "" {
		t.Errorf("scan changed the directory (-before +after):\n%s", diff)
	}
	ids := map[string]string{}
	for q, d := range dirs {
		found := scan(d)
		var idx []int
		for _, f := range found {
			idx = append(idx, f.Index)
			if f.Count != 5 {
				t.Errorf("%s: partition %d made for %d, want 5", d, f.Index, f.Count)
			}
			if f.ID == "" {
				t.Errorf("%s: partition %d has no ID", d, f.Index)
			}
			if other, ok := ids[f.ID]; ok {
				t.Errorf("%s partition %d has the ID of %s", d, f.Index, other)
			}
			ids[f.ID] = fmt.Sprintf("%s partition %d", d, f.Index)
		}
		if !slices.Equal(idx, held[q]) {
			t.Errorf("%s: found %v, want %v", d, idx, held[q])
		}
		if diff := cmp.Diff(found, scan(d)); diff != "" {
			t.Errorf("%s scanned twice (-first +second):\n%s", d, diff)
		}
	}
	// Through a symbolic link, the same files.
	link := filepath.Join(root, "link")
	if err := os.Symlink(dirs[0], link); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(scan(dirs[0]), scan(link)); diff != "" {
		t.Errorf("scanned through a link (-direct +link):\n%s", diff)
	}
	// A copy of partition 0 in b is another file.
	copyFile(t, state.PartitionPath(dirs[0], 0), state.PartitionPath(dirs[1], 0))
	if a, b := scan(dirs[0])[0], scan(dirs[1])[0]; a.Index != 0 || b.Index != 0 || a.ID == b.ID {
		t.Errorf("a copy: %+v and %+v, want partition 0 with distinct IDs", a, b)
	}
	os.Remove(state.PartitionPath(dirs[1], 0))
	if f := scan(filepath.Join(root, "none")); len(f) != 0 {
		t.Errorf("a directory that does not exist: %v", f)
	}
	if _, err := os.Stat(filepath.Join(root, "none")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("scan made the directory: %v", err)
	}

	// Each process writes its partitions; gathered in one directory, one process resumes.
	procs := []process{{PartOpener(dirs[0]), held[0]}, {PartOpener(dirs[1]), held[1]}}
	parts := openCluster(t, 5, procs)
	beginCluster(t, parts, 2)
	for w := range 2 {
		for _, p := range parts {
			if err := p.Write(w, []state.Epoch{epochOf(w, 1, 20)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, p := range parts {
		if err := p.Close(); err != nil {
			t.Fatal(err)
		}
	}
	for _, i := range held[1] {
		for _, suffix := range []string{"", "-wal"} {
			if b, err := os.ReadFile(state.PartitionPath(dirs[1], i) + suffix); err == nil {
				if err := os.WriteFile(state.PartitionPath(dirs[0], i)+suffix, b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	s := openT(t, dirs[0])
	if resume, err := s.Begin(1); err != nil || resume != 2 {
		t.Fatalf("gathered: resume %d, %v; want 2", resume, err)
	}
	if diff := cmp.Diff(rowsOf([]uint64{1, 1}, 20), loadAll(t, s)); diff != "" {
		t.Errorf("gathered load (-want +got):\n%s", diff)
	}
}

// lockedBy checks that err is a *LockedError of partition p (-1 for the directory's lock)
// naming this process as the holder.
func lockedBy(t *testing.T, err error, p int) {
	t.Helper()
	var le *state.LockedError
	if !errors.As(err, &le) || !errors.Is(err, state.ErrLocked) {
		t.Fatalf("got %v, want *LockedError", err)
	}
	if le.Partition != p || le.PID != os.Getpid() {
		t.Errorf("locked partition %d by pid %d, want partition %d by pid %d", le.Partition, le.PID, p, os.Getpid())
	}
	if p >= 0 && !strings.Contains(err.Error(), fmt.Sprintf(": partition %d (part-%d.sqlite3) is in use by pid %d", p, p, os.Getpid())) {
		t.Errorf("message %q does not name partition %d", err, p)
	}
}

// The processes of a cluster share the directory but not a partition; a single run and a
// cluster run refuse each other.
func TestPartsLocks(t *testing.T) {
	t.Parallel()
	type holder func(t *testing.T, dir string) (close func() error)
	single := func(t *testing.T, dir string) func() error {
		s, err := Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		return s.Close
	}
	cluster := func(held ...int) holder {
		return func(t *testing.T, dir string) func() error {
			p, err := PartOpener(dir).Open(4, held)
			if err != nil {
				t.Fatal(err)
			}
			return p.Close
		}
	}
	tests := []struct {
		name    string
		holders []holder // hold at once, without conflict
		open    func(dir string) error
		locked  int // the partition refused, -1 for the directory; -2 for none
	}{
		{"a partition held by another cluster", []holder{cluster(0, 1)}, func(dir string) error {
			_, err := OpenParts(dir, 4, []int{1, 2})
			return err
		}, 1},
		{"disjoint partitions", []holder{cluster(0, 1)}, func(dir string) error {
			p, err := OpenParts(dir, 4, []int{2, 3})
			if err == nil {
				p.Close()
			}
			return err
		}, -2},
		{"a single run while a cluster holds some", []holder{cluster(0), cluster(3)}, func(dir string) error {
			_, err := Open(dir)
			return err
		}, -1},
		{"a cluster while a single run holds the directory", []holder{single}, func(dir string) error {
			_, err := OpenParts(dir, 4, []int{2})
			return err
		}, -1},
		{"creating while a single run holds the directory", []holder{single}, func(dir string) error {
			path := state.PartitionPath(dir, 3)
			b := readFile(t, path)
			os.Remove(path)
			defer os.WriteFile(path, b, 0o644)
			return Create(dir, 4, []int{3})
		}, -1},
		{"init while a cluster holds some", []holder{cluster(2)}, func(dir string) error {
			_, err := OpenOrInit(dir, 4)
			return err
		}, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			initT(t, dir, 4)
			var closers []func() error
			for _, h := range tt.holders {
				closers = append(closers, h(t, dir))
			}
			err := tt.open(dir)
			if tt.locked == -2 {
				if err != nil {
					t.Fatal(err)
				}
			} else {
				lockedBy(t, err, tt.locked)
			}
			for _, c := range closers {
				if err := c(); err != nil {
					t.Fatal(err)
				}
			}
			// Once every holder is gone, so is every lock.
			single(t, dir)()
			cluster(0, 1, 2, 3)(t, dir)()
		})
	}
}

// While any process of a cluster holds the directory's lock, a single run is refused
// with a holder named; once the last one leaves, it opens.
func TestPartsLockHolder(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	initT(t, dir, 2)
	a, err := OpenParts(dir, 2, []int{0})
	if err != nil {
		t.Fatal(err)
	}
	b, err := OpenParts(dir, 2, []int{1})
	if err != nil {
		t.Fatal(err)
	}
	a.Close()
	_, err = Open(dir)
	lockedBy(t, err, -1)
	b.Close()
	openT(t, dir)
}

// Damage in a held partition is a *CorruptError naming it, found when the partition is
// opened or read; the partitions another process holds are not read.
func TestPartsDamage(t *testing.T) {
	t.Parallel()
	garbage := func(t *testing.T, dir string, p int) {
		if err := os.WriteFile(state.PartitionPath(dir, p), []byte(strings.Repeat("not sqlite ", 500)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name    string
		damage  func(t *testing.T, dir string, p int)
		damaged int
		held    []int
		atOpen  bool // the damage is found by Open, else by Load
	}{
		{"garbage held", garbage, 1, []int{0, 1}, true},
		{"garbage not held", garbage, 1, []int{0, 2}, false},
		{"meta row held", func(t *testing.T, dir string, p int) {
			damageDB(t, dir, p, `UPDATE meta SET value = 7 WHERE name = 'partitions'`)
		}, 2, []int{2}, true},
		{"state row held", flipBit("snapshots", "key001", ""), 0, []int{0, 3}, false},
		{"state row not held", flipBit("snapshots", "key001", ""), 0, []int{1, 2, 3}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			initT(t, dir, 4)
			fillN(t, dir, 8, 1)
			p := partitionOf("s", "key001", 4)
			if strings.HasPrefix(tt.name, "state row") && p != tt.damaged {
				t.Fatalf("key001 is in partition %d, the test expects %d", p, tt.damaged)
			}
			tt.damage(t, dir, tt.damaged)
			held := slices.Contains(tt.held, tt.damaged)
			s, err := OpenParts(dir, 4, tt.held)
			if held && tt.atOpen {
				corrupt(tt.damaged)(t, err)
				return
			}
			if err != nil {
				t.Fatalf("open: %v", err)
			}
			defer s.Close()
			if err := s.BeginAt(1, 2, 2); err != nil {
				t.Fatal(err)
			}
			err = s.Load(func(step, key string, state []byte) error { return nil })
			if held {
				corrupt(tt.damaged)(t, err)
			} else if err != nil {
				t.Errorf("load: %v", err)
			}
		})
	}
}

// A held partition of another directory's count is refused; Begin is refused to a share
// of the partitions, which plan with the others.
func TestPartsOpenChecks(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := Create(dir, 3, []int{0, 1}); err != nil {
		t.Fatal(err)
	}
	_, err := OpenParts(dir, 4, []int{0})
	corrupt(0)(t, err)
	_, err = OpenParts(dir, 3, []int{1, 2})
	missing([]int{2})(t, err)
	if _, err := OpenParts(dir, 3, []int{3}); err == nil {
		t.Error("opened partition 3 of 3")
	}
	s, err := OpenParts(dir, 3, []int{1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Begin(1); err == nil {
		t.Error("Begin on one of three partitions succeeded")
	}
	key := "a"
	for partitionOf("s", key, 3) == 1 {
		key += "a"
	}
	if _, _, err := s.State("s", key); err == nil || errors.Is(err, state.ErrNoState) {
		t.Errorf("State of a key held elsewhere: %v, want an error saying so", err)
	}
	s.Close()
	if err := Create(dir, 3, []int{0, 1, 2}); err != nil { // makes only 2
		t.Fatal(err)
	}
	s, err = OpenParts(dir, 3, []int{2, 0, 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if resume, err := s.Begin(2); err != nil || resume != 1 {
		t.Errorf("Begin on every partition: %d, %v", resume, err)
	}
}

// A process collects its partitions only below what every partition of the cluster holds:
// a partition elsewhere that a crash left behind must still be able to resume with it.
// A worker's Write reaching a process from epoch e shows that its previous one reached
// every process; beyond that, the process cannot know.
func TestPartsCollectOnlyCommitted(t *testing.T) {
	t.Parallel()
	for _, backup := range []time.Duration{0, time.Nanosecond} {
		t.Run(fmt.Sprint("backup ", backup), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			initT(t, dir, 2)
			procs := []process{{PartOpener(dir), []int{0}}, {PartOpener(dir), []int{1}}}
			parts := openCluster(t, 2, procs)
			beginCluster(t, parts, 2)
			// Worker 0 writes epochs 1 to 3 to both processes and 4 to the first; worker 1
			// writes epochs 1 and 2 to both and 3 to the first. The first process saw every
			// worker complete epoch 3, but the second holds only epoch 2 of worker 1.
			writes := []struct {
				worker int
				epoch  uint64
				both   bool
			}{{0, 1, true}, {1, 1, true}, {0, 2, true}, {1, 2, true}, {0, 3, true}, {1, 3, false}, {0, 4, false}}
			for _, w := range writes {
				for q, p := range parts {
					if q == 1 && !w.both {
						continue
					}
					if err := p.Write(w.worker, []state.Epoch{epochOf(w.worker, w.epoch, 8)}); err != nil {
						t.Fatal(err)
					}
				}
				time.Sleep(time.Millisecond) // past the backup interval
			}
			if err := parts[0].GC(backup); err != nil {
				t.Fatal(err)
			}
			for _, p := range parts {
				p.Close()
			}
			parts = openCluster(t, 2, procs)
			resume, _, loaded := beginCluster(t, parts, 2)
			if resume != 3 {
				t.Errorf("resume %d, want 3", resume)
			}
			if diff := cmp.Diff(rowsOf([]uint64{2, 2}, 8), loaded); diff != "" {
				t.Errorf("load (-want +got):\n%s", diff)
			}
		})
	}
}

// BenchmarkSplit places 100k rows of two steps in 4 partitions, as every Write does, in
// the lists of the write before, as a worker's writes after its first do: it allocates
// nothing.
func BenchmarkSplit(b *testing.B) {
	s := &Store{parts: []*sql.DB{{}, {}, {}, {}}}
	epochs := []state.Epoch{epochOf(0, 1, 50_000)}
	spare := s.split(epochs, nil)
	b.ReportAllocs()
	for b.Loop() {
		spare = s.split(epochs, spare)
	}
}

// A process's share of a directory copies what it writes, as a whole directory does
// (state.Copier): a cluster's committers give written snapshots back to their steps too.
func TestPartsCopyWrites(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	procs := []process{{PartOpener(dir), []int{0}}, {PartOpener(dir), []int{1}}}
	for q, p := range procs {
		if err := p.opener.Create(2, p.held); err != nil {
			t.Fatalf("process %d: create: %v", q, err)
		}
	}
	for q, p := range openCluster(t, 2, procs) {
		if c, ok := p.(state.Copier); !ok || !c.CopiesWrites() {
			t.Errorf("process %d: its partitions (%T) do not say they copy what they write", q, p)
		}
	}
}
