package recovery_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/weirflow/weir/recovery"
	"github.com/weirflow/weir/run"
)

// The damaged-store table: a recovery directory after three committed runs of crashFlow,
// each over a further part of its input, is damaged one way per row, and a fourth run over
// the input's last part must fail with the row's typed error naming the partition: never
// a panic, a fresh start or a wrong output. Then the damage is undone (the files put back,
// the access or the space restored) and the run must resume and end with the output of a
// fault-free run over the whole input.

const (
	damageParts = 3   // partitions of every directory
	damageLines = 150 // lines per part of the input
	damageStep  = "crashloop.sum.stateful_flat_map.stateful.stateful_batch"
)

// image is the files of a recovery directory, by name, as a copy or a backup holds them.
type image map[string][]byte

// put makes dir hold exactly img's files (a lock file left in place is harmless).
func (img image) put(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if n := e.Name(); strings.Contains(n, ".sqlite3") {
			if err := os.Remove(filepath.Join(dir, n)); err != nil {
				t.Fatal(err)
			}
		}
	}
	for n, b := range img {
		if err := os.WriteFile(filepath.Join(dir, n), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// history is what every row starts from: the images of a directory after
// each of its runs, of another job's directories, the input (whose position the
// directories hold, so every row reads this same file) and the outputs.
type history struct {
	in    string
	after [3]image // after runs 1, 2 and 3; the last with its write-ahead logs
	out   []byte   // the output after run 3
	other [3]image // another job's directory after 1, 3 and 4 runs
	want  string   // a fault-free run's output over the whole input
	// kept is the directory of the same runs with a backup interval of an hour, after runs
	// 2 and 3, and keptOut its output.
	kept    [2]image
	keptOut []byte
}

func appendLines(path string, from, to int) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	for i := from; i < to; i++ {
		fmt.Fprintf(f, "%d\n", i)
	}
	return f.Close()
}

// makeHistory makes the history in tmp, a directory of the table's test, which its rows
// (its parallel subtests) outlive.
func makeHistory(tmp string) (*history, error) {
	h := &history{}
	var err error
	h.in = filepath.Join(tmp, "in.txt")
	j := job{dir: filepath.Join(tmp, "rec"), in: h.in, out: filepath.Join(tmp, "out.txt")}
	if err := recovery.Init(j.dir, damageParts); err != nil {
		return nil, err
	}
	// The sink's position is its file's name: the same as j's, in a directory of its own.
	k := job{dir: filepath.Join(tmp, "kept", "rec"), in: h.in, out: filepath.Join(tmp, "kept", "out.txt")}
	keep := run.BackupInterval(time.Hour)
	if err := recovery.Init(k.dir, damageParts); err != nil {
		return nil, err
	}
	for r := range 3 {
		if err := appendLines(h.in, r*damageLines, (r+1)*damageLines); err != nil {
			return nil, err
		}
		if err := runJob(k, keep); err != nil {
			return nil, fmt.Errorf("run %d with a backup interval: %w", r+1, err)
		}
		if r > 0 {
			if h.kept[r-1], err = imageOf(k.dir); err != nil {
				return nil, err
			}
		}
		if r < 2 {
			if err := runJob(j); err != nil {
				return nil, fmt.Errorf("run %d: %w", r+1, err)
			}
			if h.after[r], err = imageOf(j.dir); err != nil {
				return nil, err
			}
			continue
		}
		// The last run's commits stay in the write-ahead logs, as a crash right after it
		// leaves them: an idle connection of the test's own keeps SQLite from folding
		// them into the files when the run closes them.
		var dbs []*sql.DB
		for p := range damageParts {
			db, err := sql.Open("sqlite", "file:"+filepath.Join(j.dir, fmt.Sprintf("part-%d.sqlite3", p)))
			if err == nil {
				err = db.Ping()
			}
			if err != nil {
				return nil, err
			}
			dbs = append(dbs, db)
		}
		err := runJob(j)
		if err == nil {
			h.after[r], err = imageOf(j.dir)
		}
		for _, db := range dbs {
			db.Close()
		}
		if err != nil {
			return nil, fmt.Errorf("run 3: %w", err)
		}
	}
	if h.out, err = os.ReadFile(j.out); err != nil {
		return nil, err
	}
	if h.keptOut, err = os.ReadFile(k.out); err != nil {
		return nil, err
	}
	for p := range damageParts {
		if len(h.after[2][fmt.Sprintf("part-%d.sqlite3-wal", p)]) == 0 {
			return nil, fmt.Errorf("partition %d has no write-ahead log after run 3", p)
		}
	}
	if err := appendLines(h.in, 3*damageLines, 4*damageLines); err != nil {
		return nil, err
	}

	// Another job: the same dataflow over other numbers, run once, then three times more.
	oin := filepath.Join(tmp, "other-in.txt")
	o := job{dir: filepath.Join(tmp, "other-rec"), in: oin, out: filepath.Join(tmp, "other-out.txt")}
	if err := recovery.Init(o.dir, damageParts); err != nil {
		return nil, err
	}
	for r := range 4 {
		if err := appendLines(oin, 1000+r*damageLines, 1000+(r+1)*damageLines); err != nil {
			return nil, err
		}
		if err := runJob(o); err != nil {
			return nil, fmt.Errorf("other job, run %d: %w", r+1, err)
		}
		if k := []int{0, -1, 1, 2}[r]; k >= 0 {
			if h.other[k], err = imageOf(o.dir); err != nil {
				return nil, err
			}
		}
	}

	// The fault-free run over the whole input.
	w := job{dir: filepath.Join(tmp, "want-rec"), in: h.in, out: filepath.Join(tmp, "want.txt")}
	if err := recovery.Init(w.dir, damageParts); err != nil {
		return nil, err
	}
	if err := runJob(w); err != nil {
		return nil, err
	}
	h.want = w.out
	return h, nil
}

func runJob(j job, opts ...run.Option) error {
	return run.Run(context.Background(), crashFlow(j.in, j.out, 0), append([]run.Option{run.Workers(2),
		run.EpochInterval(time.Hour), run.Recovery(j.dir)}, opts...)...)
}

// imageOf is takeImage without a test.
func imageOf(dir string) (image, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	img := image{}
	for _, e := range ents {
		if n := e.Name(); strings.HasSuffix(n, ".sqlite3") || strings.HasSuffix(n, ".sqlite3-wal") {
			if img[n], err = os.ReadFile(filepath.Join(dir, n)); err != nil {
				return nil, err
			}
		}
	}
	return img, nil
}

// damaged is one row's directory, its output file, and the history it was made from.
type damaged struct {
	dir, out string
	h        *history
}

func (d damaged) path(p int) string { return filepath.Join(d.dir, fmt.Sprintf("part-%d.sqlite3", p)) }

// partitionHolding is the partition of d that holds a row of (step, key).
func (d damaged) partitionHolding(t *testing.T, step, key string) int {
	t.Helper()
	for p := range damageParts {
		db, err := sql.Open("sqlite", "file:"+d.path(p)+"?mode=ro")
		if err != nil {
			t.Fatal(err)
		}
		var n int
		err = db.QueryRow(`SELECT count(*) FROM (SELECT step, key FROM snapshots UNION ALL SELECT step, key FROM compacted) AS x
			JOIN steps ON steps.id = x.step WHERE steps.name = ? AND x.key = ?`, step, key).Scan(&n)
		db.Close()
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return p
		}
	}
	t.Fatalf("no partition holds step %s, key %q", step, key)
	return 0
}

// checkpoint folds partition p's write-ahead log into its file, so that a damage to the
// file is not hidden by a newer copy of the page in the log.
func (d damaged) checkpoint(t *testing.T, p int) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+d.path(p))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		t.Fatal(err)
	}
}

// patch changes the bytes of file path at off by xor with mask (or, when set, to b).
func patch(t *testing.T, path string, off int64, mask byte, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if b == nil {
		b = make([]byte, 1)
		if _, err := f.ReadAt(b, off); err != nil {
			t.Fatal(err)
		}
		b[0] ^= mask
	}
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

func truncate(t *testing.T, path string, frac float64) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, int64(float64(fi.Size())*frac)); err != nil {
		t.Fatal(err)
	}
}

// pageOf is the offset in partition p's file of the root page of table.
func (d damaged) pageOf(t *testing.T, p int, table string) int64 {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+d.path(p)+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var root, size int64
	if err := db.QueryRow(`SELECT rootpage FROM sqlite_schema WHERE name = ?`, table).Scan(&root); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(`PRAGMA page_size`).Scan(&size); err != nil {
		t.Fatal(err)
	}
	return (root - 1) * size
}

// valueOffsets finds in partition p's file the bytes of the latest stored state of
// (step, key): the record's state column followed by its checksum column, big-endian in
// as few bytes as SQLite stores it. It returns the offset of the state's middle byte in
// each copy (a page SQLite freed may still hold an old one).
func (d damaged) valueOffsets(t *testing.T, p int, step, key string) []int64 {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+d.path(p)+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	var b []byte
	var crc int64
	err = db.QueryRow(`SELECT x.state, x.crc FROM (SELECT epoch, step, key, state, crc FROM snapshots
		UNION ALL SELECT epoch, step, key, state, crc FROM compacted) AS x JOIN steps ON steps.id = x.step
		WHERE steps.name = ? AND x.key = ? ORDER BY x.epoch DESC LIMIT 1`, step, key).Scan(&b, &crc)
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	var be [8]byte
	binary.BigEndian.PutUint64(be[:], uint64(crc))
	var tail []byte
	switch {
	case crc >= -1<<31 && crc < 1<<31:
		tail = be[4:]
	case crc >= -1<<47 && crc < 1<<47:
		tail = be[2:]
	default:
		tail = be[:]
	}
	file, err := os.ReadFile(d.path(p))
	if err != nil {
		t.Fatal(err)
	}
	pat := append(slices.Clone(b), tail...)
	var offs []int64
	for i, at := 0, 0; ; at = i + 1 {
		if i = bytes.Index(file[at:], pat); i < 0 {
			break
		}
		i += at
		offs = append(offs, int64(i+len(b)/2))
	}
	if offs == nil {
		t.Fatalf("the state of step %s, key %q is not in partition %d's file", step, key, p)
	}
	return offs
}

// chattr makes path immutable (as root, whom permission bits do not stop) or, for
// another user, takes away its write permissions, and returns how to undo it.
func chattr(t *testing.T, path string) func() {
	t.Helper()
	if os.Geteuid() != 0 {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, fi.Mode().Perm()&^0o222); err != nil {
			t.Fatal(err)
		}
		return func() { os.Chmod(path, fi.Mode().Perm()) }
	}
	if out, err := exec.Command("chattr", "+i", path).CombinedOutput(); err != nil {
		t.Skipf("cannot make %s read-only as root: chattr: %v %s", path, err, out)
	}
	undo := func() {
		if out, err := exec.Command("chattr", "-i", path).CombinedOutput(); err != nil {
			t.Errorf("chattr -i %s: %v %s", path, err, out)
		}
	}
	t.Cleanup(func() { exec.Command("chattr", "-i", path).Run() })
	return undo
}

// outcome checks a damaged run's error.
type outcome func(t *testing.T, d damaged, err error)

// names checks that err's message names the directory and partition p.
func names(t *testing.T, d damaged, err error, p int) {
	t.Helper()
	msg := err.Error()
	if !strings.HasPrefix(msg, "weir: recovery directory "+d.dir+": ") {
		t.Errorf("message %q does not start with the directory", msg)
	}
	if !strings.Contains(msg, fmt.Sprintf("partition %d (part-%d.sqlite3)", p, p)) {
		t.Errorf("message %q does not name partition %d", msg, p)
	}
}

func missing(p int) outcome {
	return func(t *testing.T, d damaged, err error) {
		var me *recovery.MissingPartitionsError
		if !errors.As(err, &me) || !slices.Equal(me.Missing, []int{p}) || me.Count != damageParts {
			t.Fatalf("got %v, want *recovery.MissingPartitionsError of partition %d", err, p)
		}
		if want := fmt.Sprintf("weir: recovery directory %s: missing partitions [%d] of %d", d.dir, p, damageParts); err.Error() != want {
			t.Errorf("message %q, want %q", err, want)
		}
	}
}

func inconsistent(p int) outcome {
	return func(t *testing.T, d damaged, err error) {
		var ie *recovery.InconsistentError
		if !errors.As(err, &ie) || ie.Partition != p {
			t.Fatalf("got %v, want *recovery.InconsistentError of partition %d", err, p)
		}
		names(t, d, err, p)
	}
}

// corrupt wants a *CorruptError of partition p; of a checksum when step is set, naming
// the row.
func corrupt(p int, step, key string) outcome {
	return func(t *testing.T, d damaged, err error) {
		var ce *recovery.CorruptError
		if !errors.As(err, &ce) || ce.Partition != p {
			t.Fatalf("got %v, want *recovery.CorruptError of partition %d", err, p)
		}
		if step != "" && (!errors.Is(err, recovery.ErrChecksum) || ce.Step != step || ce.Key != key) {
			t.Errorf("got %v, want a checksum mismatch of step %s, key %q", err, step, key)
		}
		names(t, d, err, p)
	}
}

// foreign wants a *CorruptError saying that partition p is another directory's.
func foreign(p int) outcome {
	return func(t *testing.T, d damaged, err error) {
		corrupt(p, "", "")(t, d, err)
		if want := "it belongs to another recovery directory than partitions [0 2]"; !strings.Contains(err.Error(), want) {
			t.Errorf("message %q does not say %q", err, want)
		}
	}
}

// access wants an *AccessError of partition p, -1 for the directory.
func access(p int) outcome {
	return func(t *testing.T, d damaged, err error) {
		var ae *recovery.AccessError
		if !errors.As(err, &ae) || ae.Partition != p || !errors.Is(err, fs.ErrPermission) {
			t.Fatalf("got %v, want *recovery.AccessError of partition %d", err, p)
		}
		if p >= 0 {
			names(t, d, err, p)
		} else if !strings.HasPrefix(err.Error(), "weir: recovery directory "+d.dir+": the directory cannot be written: ") {
			t.Errorf("message %q does not name the directory", err)
		}
	}
}

// resumes: the damage leaves the partition at a commit the run can resume from, as a
// crash or a backup would; the run redoes the rest, and its output must be right.
func resumes(t *testing.T, d damaged, err error) {
	if err != nil {
		t.Fatalf("got %v, want a resume", err)
	}
}

type damageCase struct {
	kept   bool // damage the directory run with a backup interval (history.kept)
	name   string
	damage func(t *testing.T, d damaged) (undo func()) // nil undo: put the files back
	want   func(d damaged) outcome
}

func damageCases() []damageCase {
	var cases []damageCase
	for p := range damageParts {
		cases = append(cases, damageCase{false, fmt.Sprintf("partition %d missing", p), func(t *testing.T, d damaged) func() {
			os.Remove(d.path(p) + "-wal")
			if err := os.Remove(d.path(p)); err != nil {
				t.Fatal(err)
			}
			return nil
		}, func(damaged) outcome { return missing(p) }})
	}
	const p = 1
	swap := func(img func(h *history) image) func(t *testing.T, d damaged) func() {
		return func(t *testing.T, d damaged) func() {
			os.Remove(d.path(p) + "-wal")
			name := fmt.Sprintf("part-%d.sqlite3", p)
			for _, n := range []string{name, name + "-wal"} {
				if b, ok := img(d.h)[n]; ok {
					if err := os.WriteFile(filepath.Join(d.dir, n), b, 0o644); err != nil {
						t.Fatal(err)
					}
				}
			}
			return nil
		}
	}
	fixed := func(o outcome) func(damaged) outcome { return func(damaged) outcome { return o } }
	cases = append(cases,
		// Even one run back is too old here: the run after the copy collected, at its end,
		// the rows of the others that the copy would have resumed with (the backup
		// interval is 0; see run.BackupInterval).
		damageCase{false, "older copy by one run", swap(func(h *history) image { return h.after[1] }), fixed(inconsistent(p))},
		// Within the backup interval, a copy one run back still resumes: the others kept
		// the rows it needs, and the run redoes the last run's work.
		damageCase{name: "older copy by one run, within the backup interval", kept: true,
			damage: swap(func(h *history) image { return h.kept[0] }), want: fixed(resumes)},
		damageCase{false, "older copy by two runs", swap(func(h *history) image { return h.after[0] }), fixed(inconsistent(p))},
		// Another job's partition: the older and the newer were refused as too old (the
		// newer naming a partition of this directory), and the one with as many runs
		// resumed with the other job's state and exit 0, until partitions had origins.
		damageCase{false, "another directory's, older", swap(func(h *history) image { return h.other[0] }), fixed(foreign(p))},
		damageCase{false, "another directory's, as old", swap(func(h *history) image { return h.other[1] }), fixed(foreign(p))},
		damageCase{false, "another directory's, newer", swap(func(h *history) image { return h.other[2] }), fixed(foreign(p))},
		damageCase{false, "file truncated to half", func(t *testing.T, d damaged) func() {
			d.checkpoint(t, p)
			truncate(t, d.path(p), 0.5)
			return nil
		}, fixed(corrupt(p, "", ""))},
		damageCase{false, "file truncated to nothing", func(t *testing.T, d damaged) func() {
			d.checkpoint(t, p)
			truncate(t, d.path(p), 0)
			return nil
		}, fixed(corrupt(p, "", ""))},
		// A write-ahead log cut short or overwritten loses, from the damage on, commits
		// the other partitions built on: SQLite ignores the frames from the first that
		// fails its checksum, which takes the partition back before the last run, whose
		// end collected the rows it would need.
		damageCase{false, "write-ahead log truncated to half", func(t *testing.T, d damaged) func() {
			truncate(t, d.path(p)+"-wal", 0.5)
			return nil
		}, fixed(inconsistent(p))},
		damageCase{false, "write-ahead log truncated to nothing", func(t *testing.T, d damaged) func() {
			truncate(t, d.path(p)+"-wal", 0)
			return nil
		}, fixed(inconsistent(p))},
		damageCase{false, "garbage in the write-ahead log", func(t *testing.T, d damaged) func() {
			fi, err := os.Stat(d.path(p) + "-wal")
			if err != nil {
				t.Fatal(err)
			}
			patch(t, d.path(p)+"-wal", fi.Size()/2, 0, bytes.Repeat([]byte("garbage!"), 64))
			return nil
		}, fixed(inconsistent(p))},
		damageCase{false, "garbage over the write-ahead log's header", func(t *testing.T, d damaged) func() {
			patch(t, d.path(p)+"-wal", 0, 0, bytes.Repeat([]byte("garbage!"), 4))
			return nil
		}, fixed(inconsistent(p))},
		// Frames past the last commit are what a crash leaves: SQLite ignores them.
		damageCase{false, "garbage after the write-ahead log", func(t *testing.T, d damaged) func() {
			f, err := os.OpenFile(d.path(p)+"-wal", os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.Write(bytes.Repeat([]byte("garbage!"), 1000))
			f.Close()
			return nil
		}, fixed(resumes)},
		damageCase{false, "bit flipped in the file's header", func(t *testing.T, d damaged) func() {
			d.checkpoint(t, p)
			patch(t, d.path(p), 3, 0x20, nil) // "SQLite format 3": the magic
			return nil
		}, fixed(corrupt(p, "", ""))},
		damageCase{false, "bit flipped in a page's type", func(t *testing.T, d damaged) func() {
			d.checkpoint(t, p)
			patch(t, d.path(p), d.pageOf(t, p, "snapshots"), 0x01, nil)
			return nil
		}, fixed(corrupt(p, "", ""))},
		damageCase{false, "bit flipped inside a stored state", func(t *testing.T, d damaged) func() {
			q := d.partitionHolding(t, damageStep, "3")
			d.checkpoint(t, q)
			for _, off := range d.valueOffsets(t, q, damageStep, "3") {
				patch(t, d.path(q), off, 0x10, nil)
			}
			return nil
		}, func(d damaged) outcome {
			return func(t *testing.T, d damaged, err error) {
				corrupt(d.partitionHolding(t, damageStep, "3"), damageStep, "3")(t, d, err)
			}
		}},
		damageCase{false, "partition file read-only", func(t *testing.T, d damaged) func() {
			return chattr(t, d.path(p))
		}, fixed(access(p))},
		damageCase{false, "directory read-only", func(t *testing.T, d damaged) func() {
			return chattr(t, d.dir)
		}, fixed(access(-1))},
		// With no room, opening fails (the log's shared memory cannot grow); with some,
		// starting does; with a little more, the epoch's write (which room does which
		// varies a little from run to run, the error does not).
		damageCase{false, "disk full", fillDisk(0), fixed(diskFull)},
		damageCase{false, "disk full but for 100 KiB", fillDisk(100 << 10), fixed(diskFull)},
		damageCase{false, "disk full but for 140 KiB", fillDisk(140 << 10), fixed(diskFull)},
	)
	return cases
}

func TestDamagedStore(t *testing.T) {
	t.Parallel()
	h, err := makeHistory(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range damageCases() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tmp := t.TempDir()
			d := damaged{dir: filepath.Join(tmp, "rec"), out: filepath.Join(tmp, "out.txt"), h: h}
			img, out := h.after[2], h.out
			var opts []run.Option
			if tc.kept {
				img, out, opts = h.kept[1], h.keptOut, []run.Option{run.BackupInterval(time.Hour)}
			}
			img.put(t, d.dir)
			if err := os.WriteFile(d.out, out, 0o644); err != nil {
				t.Fatal(err)
			}
			want := tc.want(d)
			undo := tc.damage(t, d)
			err := runJob(job{dir: d.dir, in: h.in, out: d.out}, opts...)
			want(t, d, err)
			t.Logf("%v", err)
			if err != nil {
				if undo != nil {
					undo()
				} else {
					img.put(t, d.dir)
				}
				if err := runJob(job{dir: d.dir, in: h.in, out: d.out}, opts...); err != nil {
					t.Fatalf("after the damage was undone: %v", err)
				}
			}
			compareOutputs(t, d.out, h.want, false)
		})
	}
}

// fillDisk moves d's directory to a small file system of its own (a tmpfs, which needs
// root) and fills it but for room bytes; the undo frees the space.
func fillDisk(room int) func(t *testing.T, d damaged) func() {
	return func(t *testing.T, d damaged) func() {
		t.Helper()
		if os.Geteuid() != 0 {
			t.Skip("a full disk needs root, to mount a small tmpfs")
		}
		img, err := imageOf(d.dir)
		if err != nil {
			t.Fatal(err)
		}
		size := 1 << 20
		for _, b := range img {
			size += len(b)
		}
		if out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d", size), "tmpfs", d.dir).CombinedOutput(); err != nil {
			t.Skipf("cannot mount a tmpfs: %v %s", err, out)
		}
		t.Cleanup(func() {
			// The parallel cases run commands (mount, chattr) of their own: a child between
			// its fork and its exec holds a copy of every descriptor the test binary had
			// open then, this case's files too, which keeps the mount busy for as long.
			// weir holding a file open would keep it busy for good, so that is checked
			// first: no descriptor or mapping of this process is left in the directory.
			if open := openUnder(d.dir); len(open) > 0 {
				t.Errorf("after the runs this process still has open in %s: %q", d.dir, open)
			}
			var out []byte
			var err error
			for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
				if out, err = exec.Command("umount", d.dir).CombinedOutput(); err == nil || time.Now().After(deadline) {
					break
				}
			}
			if err != nil {
				t.Errorf("umount %s: %v %s", d.dir, err, out)
			}
		})
		img.put(t, d.dir)
		filler := filepath.Join(d.dir, "filler")
		f, err := os.Create(filler)
		if err != nil {
			t.Fatal(err)
		}
		for b := make([]byte, 4096); err == nil; {
			_, err = f.Write(b)
		}
		if !errors.Is(err, syscall.ENOSPC) {
			t.Fatalf("filling the disk: %v", err)
		}
		fi, err := f.Stat()
		if err == nil {
			err = f.Truncate(max(0, fi.Size()-int64(room)))
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			t.Fatal(err)
		}
		held := fi.Size() - int64(room) // the filler's bytes, to come back when it is removed
		return func() {
			if err := os.Remove(filler); err != nil {
				t.Fatal(err)
			}
			// The filler's blocks come back when its last descriptor closes: a child of a
			// parallel case's command, between its fork and its exec, holds a copy of every
			// descriptor the test binary had open (see the cleanup above). Once, in a CI run
			// of every package at once, the run after the undo still found the disk full.
			for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
				var st syscall.Statfs_t
				if err := syscall.Statfs(d.dir, &st); err != nil {
					t.Fatal(err)
				}
				if free := int64(st.Bavail) * st.Bsize; free >= held {
					return
				} else if time.Now().After(deadline) {
					t.Fatalf("the disk is still full 5 s after its filler was removed: %d bytes free, want %d", free, held)
				}
			}
		}
	}
}

// diskFull wants a *recovery.DiskFullError, matching ENOSPC, of some partition; not
// corruption, which an operator might answer by deleting a healthy partition.
func diskFull(t *testing.T, d damaged, err error) {
	var fe *recovery.DiskFullError
	if !errors.As(err, &fe) || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("got %v, want *recovery.DiskFullError", err)
	}
	var ce *recovery.CorruptError
	if errors.As(err, &ce) {
		t.Errorf("reported as corruption: %v", err)
	}
	names(t, d, err, fe.Partition)
}

// openUnder returns the files under dir that this process holds open, as a descriptor or
// a memory mapping (Linux's /proc; nothing elsewhere).
func openUnder(dir string) []string {
	var open []string
	if ents, err := os.ReadDir("/proc/self/fd"); err == nil {
		for _, e := range ents {
			if target, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name())); err == nil && strings.HasPrefix(target, dir+"/") {
				open = append(open, target)
			}
		}
	}
	if maps, err := os.ReadFile("/proc/self/maps"); err == nil {
		for line := range strings.Lines(string(maps)) {
			if i := strings.Index(line, dir+"/"); i >= 0 {
				open = append(open, strings.TrimSpace(line[i:])+" (mapped)")
			}
		}
	}
	return open
}
